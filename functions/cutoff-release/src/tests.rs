use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use kit::{allotment_body, ctx, key, pickup_body, pool_nights, tenant};
use serde_json::{json, Value};
use shared::domain::allotment::Status;
use shared::http::Ctx;
use uuid::Uuid;

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn event(time: &str) -> Value {
    let mut e: Value = serde_json::from_str(
        &std::fs::read_to_string(kit::events_dir().join("cutoff-release.json")).unwrap(),
    )
    .unwrap();
    e["time"] = json!(time);
    e
}

async fn deliver(ctx: &Ctx, time: &str) -> Value {
    handle_event(&ctx.store, &event(time), None).await.unwrap()
}

async fn allotment(ctx: &Ctx, k: &str, body: Value) -> Uuid {
    kit::create_allotment(ctx, k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn status(ctx: &Ctx, id: Uuid) -> (Status, Vec<i64>) {
    let (r, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id)
        .await
        .unwrap();
    (r.status, grid.values().map(|n| n.allocated).collect())
}

/// Paris in summer (UTC+2): the cutoff of 1 Aug falls at 2 Aug 00:00 local = 1 Aug 22:00Z.
#[tokio::test]
async fn nothing_before_local_midnight_everything_after_summer() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut b = allotment_body(est);
    b["releaseDays"] = json!(null);
    let id = allotment(&ctx, &k, b).await;
    assert_eq!(
        deliver(&ctx, "2026-08-01T21:59:00Z").await,
        json!({"data": {"releasedNights": 0, "allotmentsReleased": 0}})
    );
    assert_eq!(status(&ctx, id).await, (Status::Active, vec![10; 7]));
    assert_eq!(
        deliver(&ctx, "2026-08-01T22:01:00Z").await,
        json!({"data": {"releasedNights": 7, "allotmentsReleased": 1}})
    );
    assert_eq!(status(&ctx, id).await, (Status::Released, vec![0; 7]));
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 0)
    );
    let history = kit::allocation_history(&ctx.store, &tenant("acme"), id)
        .await
        .unwrap();
    assert_eq!(history[0].memo.as_deref(), Some("released at cutoff"));
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id)
        .await
        .unwrap();
    assert!(grid
        .values()
        .all(|n| n.released == 10 && n.released_at == Some(at("2026-08-01T22:00:00Z"))));
}

/// Paris in winter (UTC+1): the cutoff of 1 Dec falls at 1 Dec 23:00Z.
#[tokio::test]
async fn nothing_before_local_midnight_everything_after_winter() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-12-01",
        "2026-12-31",
        10,
    )
    .await;
    let mut b = allotment_body(est);
    b["periodFrom"] = json!("2026-12-20");
    b["periodTo"] = json!("2026-12-22");
    b["cutoffDate"] = json!("2026-12-01");
    b["releaseDays"] = json!(null);
    let id = allotment(&ctx, &k, b).await;
    deliver(&ctx, "2026-12-01T22:59:00Z").await;
    assert_eq!(status(&ctx, id).await.0, Status::Active);
    deliver(&ctx, "2026-12-01T23:01:00Z").await;
    assert_eq!(status(&ctx, id).await.0, Status::Released);
}

#[tokio::test]
async fn rolling_release_night_by_night_keeps_picked_up_rooms() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut b = allotment_body(est);
    b["cutoffDate"] = json!("2026-09-05");
    b["releaseDays"] = json!(2);
    let id = allotment(&ctx, &k, b).await;
    let body = pickup_body("dbl", "2026-09-01", "2026-09-03", 3);
    kit::pickup(&ctx, &k, &id.to_string(), body).await;
    // Night 1 Sep goes at 00:00 Paris on 30 Aug (29 Aug 22:00Z), 2 Sep a day later.
    let r = deliver(&ctx, "2026-08-29T22:00:00Z").await;
    assert_eq!(r["data"]["releasedNights"], 1);
    let (rec, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id)
        .await
        .unwrap();
    let first = grid.values().next().unwrap();
    assert_eq!(
        (first.allocated, first.picked_up, first.released),
        (3, 3, 7)
    );
    assert_eq!(
        rec.cutoff_view().next_release_at,
        Some(at("2026-08-30T22:00:00Z"))
    );
    assert_eq!(rec.status, Status::Active);
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert_eq!((pool[0].2.allotted, pool[1].2.allotted), (3, 10));
    // Late by days: everything due up to the time goes, the fixed cutoff (6 Sep 00:00
    // Paris) releases the rest.
    let r = deliver(&ctx, "2026-09-05T22:00:00Z").await;
    assert_eq!(
        r["data"],
        json!({"releasedNights": 6, "allotmentsReleased": 1})
    );
    let (rec, _) = ctx
        .store
        .require_allotment(&tenant("acme"), id)
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Released);
    assert_eq!(
        rec.cutoff_view().final_release_at,
        at("2026-09-04T22:00:00Z")
    );
    let history = kit::allocation_history(&ctx.store, &tenant("acme"), id)
        .await
        .unwrap();
    let cutoffs = history
        .iter()
        .filter(|e| e.memo.as_deref() == Some("released at cutoff"))
        .count();
    assert_eq!(cutoffs, 2, "one entry per unit type and release");
    // Settlement is final now.
    let s = kit::settlement(&ctx, &k, &id.to_string()).await;
    assert_eq!(s["final"], true);
    assert_eq!(s["pickedUpRoomNights"], 6);
}

#[tokio::test]
async fn a_tentative_option_expires_whole_and_a_patch_re_arms_the_cutoff() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut t = allotment_body(est);
    t["allotmentType"] = json!("tentative");
    t["releaseDays"] = json!(30);
    let option = allotment(&ctx, &k, t).await;
    let moved = allotment(&ctx, &k, allotment_body(est)).await;
    let patch = json!({"cutoffDate": "2026-08-20", "releaseDays": null});
    kit::patch(&ctx, &k, &moved.to_string(), patch).await;

    // 30 release days do not apply to an option: it goes whole at the fixed cutoff.
    deliver(&ctx, "2026-08-01T21:00:00Z").await;
    assert_eq!(status(&ctx, option).await.0, Status::Active);
    deliver(&ctx, "2026-08-01T22:00:00Z").await;
    assert_eq!(status(&ctx, option).await, (Status::Released, vec![0; 7]));
    assert_eq!(
        status(&ctx, moved).await.0,
        Status::Active,
        "re-armed for 20 Aug"
    );
    deliver(&ctx, "2026-08-20T22:00:00Z").await;
    assert_eq!(status(&ctx, moved).await.0, Status::Released);
}

/// The state the release leaves, without ids: per allotment (in period order) its
/// status and nights, then the pool.
async fn snapshot(ctx: &Ctx, est: Uuid) -> Value {
    let t = tenant("acme");
    let (records, _) = ctx
        .store
        .list_allotments(&t, est, &Default::default(), 100, None)
        .await
        .unwrap();
    let mut allotments = Vec::new();
    for r in records {
        let (rec, grid) = ctx
            .store
            .require_allotment(&t, r.allotment_id)
            .await
            .unwrap();
        let nights: Vec<Value> = grid
            .iter()
            .map(|((u, d), n)| {
                json!([
                    u.as_str(),
                    d.to_string(),
                    n.contracted,
                    n.allocated,
                    n.picked_up,
                    n.released,
                    n.released_at.map(|t| t.to_rfc3339())
                ])
            })
            .collect();
        let history: Vec<Value> = kit::allocation_history(&ctx.store, &t, r.allotment_id)
            .await
            .unwrap()
            .iter()
            .map(|e| {
                json!([
                    e.memo,
                    e.from.to_string(),
                    e.to.to_string(),
                    e.quantity,
                    e.previous_quantity
                ])
            })
            .collect();
        allotments.push(json!({"status": rec.status.as_str(), "releasedThrough": rec.released_through.map(|d| d.to_string()), "nights": nights, "history": history}));
    }
    let pool: Vec<Value> = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-30")
        .await
        .iter()
        .map(|(u, d, n)| {
            json!([
                u,
                d.to_string(),
                n.capacity,
                n.allotted,
                n.picked_up,
                n.available
            ])
        })
        .collect();
    json!({"allotments": allotments, "pool": pool})
}

async fn scenario(ctx: &Ctx) -> Uuid {
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    for (from, to, days) in [
        ("2026-09-01", "2026-09-07", json!(3)),
        ("2026-09-10", "2026-09-12", json!(null)),
        ("2026-09-03", "2026-09-05", json!(10)),
    ] {
        let mut b = allotment_body(est);
        b["periodFrom"] = json!(from);
        b["periodTo"] = json!(to);
        b["cutoffDate"] = json!("2026-09-02");
        b["releaseDays"] = days;
        b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 4}]);
        allotment(ctx, &k, b).await;
    }
    est
}

/// Five concurrent deliveries of the same event, then a repeat, leave exactly what a
/// single delivery leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_and_concurrent_deliveries_equal_one() {
    let once = ctx().await;
    let est_once = scenario(&once).await;
    deliver(&once, "2026-08-31T22:30:00Z").await;
    let expected = snapshot(&once, est_once).await;

    let many = ctx().await;
    let est_many = scenario(&many).await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let store = many.store.clone();
        tasks.push(tokio::spawn(async move {
            handle_event(&store, &event("2026-08-31T22:30:00Z"), None)
                .await
                .unwrap()
        }));
    }
    let mut released = 0;
    for t in tasks {
        released += t.await.unwrap()["data"]["releasedNights"].as_i64().unwrap();
    }
    deliver(&many, "2026-08-31T22:30:00Z").await;
    assert_eq!(snapshot(&many, est_many).await, expected);
    let single = expected["allotments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a["nights"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n[6] != json!(null))
                .count() as i64
        })
        .sum::<i64>();
    assert_eq!(
        released, single,
        "no night is counted (or credited to the pool) twice"
    );
    assert!(single > 0);
}

#[tokio::test]
async fn deployed_runs_refuse_a_time_ahead_of_their_clock() {
    let clock = at("2026-08-02T00:00:00Z");
    assert!(event_time(&event("2026-08-02T00:05:00Z"), Some(clock)).is_ok());
    let err = event_time(&event("2026-08-02T00:05:01Z"), Some(clock)).unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");
    assert!(
        event_time(&event("2027-01-01T00:00:00Z"), None).is_ok(),
        "locally any time"
    );
    assert!(event_time(&json!({"time": "yesterday"}), None).is_err());
}

/// `n` allotments of one room for 1-2 Sep, due at the cutoff of 1 Aug (2 Aug 00:00
/// Paris = 1 Aug 22:00Z), created 8 at a time.
async fn many_due(ctx: &Ctx, n: usize) -> Uuid {
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-02",
        n as i64,
    )
    .await;
    let mut b = allotment_body(est);
    b["periodTo"] = json!("2026-09-02");
    b["releaseDays"] = json!(null);
    b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let mut tasks = Vec::new();
    for task in 0..8 {
        let (ctx, k, b) = (ctx.clone(), k.clone(), b.clone());
        let count = n / 8 + usize::from(task < n % 8);
        tasks.push(tokio::spawn(async move {
            for _ in 0..count {
                kit::create_allotment(&ctx, &k, b.clone()).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    est
}

const MIDNIGHT: &str = "2026-08-01T22:00:00Z";

fn options(queue: Queue) -> Options {
    Options::local(queue)
}

async fn stored_watermark(ctx: &Ctx) -> Option<DateTime<Utc>> {
    ctx.store.release_watermark().await.unwrap()
}

/// The old runs took 400 at most; one run now drains the whole backlog, reading the
/// index in pages (7 entries a page here) on every shard side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_larger_than_a_batch_is_drained_in_one_run() {
    let ctx = ctx().await;
    let est = many_due(&ctx, 1000).await;
    let mut o = options(Queue::None);
    o.page = 7;
    o.concurrency = 16;
    let report = run(&ctx.store, at(MIDNIGHT), &o).await.unwrap();
    assert_eq!(
        report,
        Report {
            released_nights: 2000,
            allotments_released: 1000,
            found: 1000,
            ..Report::default()
        }
    );
    assert_eq!(stored_watermark(&ctx).await, Some(at(MIDNIGHT)));
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.allotted == 0 && n.available == 1000));
    let after = run(&ctx.store, at("2026-08-01T22:01:00Z"), &o)
        .await
        .unwrap();
    assert_eq!(after, Report::default(), "nothing left");
}

/// A run whose budget runs out (after 12 releases here) leaves the rest, and the
/// watermark just before the first entry it left; the next run releases the rest, and
/// the end state (history included) is that of one run with budget enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_that_spends_its_budget_leaves_the_rest_and_the_watermark_before_it() {
    async fn two_cutoffs(ctx: &Ctx) -> Uuid {
        let k = key(&ctx.store, "acme").await;
        let est = kit::stocked_establishment(&ctx.store, "acme").await;
        for (i, cutoff) in ["2026-08-01"; 20]
            .into_iter()
            .chain(["2026-08-02"; 10])
            .enumerate()
        {
            let mut b = allotment_body(est);
            b["cutoffDate"] = json!(cutoff);
            b["releaseDays"] = json!(null);
            // One night each, a different one (the snapshot lists them by period).
            b["periodFrom"] = json!(format!("2026-09-{:02}", 1 + i));
            b["periodTo"] = json!(format!("2026-09-{:02}", 1 + i));
            b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
            allotment(ctx, &k, b).await;
        }
        est
    }
    let later = "2026-08-02T22:05:00Z";
    let once = ctx().await;
    let est_once = two_cutoffs(&once).await;
    run(&once.store, at(later), &options(Queue::None))
        .await
        .unwrap();
    let expected = snapshot(&once, est_once).await;

    let ctx = ctx().await;
    let est = two_cutoffs(&ctx).await;
    // A budget spent before anything starts: nothing read, nothing released, and the
    // (first) watermark stays a lookback behind.
    let mut o = options(Queue::None);
    o.budget = Budget::within(std::time::Duration::ZERO);
    let nothing = run(&ctx.store, at(later), &o).await.unwrap();
    assert_eq!((nothing.found, nothing.allotments_released), (0, 0));
    assert!(nothing.more);
    assert_eq!(
        stored_watermark(&ctx).await,
        Some(at(later) - Duration::days(31))
    );

    let mut o = options(Queue::None);
    o.budget = Budget::releases(12);
    o.concurrency = 4;
    let first = run(&ctx.store, at(later), &o).await.unwrap();
    assert_eq!(first.found, 30, "everything due was read");
    assert_eq!(
        first.allotments_released, 12,
        "as many as the budget allowed"
    );
    assert!(first.more);
    // Of the 20 due at the first midnight at most 12 are done: the watermark is the
    // second before it, so the next run reads them again.
    assert_eq!(
        stored_watermark(&ctx).await,
        Some(at(MIDNIGHT) - Duration::seconds(1))
    );
    let statuses: Vec<Value> = snapshot(&ctx, est).await["allotments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "released").count(), 12);

    let rest = run(&ctx.store, at(later), &options(Queue::None))
        .await
        .unwrap();
    assert_eq!(rest.allotments_released, 18);
    assert!(!rest.more);
    assert_eq!(stored_watermark(&ctx).await, Some(at(later)));
    assert_eq!(snapshot(&ctx, est).await, expected);
    for a in expected["allotments"].as_array().unwrap() {
        let cutoffs = a["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e[0] == "released at cutoff")
            .count();
        assert_eq!(cutoffs, 1, "one entry per unit type and release");
    }
}

/// Beyond what it keeps, a run hands the due entries to the queue in messages, moves
/// the watermark past them (the next run does not hand them over again), and when the
/// queue refuses them keeps the watermark before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_fans_out_what_it_does_not_keep_and_only_once() {
    let ctx = ctx().await;
    many_due(&ctx, 25).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut o = options(Queue::Local(tx));
    o.inline = 5;
    let report = run(&ctx.store, at(MIDNIGHT), &o).await.unwrap();
    assert_eq!(
        (report.found, report.allotments_released, report.handed_off),
        (25, 5, 20)
    );
    assert!(!report.more);
    assert_eq!(stored_watermark(&ctx).await, Some(at(MIDNIGHT)));
    let mut handed = Vec::new();
    while let Ok(body) = rx.try_recv() {
        let (time, dues) = parse_message(&body).unwrap();
        assert_eq!(time, at(MIDNIGHT));
        assert!(dues.len() <= MESSAGE_DUES);
        handed.extend(dues);
    }
    assert_eq!(handed.len(), 20);
    for due in &handed {
        assert_eq!(status(&ctx, due.allotment_id).await.0, Status::Active);
    }
    let ids: std::collections::BTreeSet<Uuid> = handed.iter().map(|d| d.allotment_id).collect();
    assert_eq!(ids.len(), 20, "each once");

    let again = run(&ctx.store, at("2026-08-01T22:01:00Z"), &o)
        .await
        .unwrap();
    assert_eq!(again, Report::default(), "not handed over twice");
    assert!(rx.try_recv().is_err());

    // A queue that refuses: the entries stay for the next run, the watermark before them.
    let refused = kit::ctx().await;
    many_due(&refused, 12).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    drop(rx);
    let mut o = options(Queue::Local(tx));
    o.inline = 2;
    let report = run(&refused.store, at(MIDNIGHT), &o).await.unwrap();
    assert_eq!(
        (report.found, report.allotments_released, report.handed_off),
        (12, 2, 0)
    );
    assert!(report.more);
    assert_eq!(
        stored_watermark(&refused).await,
        Some(at(MIDNIGHT) - Duration::seconds(1))
    );
    let next = run(
        &refused.store,
        at("2026-08-01T22:01:00Z"),
        &options(Queue::None),
    )
    .await
    .unwrap();
    assert_eq!((next.found, next.allotments_released), (10, 10));
}

/// An entry written after its moment (here: nights already due when the allotment is
/// created) is taken a minute after that write, never before its moment.
#[tokio::test]
async fn an_entry_written_after_its_moment_is_taken_a_minute_later() {
    let store = kit::store().await;
    let written = at("2026-08-20T10:00:00Z");
    let ctx = Ctx::with_now(store, written);
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut b = allotment_body(est);
    b["cutoffDate"] = json!("2026-08-31");
    b["releaseDays"] = json!(20); // 1 Sep goes at 00:00 on 12 Aug: already past
    let id = allotment(&ctx, &k, b).await;
    for (time, released) in [
        ("2026-08-20T10:00:30Z", false),
        ("2026-08-20T10:00:59Z", false),
        ("2026-08-20T10:01:00Z", true),
    ] {
        deliver(&ctx, time).await;
        let (_, grid) = ctx
            .store
            .require_allotment(&tenant("acme"), id)
            .await
            .unwrap();
        let first = grid.values().next().unwrap();
        assert_eq!(first.released > 0, released, "{time}");
    }
    // Each night is released at its own moment, not at the run's.
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id)
        .await
        .unwrap();
    assert_eq!(
        grid.values().next().unwrap().released_at,
        Some(at("2026-08-11T22:00:00Z"))
    );
}

/// The fixed cost of a run: an idle run in the watermark's day reads the watermark,
/// one index partition per shard and the steps sweeper's partition, and writes nothing.
#[tokio::test]
async fn an_idle_run_costs_one_read_and_a_query_per_shard() {
    let (ctx, counter) = kit::counting_ctx().await;
    let count =
        |c: &std::collections::BTreeMap<String, u64>, op: &str| c.get(op).copied().unwrap_or(0);
    deliver(&ctx, "2026-08-01T22:00:00Z").await;
    let first = counter.take();
    assert_eq!(
        count(&first, "Query"),
        32 * u64::from(SHARDS) + 1,
        "a first run looks a month back"
    );
    assert_eq!(count(&first, "PutItem"), 1);
    deliver(&ctx, "2026-08-01T22:01:00Z").await;
    let idle = counter.take();
    assert_eq!(
        idle,
        std::collections::BTreeMap::from([
            ("GetItem".to_string(), 1),
            ("Query".to_string(), u64::from(SHARDS) + 1)
        ])
    );
    // The first run after midnight UTC reads both days and moves the watermark on.
    deliver(&ctx, "2026-08-02T00:00:00Z").await;
    let midnight = counter.take();
    assert_eq!(count(&midnight, "Query"), 2 * u64::from(SHARDS) + 1);
    assert_eq!(count(&midnight, "PutItem"), 1);
    deliver(&ctx, "2026-08-02T00:01:00Z").await;
    assert_eq!(count(&counter.take(), "Query"), u64::from(SHARDS) + 1);
}

/// Nothing is released before its moment, even by a run with budget and concurrency
/// enough for all: at 21:59:59Z none of the due allotments goes, at 22:00:00Z all do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_released_a_second_before_its_moment() {
    let ctx = ctx().await;
    many_due(&ctx, 40).await;
    let early = run(
        &ctx.store,
        at("2026-08-01T21:59:59Z"),
        &options(Queue::None),
    )
    .await
    .unwrap();
    assert_eq!(early, Report::default());
    let on_time = run(&ctx.store, at(MIDNIGHT), &options(Queue::None))
        .await
        .unwrap();
    assert_eq!((on_time.found, on_time.allotments_released), (40, 40));
}

#[tokio::test]
async fn counts_are_per_release() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut tally = BTreeMap::new();
    for days in [3, 5] {
        let mut b = allotment_body(est);
        b["cutoffDate"] = json!("2026-09-06");
        b["releaseDays"] = json!(days);
        tally.insert(days, allotment(&ctx, &k, b).await);
    }
    // 00:00 Paris on 2 Sep: nights up to 5 Sep are due with 3 days' notice (5 nights),
    // every night up to 7 Sep with 5 days' (7 nights: that allotment is released).
    let r = deliver(&ctx, "2026-09-01T22:00:00Z").await;
    assert_eq!(
        r["data"],
        json!({"releasedNights": 5 + 7, "allotmentsReleased": 1})
    );
    assert_eq!(status(&ctx, tally[&5]).await.0, Status::Released);
    assert_eq!(status(&ctx, tally[&3]).await.0, Status::Active);
}

/// `n` allotments of one room for 1-2 Sep in a new hotel (rooms for them), due at
/// [`MIDNIGHT`]: the hotel and the allotments.
async fn hotel_with_due(ctx: &Ctx, k: &str, n: usize) -> (Uuid, Vec<Uuid>) {
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-02",
        10,
    )
    .await;
    let mut b = allotment_body(est);
    b["periodTo"] = json!("2026-09-02");
    b["releaseDays"] = json!(null);
    b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(allotment(ctx, k, b.clone()).await);
    }
    (est, ids)
}

fn dues(ids: &[Uuid]) -> Vec<Due> {
    ids.iter()
        .map(|id| Due {
            tenant: tenant("acme"),
            kind: DueKind::Allotment,
            allotment_id: *id,
        })
        .collect()
}

/// Each allotment released with one "released at cutoff" entry, its hotel's
/// invariants whole.
async fn released_once(ctx: &Ctx, est: Uuid, ids: &[Uuid]) {
    for id in ids {
        assert_eq!(status(ctx, *id).await.0, Status::Released, "{id}");
        let cutoffs = kit::allocation_history(&ctx.store, &tenant("acme"), *id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.memo.as_deref() == Some("released at cutoff"))
            .count();
        assert_eq!(cutoffs, 1, "{id}");
    }
    kit::check_invariants(&ctx.store, "acme", est, None, "2026-09-01", "2026-09-02").await;
}

/// Releases planned together when one of them moved since it was read (a pickup
/// here): the transaction names that one; the others commit together without it, and
/// it, read again, is released alone, keeping its pickup.
#[tokio::test]
async fn a_batch_where_one_allotment_moved_releases_the_others_then_it() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, ids) = hotel_with_due(&ctx, &k, 5).await;
    let t = tenant("acme");
    let headers = ctx.store.allotment_headers(&t, &ids).await.unwrap();
    let wanted: Vec<_> = headers
        .iter()
        .map(|r| (r.allotment_id, r.due_months(at(MIDNIGHT))))
        .collect();
    let mut grids = ctx.store.allotment_months(&t, &wanted).await.unwrap();
    let plans: Vec<_> = headers
        .iter()
        .map(|r| {
            let (grid, revisions) = grids.remove(&r.allotment_id).unwrap();
            let mut r = r.clone();
            r.grid_revisions = revisions;
            plan_cutoff_release(&r, &grid, at(MIDNIGHT))
                .unwrap()
                .unwrap()
        })
        .collect();
    let moved = headers[2].allotment_id;
    kit::pickup(
        &ctx,
        &k,
        &moved.to_string(),
        pickup_body("dbl", "2026-09-01", "2026-09-02", 1),
    )
    .await;

    let parts: Vec<_> = plans.iter().map(|p| &p.allotment.plan).collect();
    let done = shared::command::apply_together(&ctx.store, &t, &parts)
        .await
        .unwrap();
    assert_eq!(done, [true, true, false, true, true]);
    assert_eq!(status(&ctx, moved).await, (Status::Active, vec![1, 1]));

    // The run's path: the released four are no-ops, the moved one goes now.
    let outcomes = release_many(&ctx.store, &dues(&ids), at(MIDNIGHT)).await;
    let of_moved = ids.iter().position(|id| *id == moved).unwrap();
    for (i, o) in outcomes.iter().enumerate() {
        let want = if i == of_moved { (2, true) } else { (0, false) };
        assert_eq!(o, &Ok(want), "{i}");
    }
    released_once(&ctx, est, &ids).await;
    assert_eq!(
        status(&ctx, moved).await.1,
        [1, 0],
        "its picked-up room kept"
    );
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert_eq!(
        pool.iter().map(|(_, _, n)| n.allotted).collect::<Vec<_>>(),
        [1, 0]
    );
}

/// Allotments of two hotels due at one moment: one transaction releases them all (each
/// hotel's pool bucket and holds written once, summed), after one batched read of the
/// headers and one of the grid months; a repeat is a no-op.
#[tokio::test]
async fn a_batch_of_two_hotels_is_one_transaction() {
    let (ctx, counter) = kit::counting_ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (a, of_a) = hotel_with_due(&ctx, &k, 3).await;
    let (b, of_b) = hotel_with_due(&ctx, &k, 2).await;
    // Interleaved, as the index might name them.
    let ids = [of_a[0], of_b[0], of_a[1], of_b[1], of_a[2]];
    counter.take();
    let outcomes = release_many(&ctx.store, &dues(&ids), at(MIDNIGHT)).await;
    assert!(outcomes.iter().all(|o| o == &Ok((2, true))), "{outcomes:?}");
    assert_eq!(
        counter.take(),
        BTreeMap::from([
            ("BatchGetItem".to_string(), 2),
            ("TransactWriteItems".to_string(), 1)
        ])
    );
    released_once(&ctx, a, &of_a).await;
    released_once(&ctx, b, &of_b).await;
    for est in [a, b] {
        let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
        assert!(pool
            .iter()
            .all(|(_, _, n)| n.allotted == 0 && n.available == 10));
    }
    counter.take();
    let again = release_many(&ctx.store, &dues(&ids), at(MIDNIGHT)).await;
    assert!(again.iter().all(|o| o == &Ok((0, false))));
    assert_eq!(
        counter.take(),
        BTreeMap::from([("BatchGetItem".to_string(), 1)]),
        "nothing due: no grid read, no write"
    );
}
