use chrono::{DateTime, Utc};
use cutoff_release::{message, Budget};
use kit::{allotment_body, ctx, key, pool_nights, tenant};
use serde_json::{json, Value};
use shared::domain::allotment::Status;
use shared::http::Ctx;
use shared::store::releases::{Due, DueEntry, DueKind};
use uuid::Uuid;

use super::*;

const MIDNIGHT: &str = "2026-08-01T22:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `n` allotments of 2 rooms for 1-2 Sep, due at the cutoff of 1 Aug (1 Aug 22:00Z),
/// in an establishment with 100 rooms a night.
async fn due_allotments(ctx: &Ctx, n: usize) -> (Uuid, Vec<Uuid>) {
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
    b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 2}]);
    let mut tasks = Vec::new();
    for task in 0..4 {
        let (ctx, k, b) = (ctx.clone(), k.clone(), b.clone());
        let count = n / 4 + usize::from(task < n % 4);
        tasks.push(tokio::spawn(async move {
            let mut ids: Vec<Uuid> = Vec::new();
            for _ in 0..count {
                let data = kit::create_allotment(&ctx, &k, b.clone()).await;
                ids.push(data["allotmentId"].as_str().unwrap().parse().unwrap());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    (est, ids)
}

fn entries(ids: &[Uuid]) -> Vec<DueEntry> {
    ids.iter()
        .map(|id| DueEntry {
            due: Due {
                tenant: tenant("acme"),
                kind: DueKind::Allotment,
                allotment_id: *id,
            },
            at: at(MIDNIGHT),
        })
        .collect()
}

fn event_of(bodies: &[String]) -> Value {
    let records: Vec<(String, String, u32)> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("m-{i}"), b.clone(), 1))
        .collect();
    sqs_event(&records)
}

/// Without ids: every allotment's status, nights and history, sorted, then the pool.
async fn state(ctx: &Ctx, est: Uuid, ids: &[Uuid]) -> Value {
    let t = tenant("acme");
    let mut allotments = Vec::new();
    for id in ids {
        let (rec, grid) = ctx.store.require_allotment(&t, *id).await.unwrap();
        let nights: Vec<Value> = grid
            .iter()
            .map(|((u, d), n)| {
                json!([
                    u.as_str(),
                    d.to_string(),
                    n.allocated,
                    n.released,
                    n.released_at.map(|t| t.to_rfc3339())
                ])
            })
            .collect();
        let history: Vec<Value> = kit::allocation_history(&ctx.store, &t, *id)
            .await
            .unwrap()
            .iter()
            .map(|e| json!([e.memo, e.from.to_string(), e.to.to_string(), e.quantity]))
            .collect();
        allotments.push(json!([rec.status.as_str(), nights, history]).to_string());
    }
    allotments.sort();
    let pool: Vec<Value> = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02")
        .await
        .iter()
        .map(|(u, d, n)| json!([u, d.to_string(), n.allotted, n.available]))
        .collect();
    json!({"allotments": allotments, "pool": pool})
}

async fn cutoff_entries(ctx: &Ctx, id: Uuid) -> usize {
    kit::allocation_history(&ctx.store, &tenant("acme"), id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.memo.as_deref() == Some("released at cutoff"))
        .count()
}

#[tokio::test]
async fn the_sample_event_is_a_no_op_on_an_empty_table() {
    let ctx = ctx().await;
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(kit::events_dir().join("cutoff-release-worker.json")).unwrap(),
    )
    .unwrap();
    let out = handle_event(&ctx.store, &sample, &WorkerOptions::local())
        .await
        .unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    let err = handle_event(
        &ctx.store,
        &json!({"time": MIDNIGHT}),
        &WorkerOptions::local(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR", "not an SQS event");
}

/// The same message twice in one batch (released side by side), then again in a later
/// batch: each allotment is released once, with one history entry, its rooms back in
/// the pool once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_messages_release_once() {
    let ctx = ctx().await;
    let (est, ids) = due_allotments(&ctx, 6).await;
    let body = message(at(MIDNIGHT), &entries(&ids));
    let (failed, first) = process(
        &ctx.store,
        &event_of(&[body.clone(), body.clone()]),
        &WorkerOptions::local(),
    )
    .await
    .unwrap();
    assert!(failed.is_empty());
    let (failed, again) = process(&ctx.store, &event_of(&[body]), &WorkerOptions::local())
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(first.allotments_released + again.allotments_released, 6);
    assert_eq!(first.released_nights + again.released_nights, 12);
    assert_eq!(again.allotments_released, 0);
    for id in &ids {
        let (rec, grid) = ctx
            .store
            .require_allotment(&tenant("acme"), *id)
            .await
            .unwrap();
        assert_eq!(rec.status, Status::Released);
        assert!(grid
            .values()
            .all(|n| n.released == 2 && n.released_at == Some(at(MIDNIGHT))));
        assert_eq!(cutoff_entries(&ctx, *id).await, 1);
    }
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.allotted == 0 && n.available == 1000));
}

/// A message delivered after its allotment was cancelled, or PATCHed to a later
/// cutoff, changes nothing; the later cutoff releases it at its own moment.
#[tokio::test]
async fn a_message_after_a_cancel_or_a_later_cutoff_is_a_no_op() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, ids) = due_allotments(&ctx, 2).await;
    let (cancelled, moved) = (ids[0], ids[1]);
    let done = kit::cancel(&ctx, &k, &cancelled.to_string()).await;
    assert_eq!(done["status"], "cancelled");
    let later = kit::patch(
        &ctx,
        &k,
        &moved.to_string(),
        json!({"cutoffDate": "2026-08-20"}),
    )
    .await;
    assert_eq!(later["cutoff"]["cutoffDate"], "2026-08-20");
    let before = state(&ctx, est, &ids).await;

    let body = message(at(MIDNIGHT), &entries(&ids));
    let (failed, report) = process(&ctx.store, &event_of(&[body]), &WorkerOptions::local())
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!((report.allotments_released, report.released_nights), (0, 0));
    assert_eq!(state(&ctx, est, &ids).await, before);

    let event = json!({"time": "2026-08-20T22:00:00Z", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let (report, _) = deliver_locally(&ctx.store, &event).await.unwrap();
    assert_eq!(report.allotments_released, 1);
    let (rec, _) = ctx
        .store
        .require_allotment(&tenant("acme"), moved)
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Released);
    let (rec, _) = ctx
        .store
        .require_allotment(&tenant("acme"), cancelled)
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Cancelled);
}

/// A malformed message is reported alone; the others of its batch are released.
#[tokio::test]
async fn a_malformed_message_fails_alone() {
    let ctx = ctx().await;
    let (_, ids) = due_allotments(&ctx, 1).await;
    let good = message(at(MIDNIGHT), &entries(&ids));
    let out = handle_event(
        &ctx.store,
        &event_of(&["not json".into(), good]),
        &WorkerOptions::local(),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "m-0"}]})
    );
    let (rec, _) = ctx
        .store
        .require_allotment(&tenant("acme"), ids[0])
        .await
        .unwrap();
    assert_eq!(rec.status, Status::Released);
}

/// When the budget runs out, the messages not finished are reported (SQS delivers them
/// again); their redelivery releases the rest.
#[tokio::test]
async fn a_spent_budget_fails_the_messages_it_did_not_finish() {
    let ctx = ctx().await;
    let (_, ids) = due_allotments(&ctx, 3).await;
    let bodies: Vec<String> = ids
        .iter()
        .map(|id| message(at(MIDNIGHT), &entries(&[*id])))
        .collect();
    let options = WorkerOptions {
        budget: Budget::releases(1),
        concurrency: 1,
        live_clock: false,
    };
    let (failed, report) = process(&ctx.store, &event_of(&bodies), &options)
        .await
        .unwrap();
    assert_eq!(report.allotments_released, 1);
    assert_eq!(
        failed,
        BTreeSet::from(["m-1".to_string(), "m-2".to_string()])
    );
    let again: Vec<String> = ["m-1", "m-2"]
        .iter()
        .map(|m| bodies[m[2..].parse::<usize>().unwrap()].clone())
        .collect();
    let (failed, report) = process(&ctx.store, &event_of(&again), &WorkerOptions::local())
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(report.allotments_released, 2);
}

/// The whole path locally: a run keeps 10, fans out 290 (a message per shard) drained by
/// this handler; three such deliveries at once end in the state of one in-process run,
/// with one "released at cutoff" entry per allotment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fan_out_path_ends_in_the_state_of_one_run() {
    let event = json!({"time": MIDNIGHT, "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let once = ctx().await;
    let (est_once, ids_once) = due_allotments(&once, 300).await;
    cutoff_release::run(&once.store, at(MIDNIGHT), &Options::local(Queue::None))
        .await
        .unwrap();
    let expected = state(&once, est_once, &ids_once).await;

    let ctx = ctx().await;
    let (est, ids) = due_allotments(&ctx, 300).await;
    let small = |queue| {
        let mut o = Options::local(queue);
        o.inline = 10;
        o.page = 50;
        o
    };
    let (report, drained) = deliver_with(&ctx.store, &event, small).await.unwrap();
    assert_eq!(report.allotments_released, 300);
    assert_eq!(report.handed_off, 290);
    assert_eq!(
        (drained.dead_letters, drained.report.allotments_released),
        (0, 290)
    );
    // Each shard's reader sends its own messages of at most 100 entries.
    assert!((3..=8).contains(&drained.messages), "{drained:?}");
    assert_eq!(
        ctx.store.release_watermark().await.unwrap(),
        Some(at(MIDNIGHT))
    );
    assert_eq!(state(&ctx, est, &ids).await, expected);

    // Concurrent deliveries of the same time, on a fresh set: the same end state.
    let many = kit::ctx().await;
    let (est_many, ids_many) = due_allotments(&many, 300).await;
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (store, event) = (many.store.clone(), event.clone());
        tasks.push(tokio::spawn(async move {
            deliver_with(&store, &event, small).await.unwrap().0
        }));
    }
    let mut released = 0;
    for t in tasks {
        released += t.await.unwrap().allotments_released;
    }
    assert_eq!(released, 300, "each allotment released by one of them");
    assert_eq!(state(&many, est_many, &ids_many).await, expected);
    for id in ids_many.iter().take(20) {
        assert_eq!(cutoff_entries(&many, *id).await, 1);
    }
}
