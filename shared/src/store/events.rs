//! The outbox: the event item a plan's transaction writes, and the feed's reads.
//!
//! One item holds the events of one command (see `domain::event`):
//! `PK = T#<t>#EV#<est>#<YYYY-MM-DD>` (UTC day of the item id), `SK = EV#<itemId>`,
//! `events` (S, the JSON array of the events exactly as the feed serves them),
//! `tenant` (S), `expiresAt` (N, the table's TTL: the id's time plus
//! `EXPIRY_DAYS`). The table's stream carries the same item to `publish-events`.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;
use uuid::Uuid;

use super::attr::{get_s, key, n, s, Item};
use super::{expr, keys, Store};
use crate::domain::error::ApiError;
use crate::domain::event::{
    day_of, event_id, feed_window, id_millis, millis_prefix, Event, EventType, FeedEvent,
    FeedPosition, EXPIRY_DAYS, MAX_EVENTS_PER_ITEM,
};
use crate::domain::ids::TenantId;

/// A feed read reads at most this many items (then it answers what it found, with
/// `hasMore`): bounded work per request whatever the `types` filter skips.
const MAX_ITEMS_READ: usize = 500;

/// The item holding `events` (all of one establishment) under `item`, a UUIDv7.
pub(super) fn events_item(
    table: &str,
    t: &TenantId,
    events: &[&Event],
    item: Uuid,
) -> Result<TransactWriteItem, ApiError> {
    let bad = |what: &str| ApiError::Internal(format!("event item {item}: {what}"));
    let first = events.first().ok_or_else(|| bad("no event"))?;
    if events.len() > MAX_EVENTS_PER_ITEM {
        return Err(bad("too many events"));
    }
    let est = first.establishment_id;
    if events.iter().any(|e| e.establishment_id != est) {
        return Err(bad("events of several establishments"));
    }
    let millis = id_millis(&item).ok_or_else(|| bad("not a UUIDv7"))?;
    let day = day_of(millis).ok_or_else(|| bad("time out of range"))?;
    let served = events
        .iter()
        .enumerate()
        .map(|(i, e)| e.served(event_id(item, i)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e.to_string()))?;
    let json = serde_json::to_string(&served).map_err(|e| bad(&e.to_string()))?;
    let (pk, sk) = keys::event_item(t, est, day, item);
    let mut put = key(pk, sk);
    put.insert("events".into(), s(json));
    put.insert("tenant".into(), s(t.as_str()));
    put.insert("expiresAt".into(), n(millis / 1000 + EXPIRY_DAYS * 86_400));
    expr::put_new(table, put)
}

/// The events of an item, in their order.
fn parse_item(item: &Item) -> Result<(Uuid, Vec<FeedEvent>), ApiError> {
    let sk = get_s(item, keys::SK)?;
    let id = sk
        .strip_prefix(keys::EVENT_PREFIX)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| ApiError::Internal(format!("event item key {sk:?}")))?;
    let events = serde_json::from_str(get_s(item, "events")?)
        .map_err(|e| ApiError::Internal(format!("event item {id}: {e}")))?;
    Ok((id, events))
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub events: Vec<FeedEvent>,
    /// Where the next read resumes (also after an empty page).
    pub next: FeedPosition,
    /// More events can be read now (else: poll later).
    pub has_more: bool,
}

impl Store {
    /// The feed's settle delay (see `domain::event::DEFAULT_SETTLE_SECONDS`).
    pub fn event_settle(&self) -> Duration {
        self.event_settle
    }

    /// This store with another settle delay (tests: 0 serves what has committed).
    pub fn with_event_settle(mut self, settle: Duration) -> Self {
        self.event_settle = settle;
        self
    }

    /// Up to `limit` events of the establishment `est` from `position` (`None`: the
    /// oldest kept), of the `types` named (`None`: all), oldest first: the items of
    /// each UTC day from the position's to the settle horizon's, in id order (strongly
    /// consistent reads). Every item older than the horizon has committed, so the
    /// next position never passes an item still to come. `410 CURSOR_EXPIRED` when
    /// `position` is older than the retention.
    pub async fn read_feed(
        &self,
        t: &TenantId,
        est: Uuid,
        position: Option<FeedPosition>,
        types: Option<&BTreeSet<EventType>>,
        limit: usize,
    ) -> Result<FeedPage, ApiError> {
        let now = chrono::Utc::now().timestamp_millis();
        let settle = self.event_settle.as_millis() as i64;
        let (start, horizon) = feed_window(position, now, settle)?;
        let done = |events, next, has_more| {
            Ok(FeedPage {
                events,
                next,
                has_more,
            })
        };
        if start.millis() >= horizon {
            return done(Vec::new(), start, false);
        }
        let day = |m| day_of(m).ok_or_else(|| ApiError::Internal(format!("feed time {m}")));
        let (first, last) = (day(start.millis())?, day(horizon - 1)?);
        let hi = format!("{}{}", keys::EVENT_PREFIX, millis_prefix(horizon));
        let mut out = Vec::new();
        let mut at = start;
        let mut read = 0;
        for d in first.iter_days().take_while(|d| *d <= last) {
            let lo = match (d == first, start) {
                (true, FeedPosition::Within { item, .. }) => {
                    format!("{}{item}", keys::EVENT_PREFIX)
                }
                (true, FeedPosition::Before(m)) => {
                    format!("{}{}", keys::EVENT_PREFIX, millis_prefix(m))
                }
                (false, _) => keys::EVENT_PREFIX.to_string(),
            };
            let query = self.sort_key_range(keys::events_partition(t, est, d), &lo, &hi);
            let mut from = None;
            loop {
                let (items, next) = self
                    .query_page("read_feed", &query, Some(100), from.take())
                    .await?;
                for item in &items {
                    let (id, events) = parse_item(item)?;
                    let skip = match at {
                        FeedPosition::Within { item, served } if item == id => served,
                        _ => 0,
                    };
                    for (k, e) in events.iter().enumerate().skip(skip) {
                        if types.is_none_or(|t| t.contains(&e.event_type)) {
                            if out.len() >= limit {
                                return done(out, at, true);
                            }
                            out.push(e.clone());
                        }
                        at = FeedPosition::Within {
                            item: id,
                            served: k + 1,
                        };
                    }
                    at = at.later(FeedPosition::Within {
                        item: id,
                        served: events.len(),
                    });
                    read += 1;
                    if read >= MAX_ITEMS_READ {
                        return done(out, at, true);
                    }
                }
                match next {
                    Some(k) => from = Some(k),
                    None => break,
                }
            }
        }
        done(out, at.later(FeedPosition::Before(horizon)), false)
    }
}
