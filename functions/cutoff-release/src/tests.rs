use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
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

/// 1,000 allotments due at once are all released within a few invocations.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_due_allotments_over_a_few_runs() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-02",
        1000,
    )
    .await;
    let mut b = allotment_body(est);
    b["periodTo"] = json!("2026-09-02");
    b["releaseDays"] = json!(null);
    b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (ctx, k, b) = (ctx.clone(), k.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..125 {
                kit::create_allotment(&ctx, &k, b.clone()).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut runs = 0;
    let mut total = 0;
    while total < 1000 && runs < 10 {
        let report = run(&ctx.store, at("2026-08-01T22:05:00Z"), DEFAULT_BATCH)
            .await
            .unwrap();
        runs += 1;
        total += report.allotments_released;
        assert_eq!(report.failures, 0);
    }
    println!("released {total} allotments in {runs} invocations of at most {DEFAULT_BATCH}");
    assert_eq!(total, 1000);
    assert!(runs <= 4, "{runs} runs");
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.allotted == 0 && n.available == 1000));
    let after = run(&ctx.store, at("2026-08-01T22:10:00Z"), DEFAULT_BATCH)
        .await
        .unwrap();
    assert_eq!(after, Report::default(), "nothing left");
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
