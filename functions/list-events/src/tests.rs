use std::time::Duration;

use chrono::Utc;
use kit::TestRequest;
use serde_json::{json, Value};
use shared::domain::event::{Event, EventData, EventType};
use shared::domain::plan::Plan;
use shared::http::Ctx;
use uuid::Uuid;

use super::FUNCTION;

fn feed(est: Uuid, extra: &[(&str, &str)]) -> TestRequest {
    let est = est.to_string();
    let mut q = vec![("establishmentId", est.as_str())];
    q.extend_from_slice(extra);
    TestRequest::event("list-events").query(&q)
}

/// Every page from `after` with pages of `limit`: the events' ids and types, and the
/// last cursor (checking that every page carries one).
async fn read_all(
    a: &kit::Acme,
    est: Uuid,
    limit: &str,
    mut after: Option<String>,
) -> (Vec<(String, String)>, String) {
    let mut out = Vec::new();
    loop {
        let mut q = vec![("limit", limit)];
        if let Some(c) = &after {
            q.push(("after", c));
        }
        let page = a.call(feed(est, &q), &FUNCTION).await;
        for e in page.expect(200).as_array().unwrap() {
            out.push((
                e["id"].as_str().unwrap().into(),
                e["type"].as_str().unwrap().into(),
            ));
        }
        let next = page.body["nextCursor"]
            .as_str()
            .expect("never null")
            .to_string();
        after = Some(next.clone());
        if !page.body["hasMore"].as_bool().unwrap() {
            return (out, next);
        }
    }
}

/// An `establishment.updated` of `est` written as the item `item` (a UUIDv7 of the
/// past: a transaction that commits late, or an event of an earlier day).
async fn write_at(ctx: &Ctx, tenant: &str, est: Uuid, item: Uuid, sequence: i64) {
    let stored = ctx
        .store
        .load_establishment(&kit::tenant(tenant), est)
        .await
        .unwrap();
    let plan = Plan::new().with(Event::establishment(
        EventType::EstablishmentUpdated,
        kit::now(),
        est,
        sequence,
        EventData::Establishment(stored.unwrap().establishment),
    ));
    let applied = ctx
        .store
        .apply_with_item_id(&kit::tenant(tenant), &plan, item)
        .await
        .unwrap();
    assert_eq!(applied, shared::store::Applied::Done);
}

/// A UUIDv7 item id of `ago` before now.
fn item_ago(ago: Duration) -> Uuid {
    let t = Utc::now() - ago;
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        t.timestamp() as u64,
        t.timestamp_subsec_nanos(),
    );
    shared::domain::event::item_of(Uuid::new_v7(ts))
}

#[tokio::test]
async fn the_feed_serves_every_event_once_in_order_across_pages() {
    let (a, id) = kit::acme_allotment().await;
    let p = kit::pickup(
        &a.ctx,
        &a.key,
        &id,
        kit::pickup_body("dbl", "2026-09-02", "2026-09-04", 2),
    )
    .await;
    kit::cancel_pickup(&a.ctx, &a.key, &id, p["pickupId"].as_str().unwrap()).await;
    kit::release(&a.ctx, &a.key, &id, None).await;

    let (all, end) = read_all(&a, a.est, "100", None).await;
    let types: Vec<&str> = all.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "establishment.updated",
            "inventory.changed",
            "allotment.created",
            "pickup.created",
            "pickup.cancelled",
            "allotment.released"
        ]
    );
    for limit in ["1", "2", "5"] {
        let (paged, _) = read_all(&a, a.est, limit, None).await;
        assert_eq!(
            paged, all,
            "pages of {limit}: nothing skipped, nothing repeated"
        );
    }
    // Resuming at the end: an empty page that still says where to resume.
    let (none, again) = read_all(&a, a.est, "10", Some(end.clone())).await;
    assert!(none.is_empty());
    a.allotment(json!({})).await;
    let (after, _) = read_all(&a, a.est, "10", Some(again)).await;
    assert_eq!(after.len(), 1, "exactly the event committed since");
    assert_eq!(after[0].1, "allotment.created");

    // Filtered by type, the cursor bound to the filter.
    let only = feed(a.est, &[("types", "pickup.created,allotment.released")]);
    let page = a.call(only, &FUNCTION).await;
    let got: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["pickup.created", "allotment.released"]);
    let other_filter = feed(a.est, &[("types", "pickup.created"), ("after", &end)]);
    a.call(other_filter, &FUNCTION)
        .await
        .assert_invalid(&["after"]);
}

#[tokio::test]
async fn an_event_carries_the_contract_shape() {
    let (a, id) = kit::acme_allotment().await;
    let page = a
        .call(feed(a.est, &[("types", "allotment.created")]), &FUNCTION)
        .await;
    let e = &page.data()[0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "data",
            "establishmentId",
            "id",
            "occurredAt",
            "sequence",
            "subject",
            "type"
        ]
    );
    assert_eq!(e["subject"], json!({"type": "allotment", "id": id}));
    assert_eq!(
        (e["sequence"].clone(), e["occurredAt"].clone()),
        (json!(1), json!("2026-06-01T10:00:00Z"))
    );
    assert_eq!(e["establishmentId"], json!(a.est));
    let (record, grid) = a
        .ctx
        .store
        .require_allotment(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        e["data"],
        kit::json(record.representation(&grid)),
        "data is the representation after the change"
    );
    assert_eq!(page.body["hasMore"], json!(false));
}

#[tokio::test]
async fn the_feed_resumes_across_days() {
    let a = kit::bare_acme().await;
    let day = Duration::from_secs(86_400);
    // Two days ago, yesterday (twice), and the creation's own event today.
    let items = [
        item_ago(2 * day),
        item_ago(day + Duration::from_secs(60)),
        item_ago(day),
    ];
    for (i, item) in items.iter().enumerate() {
        write_at(&a.ctx, "acme", a.est, *item, 10 + i as i64).await;
    }
    let (all, _) = read_all(&a, a.est, "100", None).await;
    let ids: Vec<Uuid> = all.iter().map(|(id, _)| id.parse().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(&ids[..3], &items[..], "oldest first, day after day");
    let (paged, _) = read_all(&a, a.est, "1", None).await;
    assert_eq!(paged, all, "one a page, across three days");
}

#[tokio::test]
async fn a_transaction_that_commits_late_is_not_skipped() {
    let a = kit::bare_acme().await;
    let (tenant, est) = (kit::tenant("acme"), a.est);
    // Without a settle delay, a reader that passed a position misses what commits
    // behind it: the reason for the delay.
    let eager = a.ctx.store.clone();
    let passed = eager
        .read_feed(&tenant, est, None, None, 100)
        .await
        .unwrap();
    write_at(&a.ctx, "acme", est, item_ago(Duration::from_secs(5)), 2).await;
    let missed = eager
        .read_feed(&tenant, est, Some(passed.next), None, 100)
        .await
        .unwrap();
    assert!(
        missed.events.is_empty(),
        "skipped without a delay: {passed:?} {missed:?}"
    );

    // With a delay longer than the commit took, nothing is skipped.
    let patient = a
        .ctx
        .store
        .clone()
        .with_event_settle(Duration::from_secs(2));
    let first = patient
        .read_feed(&tenant, est, None, None, 100)
        .await
        .unwrap();
    // A transaction whose id is 1.5 s old commits now, after that read.
    write_at(
        &a.ctx,
        "acme",
        est,
        item_ago(Duration::from_millis(1_500)),
        3,
    )
    .await;
    assert!(!first.events.iter().any(|e| e.sequence == 3));
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let next = patient
        .read_feed(&tenant, est, Some(first.next), None, 100)
        .await
        .unwrap();
    let mut sequences: Vec<i64> = first
        .events
        .iter()
        .chain(&next.events)
        .map(|e| e.sequence)
        .collect();
    sequences.sort();
    assert_eq!(
        sequences,
        [1, 2, 3],
        "every event once, the late commit included"
    );
}

#[tokio::test]
async fn refusals_expired_cursors_and_other_tenants() {
    let a = kit::acme().await;
    let bad = [
        (vec![("limit", "0")], vec!["limit"]),
        (vec![("types", "pickup.deleted")], vec!["types"]),
        (vec![("after", "x.y")], vec!["after"]),
        (vec![("cursor", "x")], vec!["cursor"]),
    ];
    for (q, fields) in bad {
        a.call(feed(a.est, &q), &FUNCTION)
            .await
            .assert_invalid(&fields);
    }
    a.call(TestRequest::event("list-events").query(&[]), &FUNCTION)
        .await
        .assert_invalid(&["establishmentId"]);

    // A cursor older than the retention: 410, never a silent gap.
    let secret = a.ctx.store.cursor_secret().await.unwrap();
    let old = (Utc::now() - chrono::Duration::days(8))
        .timestamp_millis()
        .to_string();
    let query_id = format!("events|{}|", a.est);
    let cursor = shared::domain::cursor::issue(&secret, "acme", &query_id, &old).unwrap();
    a.call(feed(a.est, &[("after", &cursor)]), &FUNCTION)
        .await
        .assert_error(410, "CURSOR_EXPIRED");

    // Another tenant: its establishment of the same id has only its own events.
    a.assert_hidden(feed(a.est, &[]), &FUNCTION).await;
    let globex = kit::key(&a.ctx.store, "globex").await;
    let input = shared::domain::establishment::EstablishmentInput {
        name: "Globex".into(),
        time_zone: chrono_tz::Europe::Paris,
    };
    kit::put_establishment(&a.ctx.store, &kit::tenant("globex"), a.est, &input).await;
    let theirs = feed(a.est, &[]).key(&globex).send(&FUNCTION, &a.ctx).await;
    let events: &Vec<Value> = theirs.expect(200).as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["name"], "Globex");
}
