//! Exactly once under store faults (issue 13): a concurrent workload of every write
//! endpoint through the handlers, with the fault proxy (`kit::proxy`) between the
//! server's store and DynamoDB Local dropping requests, losing answers after the write
//! and holding answers past the SDK's attempt timeout on a share of EVERY DynamoDB
//! call. Clients retry as the contract says (same `Idempotency-Key` after a 5xx).
//! Then, faults off: every 2xx effect exists exactly once, every 4xx effect does not,
//! an ambiguous one (5xx to the end) at most once and exactly once after a retry with
//! its key, and the invariants of API.md hold.
//!
//! `FAULT_OPS` (default 120) and `FAULT_SEED` (default 13) change the run; the faults
//! injected and the outcomes are printed (`cargo test -- --nocapture` shows them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kit::proxy::{Config, Fault, Proxy};
use kit::{allotment_body, tenant, TestRequest, TestResponse};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shared::http::{Ctx, Function};
use shared::store::Store;
use uuid::Uuid;

const CLIENTS: usize = 6;
const RETRIES: usize = 12;

/// What one client asked and what it finally heard.
#[derive(Debug, Clone)]
enum Op {
    Pickup {
        allotment: String,
        reference: String,
    },
    CancelPickup {
        allotment: String,
        pickup: String,
    },
    Allocation {
        memo: String,
    },
    Create {
        reference: String,
    },
    Cancel {
        allotment: String,
    },
    Release {
        allotment: String,
    },
    GroupResize,
}

#[derive(Debug, Clone)]
struct Outcome {
    op: Op,
    status: u16,
    data: Value,
    tries: usize,
}

/// A request the client can send again, byte for byte, under the same key.
#[derive(Clone)]
struct Call {
    event: &'static str,
    function: Function,
    path: Vec<(&'static str, String)>,
    body: Option<Value>,
    key: Option<String>,
}

impl Call {
    async fn send(&self, ctx: &Ctx, api_key: &str) -> TestResponse {
        let mut r = TestRequest::event(self.event).key(api_key);
        for (name, value) in &self.path {
            r = r.path_param(name, value);
        }
        r = match &self.body {
            Some(b) => r.json(b.clone()),
            None => r.raw_body(Vec::new(), None),
        };
        if let Some(k) = &self.key {
            r = r.header("idempotency-key", k);
        }
        r.send(&self.function, ctx).await
    }

    /// Sends until the answer is not a 5xx (or the retries run out).
    async fn until_answered(&self, ctx: &Ctx, api_key: &str) -> (TestResponse, usize) {
        let mut tries = 0;
        loop {
            tries += 1;
            let r = self.send(ctx, api_key).await;
            if r.status < 500 || tries >= RETRIES {
                return (r, tries);
            }
            tokio::time::sleep(Duration::from_millis(20 * tries as u64)).await;
        }
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A store whose client goes through the proxy, with short timeouts so that a held
/// answer is an attempt timeout (as it is on AWS with the deployed settings).
fn faulty_store(endpoint: &str, table: &str) -> Store {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_millis(400))
        .operation_timeout(Duration::from_millis(1500))
        .build();
    let conf = Store::local_config(endpoint)
        .timeout_config(timeouts)
        .build();
    Store::new(aws_sdk_dynamodb::Client::from_conf(conf), table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_effect_applies_exactly_once_under_store_faults() {
    let ops = env_or("FAULT_OPS", 120) as usize;
    let seed = env_or("FAULT_SEED", 13);
    let a = kit::acme().await;
    a.inventory("sgl", "2026-09-01", "2026-09-30", 30).await;
    let (direct, k, est) = (a.ctx.clone(), a.key.clone(), a.est);
    // Four allotments to pick up on, two of them members of a capacity group.
    let mut allotments = Vec::new();
    for i in 0..4 {
        let mut b = allotment_body(est);
        b["channelExternalId"] = json!(format!("SETUP-{i}"));
        b["unitAllocations"] =
            json!([{"unitTypeId": "dbl", "quantity": 4}, {"unitTypeId": "sgl", "quantity": 2}]);
        let r = TestRequest::event("create-allotment")
            .json(b)
            .key(&k)
            .send(&create_allotment::FUNCTION, &direct)
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
        allotments.push(r.data()["allotmentId"].as_str().unwrap().to_string());
    }
    let group = TestRequest::event("create-capacity-group")
        .json(json!({"establishmentId": est.to_string(), "name": "Faults", "periodFrom": "2026-09-01",
                     "periodTo": "2026-09-07", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}],
                     "cutoffDate": "2026-08-15", "allotmentIds": [allotments[0], allotments[1]]}))
        .key(&k)
        .send(&create_capacity_group::FUNCTION, &direct)
        .await;
    assert_eq!(group.status, 201, "{}", group.raw);
    let group_id: Uuid = group.data()["capacityGroupId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let proxy = Proxy::start_at(&kit::endpoint(), Config::default())
        .await
        .expect("start the proxy");
    let server = Ctx::with_now(
        faulty_store(&proxy.endpoint(), direct.store.table()),
        kit::now(),
    );
    proxy.set_config(Config::faults(
        seed,
        0.25,
        &[
            Fault::Drop,
            Fault::LoseAnswer,
            Fault::Delay(Duration::from_millis(600)),
        ],
    ));

    // A consumer follows the feed while the workload runs, with a settle delay longer
    // than a transaction of the faulty store can take (5 sends of at most 1.5 s).
    let settle = Duration::from_secs(9);
    let follower_store = direct.store.clone().with_event_settle(settle);
    let workload_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = {
        let (store, done) = (follower_store.clone(), workload_done.clone());
        tokio::spawn(async move {
            let (mut seen, mut at) = (Vec::new(), None);
            let mut finished_at = None;
            loop {
                let (events, next) = kit::follow(&store, &tenant("acme"), est, at, 25).await;
                seen.extend(events);
                at = Some(next);
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    let end = *finished_at.get_or_insert_with(std::time::Instant::now);
                    // Everything committed before the end is past the delay: read once more.
                    if end.elapsed() > settle + Duration::from_millis(500) {
                        let (events, _) = kit::follow(&store, &tenant("acme"), est, at, 25).await;
                        seen.extend(events);
                        return seen;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let outcomes: Arc<Mutex<Vec<(Outcome, Call)>>> = Arc::default();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (server, k, allotments, outcomes) = (
            server.clone(),
            k.clone(),
            allotments.clone(),
            outcomes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed * 100 + client as u64);
            let mut mine: Vec<(String, String)> = Vec::new();
            let mut created: Vec<String> = Vec::new();
            for i in 0..ops / CLIENTS {
                let tag = format!("F{seed}-{client}-{i}");
                let allotment = allotments[rng.gen_range(0..allotments.len())].clone();
                let (op, call) = match rng.gen_range(0..20) {
                    0..=6 => {
                        let day = rng.gen_range(1..=6);
                        let unit = if rng.gen_bool(0.8) { "dbl" } else { "sgl" };
                        let mut body = kit::pickup_body(
                            unit,
                            &format!("2026-09-{day:02}"),
                            &format!("2026-09-{:02}", day + rng.gen_range(1..=2)),
                            rng.gen_range(1..=2),
                        );
                        body["reservationRef"] = json!(tag);
                        let call = Call {
                            event: "create-pickup",
                            function: create_pickup::FUNCTION,
                            path: vec![("allotmentId", allotment.clone())],
                            body: Some(body),
                            key: Some(tag.clone()),
                        };
                        (Op::Pickup { allotment, reference: tag.clone() }, call)
                    }
                    7..=9 if !mine.is_empty() => {
                        let (allotment, pickup) = mine.remove(rng.gen_range(0..mine.len()));
                        let call = Call {
                            event: "cancel-pickup",
                            function: cancel_pickup::FUNCTION,
                            path: vec![("allotmentId", allotment.clone()), ("pickupId", pickup.clone())],
                            body: None,
                            key: Some(tag.clone()),
                        };
                        (Op::CancelPickup { allotment, pickup }, call)
                    }
                    10..=12 => {
                        let day = rng.gen_range(1..=7);
                        let body = json!({"unitTypeId": "dbl", "quantity": rng.gen_range(3..=7),
                                          "from": format!("2026-09-{day:02}"), "to": format!("2026-09-{day:02}"), "memo": tag});
                        let call = Call {
                            event: "create-allocation",
                            function: create_allocation::FUNCTION,
                            path: vec![("allotmentId", allotment)],
                            body: Some(body),
                            key: Some(tag.clone()),
                        };
                        (Op::Allocation { memo: tag.clone() }, call)
                    }
                    13..=15 => {
                        let mut b = allotment_body(est);
                        b["channelExternalId"] = json!(tag);
                        b["unitAllocations"] = json!([{"unitTypeId": "sgl", "quantity": 1}]);
                        let call = Call {
                            event: "create-allotment",
                            function: create_allotment::FUNCTION,
                            path: vec![],
                            body: Some(b),
                            key: Some(tag.clone()),
                        };
                        (Op::Create { reference: tag.clone() }, call)
                    }
                    16 | 17 if !created.is_empty() => {
                        let allotment = created.remove(rng.gen_range(0..created.len()));
                        let (event, function, op) = if rng.gen_bool(0.5) {
                            ("cancel-allotment", cancel_allotment::FUNCTION, Op::Cancel { allotment: allotment.clone() })
                        } else {
                            ("release-allotment", release_allotment::FUNCTION, Op::Release { allotment: allotment.clone() })
                        };
                        let call = Call {
                            event,
                            function,
                            path: vec![("allotmentId", allotment)],
                            body: None,
                            key: Some(tag.clone()),
                        };
                        (op, call)
                    }
                    _ => {
                        let body = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": rng.gen_range(3..=6)}]});
                        let call = Call {
                            event: "patch-capacity-group",
                            function: patch_capacity_group::FUNCTION,
                            path: vec![("capacityGroupId", group_id.to_string())],
                            body: Some(body),
                            key: None,
                        };
                        (Op::GroupResize, call)
                    }
                };
                let (r, tries) = call.until_answered(&server, &k).await;
                match (&op, r.status) {
                    (Op::Pickup { allotment, .. }, 201) => mine.push((
                        allotment.clone(),
                        r.data()["pickupId"].as_str().unwrap().to_string(),
                    )),
                    (Op::Create { .. }, 201) => {
                        created.push(r.data()["allotmentId"].as_str().unwrap().to_string())
                    }
                    _ => {}
                }
                let data = if r.status < 300 { r.data().clone() } else { r.body.clone() };
                let outcome = Outcome { op, status: r.status, data, tries };
                outcomes.lock().unwrap().push((outcome, call));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = proxy.stats();
    proxy.set_config(Config::default());

    // Ambiguous to the end: retried now, faults off, with the same key.
    let mut outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let mut ambiguous = 0;
    for (outcome, call) in outcomes.iter_mut() {
        if outcome.status >= 500 {
            ambiguous += 1;
            let (r, _) = call.until_answered(&server, &k).await;
            assert!(r.status < 500, "faults off, still {}", r.raw);
            outcome.status = r.status;
            outcome.data = if r.status < 300 {
                r.data().clone()
            } else {
                r.body.clone()
            };
        }
    }

    // What exists now, read directly (faults off).
    let t = tenant("acme");
    let (records, _) = direct
        .store
        .list_allotments(&t, est, &Default::default(), 1000, None)
        .await
        .unwrap();

    // The feed: the consumer that followed it during the faults saw every event once
    // (nothing missing, nothing doubled, each subject in order), and replaying it
    // rebuilds every allotment's nights.
    workload_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let followed = follower.await.unwrap();
    let replayed = kit::feed(&direct.store, &t, est, 100).await;
    assert_eq!(
        followed.len(),
        replayed.len(),
        "the follower missed or doubled events"
    );
    assert_eq!(followed, replayed);
    let ids: Vec<Uuid> = records.iter().map(|r| r.allotment_id).collect();
    kit::assert_rebuilds(&direct.store, &t, &replayed, &ids).await;
    println!("feed: {} events followed during the faults", followed.len());
    let mut pickups_by_ref: BTreeMap<String, Vec<(String, shared::domain::pickup::Pickup)>> =
        BTreeMap::new();
    let mut memos: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_reference: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for r in &records {
        let (list, _) = direct
            .store
            .list_pickups(&t, r.allotment_id, 10_000, None)
            .await
            .unwrap();
        for p in list {
            pickups_by_ref
                .entry(p.reservation_ref.clone())
                .or_default()
                .push((r.allotment_id.to_string(), p));
        }
        for e in kit::allocation_history(&direct.store, &t, r.allotment_id)
            .await
            .unwrap()
        {
            if let Some(m) = e.memo {
                *memos.entry(m).or_default() += 1;
            }
        }
        if let Some(reference) = &r.terms.channel_external_id {
            by_reference
                .entry(reference.clone())
                .or_default()
                .push(r.allotment_id);
        }
    }

    let mut tally: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for (o, _) in &outcomes {
        let (name, effects) = match &o.op {
            Op::Pickup { reference, .. } => {
                let found = pickups_by_ref.get(reference).map(Vec::len).unwrap_or(0);
                if o.status == 201 {
                    let (_, p) = &pickups_by_ref[reference][0];
                    assert_eq!(p.pickup_id.to_string(), o.data["pickupId"], "{o:?}");
                }
                ("pickup", found)
            }
            Op::CancelPickup { allotment, pickup } => {
                let p = direct
                    .store
                    .get_pickup(&t, allotment.parse().unwrap(), pickup.parse().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                let cancelled = p.status == shared::domain::pickup::PickupStatus::Cancelled;
                ("cancel-pickup", usize::from(cancelled))
            }
            Op::Allocation { memo, .. } => ("allocation", memos.get(memo).copied().unwrap_or(0)),
            Op::Create { reference } => {
                let found = by_reference.get(reference).cloned().unwrap_or_default();
                if o.status == 201 {
                    assert_eq!(found[0].to_string(), o.data["allotmentId"], "{o:?}");
                }
                ("create", found.len())
            }
            Op::Cancel { allotment } | Op::Release { allotment } => {
                let id: Uuid = allotment.parse().unwrap();
                let r = records.iter().find(|r| r.allotment_id == id).unwrap();
                let name = if matches!(o.op, Op::Cancel { .. }) {
                    "cancel"
                } else {
                    "release"
                };
                let want = if name == "cancel" {
                    shared::domain::allotment::Status::Cancelled
                } else {
                    shared::domain::allotment::Status::Released
                };
                (name, usize::from(r.status == want))
            }
            Op::GroupResize => {
                // A resize sets a quantity (a repeat is the same resize): checked by
                // the invariants below, not counted.
                *tally.entry(("group-resize", o.status)).or_default() += 1;
                continue;
            }
        };
        *tally.entry((name, o.status)).or_default() += 1;
        match o.status {
            200..=299 => assert_eq!(effects, 1, "a 2xx takes effect exactly once: {o:?}"),
            _ => assert_eq!(effects, 0, "a refusal leaves nothing: {o:?}"),
        }
    }
    kit::check_invariants(
        &direct.store,
        "acme",
        est,
        Some(group_id),
        "2026-09-01",
        "2026-09-30",
    )
    .await;
    let retried = outcomes.iter().filter(|(o, _)| o.tries > 1).count();
    println!(
        "faults: seed {seed}, {ops} operations, {stats}; {retried} retried, {ambiguous} still 5xx at the end (settled after); outcomes {tally:?}"
    );
    assert!(stats.faults_total() > 0, "faults were injected");
}
