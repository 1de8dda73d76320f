//! A seeded, reproducible random workload: several tasks interleave creations,
//! cancellations, manual releases, inventory changes, allocation changes, pickups and
//! pickup cancels through the handlers, and every invariant of API.md is checked
//! after each round.

use std::sync::{Arc, Mutex};

use kit::{allotment_body, tenant, Acme, TestRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use shared::domain::allotment::Status;
use uuid::Uuid;

const UNITS: [&str; 2] = ["dbl", "sgl"];
const SEED: u64 = 20261123;

async fn check_invariants(a: &Acme, group: Uuid) {
    let (from, to) = ("2026-09-01", "2026-09-30");
    kit::check_invariants(&a.ctx.store, "acme", a.est, Some(group), from, to).await;
}

/// The pickups made (allotment, pickup), and how many drew on the group (some must,
/// for the test to mean anything).
#[derive(Default)]
struct Pickups {
    made: Mutex<Vec<(String, String)>>,
    group_draws: std::sync::atomic::AtomicUsize,
    /// Member lists of 60 or more applied (changes in steps, most of them).
    large_member_lists: std::sync::atomic::AtomicUsize,
}

/// Replaces the group's members with a few known allotments (now and then with 60 to
/// 100 of the crowd besides: a change in steps), or resizes it.
async fn group_op(
    a: &Acme,
    group: Uuid,
    rng: &mut StdRng,
    known: &Mutex<Vec<String>>,
    crowd: &[String],
) -> bool {
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
                a.ctx.store.load_allotment(&tenant("acme"), id.parse().unwrap()).await,
                Ok(Some((r, _))) if r.status == Status::Active
            );
            if active || rng.gen_bool(0.05) {
                members.push(id);
            }
        }
        if rng.gen_bool(0.3) {
            let many = rng.gen_range(60..=100 - members.len().min(40));
            let mut from_crowd: Vec<String> = crowd.to_vec();
            while from_crowd.len() > many {
                from_crowd.swap_remove(rng.gen_range(0..from_crowd.len()));
            }
            members.extend(from_crowd);
        }
        members.sort();
        members.dedup();
        json!({"allotmentIds": members})
    } else {
        json!({"unitAllocations": [{"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(1..=4)}]})
    };
    let large = body["allotmentIds"]
        .as_array()
        .is_some_and(|m| m.len() >= 60);
    let req = TestRequest::on_group("patch-capacity-group", &group.to_string()).json(body);
    let r = a.call(req, &patch_capacity_group::FUNCTION).await;
    // 503: refused under contention with the pickups drawing on the group (nothing
    // written; the invariants check that too).
    r.assert_among(
        &[
            (200, ""),
            (400, "VALIDATION_ERROR"),
            (409, "INSUFFICIENT_CAPACITY"),
            (409, "BELOW_PICKED_UP"),
            (503, "UNAVAILABLE"),
        ],
        "group",
    );
    large && r.status == 200
}

async fn op(a: &Acme, rng: &mut StdRng, known: &Mutex<Vec<String>>, pickups: &Pickups) {
    let (ctx, est) = (&a.ctx, a.est);
    let pick = |rng: &mut StdRng, known: &Mutex<Vec<String>>| {
        let ids = known.lock().unwrap();
        (!ids.is_empty()).then(|| ids[rng.gen_range(0..ids.len())].clone())
    };
    let night = |rng: &mut StdRng| format!("2026-09-{:02}", rng.gen_range(1..=30));
    match rng.gen_range(0..16) {
        10 | 11 => {
            let Some(id) = pick(rng, known) else { return };
            let (first, second) = (night(rng), night(rng));
            let (from, to) = if first <= second {
                (first, second)
            } else {
                (second, first)
            };
            let body = json!({"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(0..=5), "from": from, "to": to});
            let req = TestRequest::on_allotment("create-allocation", &id).json(body);
            let r = a.call(req, &create_allocation::FUNCTION).await;
            r.assert_among(
                &[
                    (201, ""),
                    (400, "VALIDATION_ERROR"),
                    (409, "INSUFFICIENT_CAPACITY"),
                    (409, "BELOW_PICKED_UP"),
                    (409, "INVALID_STATE"),
                ],
                "allocation",
            );
        }
        12..=14 => {
            // Half the time a member of the capacity group, so that some draw on it.
            let members = match ctx.store.list_groups(&tenant("acme"), est, (1, None)).await {
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
            let body = kit::pickup_body(
                &unit,
                &arrival.to_string(),
                &departure.to_string(),
                rng.gen_range(1..=3),
            );
            let req = TestRequest::on_allotment("create-pickup", &id).json(body);
            let r = a.call(req, &create_pickup::FUNCTION).await;
            match (r.status, r.code()) {
                (201, _) if r.data().get("capacityGroupId").is_some() => {
                    pickups
                        .group_draws
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    pickups
                        .made
                        .lock()
                        .unwrap()
                        .push((id, r.data()["pickupId"].as_str().unwrap().to_string()))
                }
                (201, _) => pickups
                    .made
                    .lock()
                    .unwrap()
                    .push((id, r.data()["pickupId"].as_str().unwrap().to_string())),
                (400, "VALIDATION_ERROR") | (409, "ALLOTMENT_EXHAUSTED" | "INVALID_STATE") => {}
                other => panic!("pickup: {other:?} {}", r.raw),
            }
        }
        15 => {
            let chosen = {
                let list = pickups.made.lock().unwrap();
                (!list.is_empty()).then(|| list[rng.gen_range(0..list.len())].clone())
            };
            let Some((id, pickup)) = chosen else { return };
            let req =
                TestRequest::on_allotment("cancel-pickup", &id).path_param("pickupId", &pickup);
            let r = a.call(req.empty(), &cancel_pickup::FUNCTION).await;
            assert_eq!(r.status, 200, "pickup cancel: {}", r.raw);
        }
        0..=4 => {
            let start = rng.gen_range(1..=28);
            let end = (start + rng.gen_range(0..6)).min(30);
            let mut b = allotment_body(est);
            b["periodFrom"] = json!(format!("2026-09-{start:02}"));
            b["periodTo"] = json!(format!("2026-09-{end:02}"));
            b["unitAllocations"] = json!([{"unitTypeId": UNITS[rng.gen_range(0..2)], "quantity": rng.gen_range(1..=4)}]);
            let r = a
                .call(
                    TestRequest::event("create-allotment").json(b),
                    &create_allotment::FUNCTION,
                )
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
            let req = TestRequest::on_allotment("cancel-allotment", &id).empty();
            let r = a.call(req, &cancel_allotment::FUNCTION).await;
            let allowed = [
                (200, ""),
                (409, "INVALID_STATE"),
                (409, "ALLOTMENT_HAS_PICKUPS"),
            ];
            r.assert_among(&allowed, "cancel");
        }
        7 => {
            let Some(id) = pick(rng, known) else { return };
            let req = TestRequest::on_allotment("release-allotment", &id).empty();
            let r = a.call(req, &release_allotment::FUNCTION).await;
            r.assert_among(&[(200, ""), (409, "INVALID_STATE")], "release");
        }
        _ => {
            let start = rng.gen_range(1..=30);
            let end = rng.gen_range(start..=30);
            let body = json!({"unitTypeId": UNITS[rng.gen_range(0..2)], "from": format!("2026-09-{start:02}"),
                              "to": format!("2026-09-{end:02}"), "capacity": rng.gen_range(0..=12)});
            let req = TestRequest::event("put-inventory")
                .establishment(est)
                .json(body);
            let r = a.call(req, &put_inventory::FUNCTION).await;
            let allowed = [(200, ""), (409, "CAPACITY_BELOW_ALLOTTED")];
            r.assert_among(&allowed, "inventory");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_interleavings_keep_every_invariant() {
    workload(kit::bare_acme().await).await;
}

/// The same workload through the fault proxy's conflict rule (the real service's:
/// transactions in flight ≥ 10 ms, one meeting another cancelled at once), which
/// DynamoDB Local alone never shows: every answer is still one the contract allows,
/// and every invariant holds after each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_interleavings_keep_every_invariant_under_the_conflict_rule() {
    let (ctx, proxy) = kit::conflicting_ctx().await;
    workload(kit::acme_on(ctx).await).await;
    let stats = proxy.stats();
    println!("{stats}");
    assert!(
        stats.conflicts_total() > 0,
        "the rule must have met conflicts"
    );
}

async fn workload(a: kit::Acme) {
    for u in UNITS {
        a.inventory(u, "2026-09-01", "2026-09-30", 8).await;
    }
    // One capacity group over the month; its members and size change as tasks run.
    let body = json!({"establishmentId": a.est.to_string(), "name": "Shared", "periodFrom": "2026-09-01",
                      "periodTo": "2026-09-30", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}, {"unitTypeId": "sgl", "quantity": 3}],
                      "cutoffDate": "2026-08-15"});
    let created = a
        .call(
            TestRequest::event("create-capacity-group").json(body),
            &create_capacity_group::FUNCTION,
        )
        .await;
    let group: Uuid = created.expect(201)["capacityGroupId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A crowd of 100 allotments (1 room of "twn" over the month, no pickups) that large
    // member lists draw from.
    a.inventory("twn", "2026-09-01", "2026-09-30", 100).await;
    let mut crowd = Vec::new();
    for _ in 0..100 {
        let body = json!({"periodFrom": "2026-09-01", "periodTo": "2026-09-30",
                          "unitAllocations": [{"unitTypeId": "twn", "quantity": 1}]});
        crowd.push(a.allotment(body).await);
    }
    let crowd = Arc::new(crowd);
    let known = Arc::new(Mutex::new(Vec::new()));
    let pickups: Arc<Pickups> = Arc::default();
    const TASKS: u64 = 4;
    const ROUNDS: u64 = 12;
    const OPS: usize = 10;
    // A consumer follows the feed between rounds, from where it stopped.
    let (mut followed, mut at) = (Vec::new(), None);
    for round in 0..ROUNDS {
        let with = (a.clone(), known.clone(), pickups.clone(), crowd.clone());
        kit::concurrently(
            TASKS as usize,
            &with,
            |(a, known, pickups, crowd), task| async move {
                let mut rng = StdRng::seed_from_u64(SEED + round * TASKS + task as u64);
                for _ in 0..OPS {
                    if rng.gen_bool(0.2) {
                        if group_op(&a, group, &mut rng, &known, &crowd).await {
                            pickups
                                .large_member_lists
                                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    } else {
                        op(&a, &mut rng, &known, &pickups).await;
                    }
                }
            },
        )
        .await;
        check_invariants(&a, group).await;
        let (events, next) = kit::follow(&a.ctx.store, &tenant("acme"), a.est, at, 7).await;
        followed.extend(events);
        at = Some(next);
    }
    // Replaying the feed from the start rebuilds every allotment's nights, and the
    // consumer that followed it saw exactly the same events.
    let replayed = kit::feed(&a.ctx.store, &tenant("acme"), a.est, 100).await;
    assert_eq!(
        followed, replayed,
        "following and replaying see the same events"
    );
    let allotments: Vec<Uuid> = known
        .lock()
        .unwrap()
        .iter()
        .chain(crowd.iter())
        .map(|id| id.parse().unwrap())
        .collect();
    kit::assert_rebuilds(&a.ctx.store, &tenant("acme"), &replayed, &allotments).await;
    println!("{} events replayed", replayed.len());
    assert!(
        known.lock().unwrap().len() > 10,
        "the workload must create allotments"
    );
    assert!(
        pickups.made.lock().unwrap().len() > 10,
        "the workload must pick up rooms"
    );
    let draws = pickups
        .group_draws
        .load(std::sync::atomic::Ordering::SeqCst);
    println!("{draws} pickups drew on the capacity group");
    assert!(draws > 0, "some pickups must draw on the group");
    let large = pickups
        .large_member_lists
        .load(std::sync::atomic::Ordering::SeqCst);
    println!("{large} member lists of 60 or more applied");
    assert!(large > 0, "some large member lists must be applied");
    println!(
        "{} allotments and {} pickups created over {} operations",
        known.lock().unwrap().len(),
        pickups.made.lock().unwrap().len(),
        TASKS * ROUNDS * OPS as u64
    );
}
