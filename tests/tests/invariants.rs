//! A seeded, reproducible random workload: several tasks interleave creations,
//! cancellations, manual releases, inventory changes, allocation changes, pickups and
//! pickup cancels through the handlers, and every invariant of API.md is checked
//! after each round.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use shared::domain::allotment::Status;
use shared::domain::dates::NightRange;
use shared::domain::pickup::PickupStatus;
use shared::http::Ctx;
use shared::store::AllotmentFilter;
use shared::testing::{self, allotment_body, date, key, tenant, TestRequest};
use uuid::Uuid;

const UNITS: [&str; 2] = ["dbl", "sgl"];
const SEED: u64 = 20261123;

async fn check_invariants(ctx: &Ctx, est: Uuid, group: Uuid) {
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
    let mut picked: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    // The group's rooms count in the pool; its `used` is what active pickups drew.
    let g = ctx.store.require_group(&t, group).await.unwrap();
    let mut drawn: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    for ((ut, d), n) in &g.grid {
        assert!(0 <= n.used && n.used <= n.shared, "group {ut} {d}: {n:?}");
        *held.entry((ut.to_string(), *d)).or_default() += n.shared;
    }
    let mut draws_active = 0;
    for r in &records {
        let (record, grid) = ctx
            .store
            .require_allotment(&t, r.allotment_id)
            .await
            .unwrap();
        // 3. the active pickups add up to `pickedUp`, night by night.
        let (pickups, more) = ctx
            .store
            .list_pickups(&t, r.allotment_id, 10_000, None)
            .await
            .unwrap();
        assert!(more.is_none());
        let mut from_pickups: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
        let mut active = 0;
        for p in pickups.iter().filter(|p| p.status == PickupStatus::Active) {
            active += 1;
            if p.capacity_group_id == Some(group) {
                draws_active += 1;
                for draw in &p.from_group {
                    *drawn
                        .entry((p.unit_type_id.clone(), draw.date))
                        .or_default() += draw.quantity;
                }
            }
            for d in p.nights().unwrap().iter() {
                *from_pickups.entry((p.unit_type_id.clone(), d)).or_default() += p.quantity;
            }
        }
        assert_eq!(record.active_pickups, active, "{}", record.allotment_id);
        for ((ut, d), n) in &grid {
            let want = from_pickups
                .get(&(ut.to_string(), *d))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                n.picked_up, want,
                "{} {ut} {d}: pickedUp = sum of active pickups",
                record.allotment_id
            );
            *picked.entry((ut.to_string(), *d)).or_default() += n.picked_up;
        }
        for ((ut, d), n) in &grid {
            assert!(
                0 <= n.picked_up && n.own_picked_up() <= n.allocated && n.from_group <= n.picked_up,
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
                    n.allocated,
                    n.own_picked_up(),
                    "a released night keeps only its own picked-up rooms"
                );
            }
        }
    }
    assert_eq!(
        g.active_draws, draws_active,
        "activeDraws = pickups drawing on the group"
    );
    for ((ut, d), n) in &g.grid {
        let want = drawn.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.used, want,
            "group {ut} {d}: used = what active pickups drew"
        );
    }
    for (ut, d, n) in &pool {
        assert!(n.is_consistent(), "{ut} {d}: {n:?}");
        let expect = held.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.allotted, expect,
            "{ut} {d}: pool.allotted = sum of holdings"
        );
        let expect = picked.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.picked_up, expect,
            "{ut} {d}: pool.pickedUp = sum of pickups"
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

type Pickups = Mutex<Vec<(String, String)>>;

/// Pickups that drew on the group (some must, for the test to mean anything).
static GROUP_DRAWS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Replaces the group's members with a few known allotments, or resizes it.
async fn group_op(ctx: &Ctx, k: &str, group: Uuid, rng: &mut StdRng, known: &Mutex<Vec<String>>) {
    let body = if rng.gen_bool(0.7) {
        // Mostly active allotments (a cancelled or released one makes it a 400).
        let candidates: Vec<String> = known.lock().unwrap().clone();
        let mut members = Vec::new();
        for _ in 0..rng.gen_range(1..6) {
            if candidates.is_empty() {
                break;
            }
            let id = candidates[rng.gen_range(0..candidates.len())].clone();
            let active = matches!(
                ctx.store.load_allotment(&tenant("acme"), id.parse().unwrap()).await,
                Ok(Some((r, _))) if r.status == Status::Active
            );
            if active || rng.gen_bool(0.05) {
                members.push(id);
            }
        }
        members.sort();
        members.dedup();
        json!({"allotmentIds": members})
    } else {
        json!({"unitAllocations": [{"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(1..=4)}]})
    };
    let r = TestRequest::event("patch-capacity-group")
        .path_param("capacityGroupId", &group.to_string())
        .json(body)
        .key(k)
        .send(&patch_capacity_group::FUNCTION, ctx)
        .await;
    // 503: refused under contention with the pickups drawing on the group (nothing
    // written; the invariants check that too).
    assert!(
        matches!(
            (r.status, r.code()),
            (200, _)
                | (400, "VALIDATION_ERROR")
                | (409, "INSUFFICIENT_CAPACITY" | "BELOW_PICKED_UP")
                | (503, "UNAVAILABLE")
        ),
        "group: {}",
        r.raw
    );
}

async fn op(
    ctx: &Ctx,
    k: &str,
    est: Uuid,
    rng: &mut StdRng,
    known: &Mutex<Vec<String>>,
    pickups: &Pickups,
) {
    let pick = |rng: &mut StdRng, known: &Mutex<Vec<String>>| {
        let ids = known.lock().unwrap();
        (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone())
    };
    let night = |rng: &mut StdRng| format!("2026-09-{:02}", rng.gen_range(1..=30));
    match rng.gen_range(0..16) {
        10 | 11 => {
            let Some(id) = pick(rng, known) else { return };
            let (a, b) = (night(rng), night(rng));
            let (from, to) = if a <= b { (a, b) } else { (b, a) };
            let body = json!({"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(0..=5), "from": from, "to": to});
            let r = TestRequest::event("create-allocation")
                .path_param("allotmentId", &id)
                .json(body)
                .key(k)
                .send(&create_allocation::FUNCTION, ctx)
                .await;
            assert!(
                matches!(
                    (r.status, r.code()),
                    (201, _)
                        | (400, "VALIDATION_ERROR")
                        | (
                            409,
                            "INSUFFICIENT_CAPACITY" | "BELOW_PICKED_UP" | "INVALID_STATE"
                        )
                ),
                "allocation: {}",
                r.raw
            );
        }
        12..=14 => {
            // Half the time a member of the capacity group, so that some draw on it.
            let members = match ctx.store.list_groups(&tenant("acme"), est, 1, None).await {
                Ok((ids, _)) if !ids.is_empty() => ctx
                    .store
                    .require_group(&tenant("acme"), ids[0])
                    .await
                    .map(|g| g.record.allotment_ids)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let chosen = if !members.is_empty() && rng.gen_bool(0.5) {
                Some(members[rng.gen_range(0..members.len())].to_string())
            } else {
                pick(rng, known)
            };
            let Some(id) = chosen else { return };
            // Mostly a unit type it holds, inside its period; sometimes not.
            let Ok((record, grid)) = ctx
                .store
                .require_allotment(&tenant("acme"), id.parse().unwrap())
                .await
            else {
                return;
            };
            let held: Vec<String> = grid.keys().map(|(u, _)| u.to_string()).collect();
            let unit = if rng.gen_bool(0.9) && !held.is_empty() {
                held[rng.gen_range(0..held.len())].clone()
            } else {
                UNITS[rng.gen_range(0..2)].to_string()
            };
            let span = (record.period_to - record.period_from).num_days();
            let arrival = record.period_from + chrono::Duration::days(rng.gen_range(0..=span));
            let last = (record.period_to - arrival).num_days() + 1 + i64::from(rng.gen_bool(0.1));
            let departure = arrival + chrono::Duration::days(rng.gen_range(1..=last.max(1)));
            let body = testing::pickup_body(
                &unit,
                &arrival.to_string(),
                &departure.to_string(),
                rng.gen_range(1..=3),
            );
            let r = TestRequest::event("create-pickup")
                .path_param("allotmentId", &id)
                .json(body)
                .key(k)
                .send(&create_pickup::FUNCTION, ctx)
                .await;
            match (r.status, r.code()) {
                (201, _) if r.data().get("capacityGroupId").is_some() => {
                    GROUP_DRAWS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    pickups
                        .lock()
                        .unwrap()
                        .push((id, r.data()["pickupId"].as_str().unwrap().to_string()))
                }
                (201, _) => pickups
                    .lock()
                    .unwrap()
                    .push((id, r.data()["pickupId"].as_str().unwrap().to_string())),
                (400, "VALIDATION_ERROR") | (409, "ALLOTMENT_EXHAUSTED" | "INVALID_STATE") => {}
                other => panic!("pickup: {other:?} {}", r.raw),
            }
        }
        15 => {
            let chosen = {
                let list = pickups.lock().unwrap();
                (!list.is_empty()).then(|| list[rng.gen_range(0..list.len())].clone())
            };
            let Some((id, pickup)) = chosen else { return };
            let r = TestRequest::event("cancel-pickup")
                .path_param("allotmentId", &id)
                .path_param("pickupId", &pickup)
                .raw_body(Vec::new(), None)
                .key(k)
                .send(&cancel_pickup::FUNCTION, ctx)
                .await;
            assert_eq!(r.status, 200, "pickup cancel: {}", r.raw);
        }
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
                matches!(
                    (r.status, r.code()),
                    (200, _) | (409, "INVALID_STATE" | "ALLOTMENT_HAS_PICKUPS")
                ),
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
    // One capacity group over the month; its members and size change as tasks run.
    let body = json!({"establishmentId": est.to_string(), "name": "Shared", "periodFrom": "2026-09-01",
                      "periodTo": "2026-09-30", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}, {"unitTypeId": "sgl", "quantity": 3}],
                      "cutoffDate": "2026-08-15"});
    let created = TestRequest::event("create-capacity-group")
        .json(body)
        .key(&k)
        .send(&create_capacity_group::FUNCTION, &ctx)
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let group: Uuid = created.data()["capacityGroupId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let known = Arc::new(Mutex::new(Vec::new()));
    let pickups: Arc<Pickups> = Arc::new(Mutex::new(Vec::new()));
    const TASKS: u64 = 4;
    const ROUNDS: u64 = 12;
    const OPS: usize = 10;
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let (ctx, k, known, pickups) = (ctx.clone(), k.clone(), known.clone(), pickups.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(SEED + round * TASKS + task);
                for _ in 0..OPS {
                    if rng.gen_bool(0.2) {
                        group_op(&ctx, &k, group, &mut rng, &known).await;
                    } else {
                        op(&ctx, &k, est, &mut rng, &known, &pickups).await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await
                .expect("a task failed: see its message (seed in the test)");
        }
        check_invariants(&ctx, est, group).await;
    }
    assert!(
        known.lock().unwrap().len() > 10,
        "the workload must create allotments"
    );
    assert!(
        pickups.lock().unwrap().len() > 10,
        "the workload must pick up rooms"
    );
    let draws = GROUP_DRAWS.load(std::sync::atomic::Ordering::SeqCst);
    println!("{draws} pickups drew on the capacity group");
    assert!(draws > 0, "some pickups must draw on the group");
    println!(
        "{} allotments and {} pickups created over {} operations",
        known.lock().unwrap().len(),
        pickups.lock().unwrap().len(),
        TASKS * ROUNDS * OPS as u64
    );
}
