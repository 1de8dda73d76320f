//! The event feed as a consumer sees it: every event of an establishment from the
//! start, and what replaying them rebuilds (each allotment's `allocated` and
//! `pickedUp` per night), to compare with the store.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::Value;
use shared::domain::event::{FeedEvent, FeedPosition, Subject};
use shared::domain::ids::TenantId;
use shared::store::Store;
use uuid::Uuid;

/// Every event of the establishment `est` the feed serves now, oldest first, read
/// page by page (`limit` a page) from the start.
pub async fn feed(store: &Store, t: &TenantId, est: Uuid, limit: usize) -> Vec<FeedEvent> {
    follow(store, t, est, None, limit).await.0
}

/// Every event after `from` (`None`: from the start), page by page until the feed
/// says there is no more now; and the position reached.
pub async fn follow(
    store: &Store,
    t: &TenantId,
    est: Uuid,
    from: Option<FeedPosition>,
    limit: usize,
) -> (Vec<FeedEvent>, FeedPosition) {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let page = store
            .read_feed(t, est, at, None, limit)
            .await
            .expect("read the feed");
        assert!(page.events.len() <= limit, "a page holds at most its limit");
        out.extend(page.events);
        at = Some(page.next);
        if !page.has_more {
            return (out, page.next);
        }
    }
}

/// The nights an allotment's events rebuild: `(unit type, date)` → (allocated,
/// pickedUp).
pub type Rebuilt = BTreeMap<Uuid, BTreeMap<(String, NaiveDate), (i64, i64)>>;

/// Checks what any consumer relies on — no event id twice, `sequence` strictly
/// increasing per subject in feed order — and replays the events: `allotment.created`
/// allocates its period, `allocation.changed` and `allotment.released` set nights,
/// `allotment.cancelled` empties them, a pickup adds its rooms and its cancel takes
/// them back (and, on a night released since, its own rooms leave the allocation).
pub fn replay(events: &[FeedEvent]) -> Rebuilt {
    let mut ids = BTreeSet::new();
    let mut sequences: BTreeMap<Subject, i64> = BTreeMap::new();
    let mut nights: Rebuilt = BTreeMap::new();
    let mut released: BTreeSet<(Uuid, String, NaiveDate)> = BTreeSet::new();
    for e in events {
        assert!(ids.insert(e.id), "event {} served twice", e.id);
        let last = sequences.insert(e.subject, e.sequence);
        assert!(
            last.is_none_or(|l| l < e.sequence),
            "{:?}: sequence {} after {last:?}",
            e.subject,
            e.sequence
        );
        let d = &e.data;
        let id = |v: &Value| v.as_str().and_then(|s| s.parse::<Uuid>().ok()).unwrap();
        let date = |v: &Value| {
            v.as_str()
                .and_then(|s| s.parse::<NaiveDate>().ok())
                .unwrap()
        };
        let int = |v: &Value| v.as_i64().unwrap();
        let text = |v: &Value| v.as_str().unwrap().to_string();
        match e.event_type.as_str() {
            "allotment.created" => {
                let grid = nights.entry(id(&d["allotmentId"])).or_default();
                let (from, to) = (date(&d["periodFrom"]), date(&d["periodTo"]));
                for u in d["unitAllocations"].as_array().unwrap() {
                    for night in from.iter_days().take_while(|n| *n <= to) {
                        grid.insert((text(&u["unitTypeId"]), night), (int(&u["quantity"]), 0));
                    }
                }
            }
            "allocation.changed" => {
                let grid = nights.entry(id(&d["allotmentId"])).or_default();
                for n in d["nights"].as_array().unwrap() {
                    let night = grid
                        .entry((text(&d["unitTypeId"]), date(&n["date"])))
                        .or_default();
                    night.0 = int(&n["quantity"]);
                }
            }
            "allotment.released" => {
                let a = id(&d["allotment"]["allotmentId"]);
                let grid = nights.entry(a).or_default();
                for n in d["nights"].as_array().unwrap() {
                    let (from, to) = (date(&n["from"]), date(&n["to"]));
                    for night in from.iter_days().take_while(|d| *d <= to) {
                        let unit = text(&n["unitTypeId"]);
                        grid.entry((unit.clone(), night)).or_default().0 = int(&n["allocated"]);
                        released.insert((a, unit, night));
                    }
                }
            }
            "allotment.cancelled" => {
                for night in nights
                    .entry(id(&d["allotmentId"]))
                    .or_default()
                    .values_mut()
                {
                    night.0 = 0;
                }
            }
            t @ ("pickup.created" | "pickup.cancelled") => {
                let a = id(&d["allotmentId"]);
                let unit = text(&d["unitTypeId"]);
                let q = int(&d["quantity"]);
                let drawn: BTreeMap<NaiveDate, i64> = d["fromGroup"]
                    .as_array()
                    .map(|g| {
                        g.iter()
                            .map(|n| (date(&n["date"]), int(&n["quantity"])))
                            .collect()
                    })
                    .unwrap_or_default();
                let (arrival, departure) = (date(&d["arrival"]), date(&d["departure"]));
                let grid = nights.entry(a).or_default();
                for night in arrival.iter_days().take_while(|n| *n < departure) {
                    let n = grid.entry((unit.clone(), night)).or_default();
                    if t == "pickup.created" {
                        n.1 += q;
                    } else {
                        n.1 -= q;
                        if released.contains(&(a, unit.clone(), night)) {
                            n.0 -= q - drawn.get(&night).copied().unwrap_or(0);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    nights
}

/// Asserts that replaying `events` rebuilds every night of each of `allotments`
/// (every allotment of the establishment): `allocated` and `pickedUp`.
pub async fn assert_rebuilds(
    store: &Store,
    t: &TenantId,
    events: &[FeedEvent],
    allotments: &[Uuid],
) {
    let rebuilt = replay(events);
    let named: BTreeSet<&Uuid> = rebuilt.keys().collect();
    let all: BTreeSet<&Uuid> = allotments.iter().collect();
    assert_eq!(named, all, "the feed names every allotment, and only those");
    for (allotment, nights) in &rebuilt {
        let (_, grid) = store
            .require_allotment(t, *allotment)
            .await
            .expect("an allotment the feed names");
        let held: BTreeMap<(String, NaiveDate), (i64, i64)> = grid
            .iter()
            .map(|((u, d), n)| ((u.to_string(), *d), (n.allocated, n.picked_up)))
            .collect();
        let rebuilt: BTreeMap<_, _> = nights
            .iter()
            .filter(|(k, v)| **v != (0, 0) || held.contains_key(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let held: BTreeMap<_, _> = held
            .into_iter()
            .filter(|(k, v)| *v != (0, 0) || rebuilt.contains_key(k))
            .collect();
        assert_eq!(
            rebuilt, held,
            "allotment {allotment}: the feed rebuilds its nights"
        );
    }
}
