//! A seeded, reproducible random workload: several tasks interleave creations,
//! cancellations, manual releases and inventory changes through the handlers, and
//! every invariant of API.md is checked after each round.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use shared::domain::allotment::Status;
use shared::domain::dates::NightRange;
use shared::http::Ctx;
use shared::store::AllotmentFilter;
use shared::testing::{self, allotment_body, date, key, tenant, TestRequest};
use uuid::Uuid;

const UNITS: [&str; 2] = ["dbl", "sgl"];
const SEED: u64 = 20261123;

async fn check_invariants(ctx: &Ctx, est: Uuid) {
    let t = tenant("acme");
    let range = NightRange::new(date("2026-09-01"), date("2026-09-30"), 31).unwrap();
    let pool = ctx.store.read_pool(&t, est, None, &range).await.unwrap();
    let (records, next) = ctx
        .store
        .list_allotments(&t, est, &AllotmentFilter::default(), 1000, None)
        .await
        .unwrap();
    assert!(next.is_none());
    let mut held: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    for r in &records {
        let (record, grid) = ctx
            .store
            .require_allotment(&t, r.allotment_id)
            .await
            .unwrap();
        for ((ut, d), n) in &grid {
            assert!(
                0 <= n.picked_up && n.picked_up <= n.allocated,
                "{} {ut} {d}: {n:?}",
                record.allotment_id
            );
            if record.status == Status::Cancelled {
                assert_eq!(n.allocated, 0, "a cancelled allotment holds nothing");
            } else {
                *held.entry((ut.to_string(), *d)).or_default() += n.allocated;
            }
            if record.is_night_released(*d) {
                assert_eq!(
                    n.allocated, n.picked_up,
                    "a released night keeps only picked-up rooms"
                );
            }
        }
    }
    for (ut, d, n) in &pool {
        assert!(n.is_consistent(), "{ut} {d}: {n:?}");
        let expect = held.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.allotted, expect,
            "{ut} {d}: pool.allotted = sum of holdings"
        );
    }
    for ((ut, d), q) in &held {
        if *q > 0 {
            assert!(
                pool.iter().any(|(u, pd, _)| u.as_str() == ut && pd == d),
                "{ut} {d} held outside the pool"
            );
        }
    }
}

async fn op(ctx: &Ctx, k: &str, est: Uuid, rng: &mut StdRng, known: &Mutex<Vec<String>>) {
    let pick = |rng: &mut StdRng, known: &Mutex<Vec<String>>| {
        let ids = known.lock().unwrap();
        (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone())
    };
    match rng.gen_range(0..10) {
        0..=4 => {
            let start = rng.gen_range(1..=28);
            let end = (start + rng.gen_range(0..6)).min(30);
            let mut b = allotment_body(est);
            b["periodFrom"] = json!(format!("2026-09-{start:02}"));
            b["periodTo"] = json!(format!("2026-09-{end:02}"));
            b["unitAllocations"] = json!([{"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(1..=4)}]);
            let r = TestRequest::event("create-allotment")
                .json(b)
                .key(k)
                .send(&create_allotment::FUNCTION, ctx)
                .await;
            match (r.status, r.code()) {
                (201, _) => known
                    .lock()
                    .unwrap()
                    .push(r.data()["allotmentId"].as_str().unwrap().to_string()),
                (409, "INSUFFICIENT_CAPACITY") => {}
                other => panic!("create: {other:?} {}", r.raw),
            }
        }
        5 | 6 => {
            let Some(id) = pick(rng, known) else { return };
            let r = TestRequest::event("cancel-allotment")
                .path_param("allotmentId", &id)
                .raw_body(Vec::new(), None)
                .key(k)
                .send(&cancel_allotment::FUNCTION, ctx)
                .await;
            assert!(
                matches!((r.status, r.code()), (200, _) | (409, "INVALID_STATE")),
                "cancel: {}",
                r.raw
            );
        }
        7 => {
            let Some(id) = pick(rng, known) else { return };
            let r = TestRequest::event("release-allotment")
                .path_param("allotmentId", &id)
                .raw_body(Vec::new(), None)
                .key(k)
                .send(&release_allotment::FUNCTION, ctx)
                .await;
            assert!(
                matches!((r.status, r.code()), (200, _) | (409, "INVALID_STATE")),
                "release: {}",
                r.raw
            );
        }
        _ => {
            let start = rng.gen_range(1..=30);
            let end = rng.gen_range(start..=30);
            let body = json!({"unitTypeId": UNITS[rng.gen_range(0..2)], "from": format!("2026-09-{start:02}"),
                              "to": format!("2026-09-{end:02}"), "capacity": rng.gen_range(0..=12)});
            let r = TestRequest::event("put-inventory")
                .establishment(est)
                .json(body)
                .key(k)
                .send(&put_inventory::FUNCTION, ctx)
                .await;
            assert!(
                matches!(
                    (r.status, r.code()),
                    (200, _) | (409, "CAPACITY_BELOW_ALLOTTED")
                ),
                "inventory: {}",
                r.raw
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_interleavings_keep_every_invariant() {
    let ctx = testing::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::establishment(&ctx.store, "acme").await;
    for u in UNITS {
        testing::inventory(&ctx.store, "acme", est, u, "2026-09-01", "2026-09-30", 8).await;
    }
    let known = Arc::new(Mutex::new(Vec::new()));
    const TASKS: u64 = 4;
    const ROUNDS: u64 = 10;
    const OPS: usize = 8;
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let (ctx, k, known) = (ctx.clone(), k.clone(), known.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(SEED + round * TASKS + task);
                for _ in 0..OPS {
                    op(&ctx, &k, est, &mut rng, &known).await;
                }
            }));
        }
        for t in tasks {
            t.await
                .expect("a task failed: see its message (seed in the test)");
        }
        check_invariants(&ctx, est).await;
    }
    assert!(
        known.lock().unwrap().len() > 10,
        "the workload must create allotments"
    );
    println!(
        "{} allotments created over {} operations",
        known.lock().unwrap().len(),
        TASKS * ROUNDS * OPS as u64
    );
}
