//! The month-bucket pool on DynamoDB Local.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use kit::NightHold;
use kit::{date, tenant};
use shared::domain::dates::NightRange;
use shared::domain::error::ApiError;
use shared::domain::ids::UnitTypeId;
use shared::domain::inventory::{InventoryChange, PoolNight};

fn ut(s: &str) -> UnitTypeId {
    UnitTypeId::parse(s).unwrap()
}

fn change(unit: &str, from: &str, to: &str, capacity: i64) -> InventoryChange {
    InventoryChange {
        unit_type_id: ut(unit),
        range: NightRange::new(date(from), date(to), 731).unwrap(),
        capacity,
    }
}

fn holds(unit: &str, from: &str, to: &str, quantity: i64) -> Vec<NightHold> {
    NightRange::new(date(from), date(to), 731)
        .unwrap()
        .iter()
        .map(|d| NightHold {
            unit_type_id: ut(unit),
            date: d,
            quantity,
        })
        .collect()
}

async fn nights(
    store: &shared::store::Store,
    t: &str,
    est: uuid::Uuid,
    from: &str,
    to: &str,
) -> Vec<(String, String, PoolNight)> {
    let range = NightRange::new(date(from), date(to), 3000).unwrap();
    store
        .read_pool(&tenant(t), est, None, &range)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, d, n)| (u.to_string(), d.to_string(), n))
        .collect()
}

#[tokio::test]
async fn capacity_over_month_boundaries_sets_every_night_and_only_those() {
    let store = kit::store().await;
    let t = tenant("acme");
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-01-30", "2026-03-02", 12),
    )
    .await
    .unwrap();
    let all = nights(&store, "acme", est, "2026-01-01", "2026-03-31").await;
    let set: Vec<_> = all.iter().filter(|(_, _, n)| n.capacity > 0).collect();
    assert_eq!(set.len(), 32, "30 Jan .. 2 Mar is 32 nights");
    assert_eq!(set.first().unwrap().1, "2026-01-30");
    assert_eq!(set.last().unwrap().1, "2026-03-02");
    for (_, _, n) in &set {
        assert_eq!(
            *n,
            PoolNight {
                capacity: 12,
                allotted: 0,
                picked_up: 0,
                available: 12
            }
        );
    }
    assert!(all.iter().all(|(_, _, n)| kit::consistent(n)));
}

#[tokio::test]
async fn the_longest_inventory_range_is_one_change() {
    let store = kit::store().await;
    let t = tenant("acme");
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-01-01", "2028-01-01", 3),
    )
    .await
    .unwrap();
    let all = nights(&store, "acme", est, "2026-01-01", "2028-01-31").await;
    assert_eq!(all.iter().filter(|(_, _, n)| n.capacity == 3).count(), 731);
}

#[tokio::test]
async fn holds_are_all_or_nothing_and_report_every_short_night() {
    let store = kit::store().await;
    let t = tenant("acme");
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-09-01", "2026-10-31", 5),
    )
    .await
    .unwrap();
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-09-29", "2026-10-02", 2),
    )
    .await
    .unwrap();
    kit::hold(
        &store,
        &t,
        est,
        &holds("dbl", "2026-09-01", "2026-09-10", 2),
    )
    .await
    .unwrap();

    // 3 rooms from 25 Sep to 5 Oct: 29 Sep .. 2 Oct have only 2 → four short nights
    // across two buckets; nothing of the request may stay behind.
    let err = kit::hold(
        &store,
        &t,
        est,
        &holds("dbl", "2026-09-25", "2026-10-05", 3),
    )
    .await
    .unwrap_err();
    let ApiError::InsufficientCapacity(short) = err else {
        panic!("{err:?}")
    };
    let dates: Vec<_> = short.iter().map(|c| c.date.to_string()).collect();
    assert_eq!(
        dates,
        ["2026-09-29", "2026-09-30", "2026-10-01", "2026-10-02"]
    );
    assert!(short
        .iter()
        .all(|c| c.requested == 3 && c.actual == 2 && c.unit_type_id == "dbl"));

    let after = nights(&store, "acme", est, "2026-09-11", "2026-10-31").await;
    assert!(
        after.iter().all(|(_, _, n)| n.allotted == 0),
        "a refused hold leaves no trace"
    );

    // Unknown nights have no capacity: a hold there is short, not an error.
    let err = kit::hold(
        &store,
        &t,
        est,
        &holds("suite", "2026-09-01", "2026-09-01", 1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ApiError::InsufficientCapacity(ref d) if d[0].actual == 0));

    // Returning rooms gives them back.
    kit::hold(
        &store,
        &t,
        est,
        &holds("dbl", "2026-09-01", "2026-09-10", -2),
    )
    .await
    .unwrap();
    let back = nights(&store, "acme", est, "2026-09-01", "2026-09-10").await;
    assert!(back
        .iter()
        .all(|(_, _, n)| n.allotted == 0 && n.available == 5));
}

#[tokio::test]
async fn capacity_below_allotted_is_refused_as_a_whole() {
    let store = kit::store().await;
    let t = tenant("acme");
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-09-01", "2026-09-30", 10),
    )
    .await
    .unwrap();
    kit::hold(
        &store,
        &t,
        est,
        &holds("dbl", "2026-09-05", "2026-09-06", 7),
    )
    .await
    .unwrap();

    let err = kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-08-20", "2026-09-30", 6),
    )
    .await
    .unwrap_err();
    let ApiError::CapacityBelowAllotted(short) = err else {
        panic!("{err:?}")
    };
    assert_eq!(short.len(), 2);
    assert_eq!(
        (short[0].date, short[0].requested, short[0].actual),
        (date("2026-09-05"), 6, 7)
    );

    let after = nights(&store, "acme", est, "2026-08-01", "2026-09-30").await;
    assert!(after
        .iter()
        .filter(|(_, d, _)| d.as_str() < "2026-09-01")
        .all(|(_, _, n)| n.capacity == 0));
    assert!(after
        .iter()
        .filter(|(_, d, _)| d.as_str() >= "2026-09-01")
        .all(|(_, _, n)| n.capacity == 10));

    // Exactly the allotted number is allowed.
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-09-01", "2026-09-30", 7),
    )
    .await
    .unwrap();
    let n = nights(&store, "acme", est, "2026-09-05", "2026-09-05").await;
    assert_eq!(
        n[0].2,
        PoolNight {
            capacity: 7,
            allotted: 7,
            picked_up: 0,
            available: 0
        }
    );
}

#[tokio::test]
async fn the_same_establishment_id_under_two_tenants_is_two_pools() {
    let store = kit::store().await;
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &tenant("acme"),
        est,
        &change("dbl", "2026-09-01", "2026-09-02", 4),
    )
    .await
    .unwrap();
    assert!(nights(&store, "other", est, "2026-09-01", "2026-09-02")
        .await
        .is_empty());
    assert!(store
        .get_establishment(&tenant("other"), est)
        .await
        .unwrap()
        .is_none());
}

/// 50 tasks race inventory changes, holds, returns and reads on the same nights;
/// every night stays consistent and `allotted` equals the holds that succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inventory_changes_holds_and_reads_stay_consistent() {
    let store = kit::store().await;
    let t = tenant("acme");
    let est = kit::establishment(&store, "acme").await;
    kit::set_capacity(
        &store,
        &t,
        est,
        &change("dbl", "2026-09-01", "2026-09-30", 20),
    )
    .await
    .unwrap();

    let held = Arc::new(AtomicI64::new(0));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let t = t.clone();
        let held = held.clone();
        tasks.push(tokio::spawn(async move {
            match i % 5 {
                // Inventory changes between 5 and 25 rooms (some refused).
                0 | 1 => {
                    let cap = 5 + (i * 7 % 21) as i64;
                    match kit::set_capacity(
                        &store,
                        &t,
                        est,
                        &change("dbl", "2026-09-01", "2026-09-30", cap),
                    )
                    .await
                    {
                        Ok(()) | Err(ApiError::CapacityBelowAllotted(_)) => {}
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
                // Holds of 2 rooms across the month boundary of the range.
                2 | 3 => match kit::hold(
                    &store,
                    &t,
                    est,
                    &holds("dbl", "2026-09-10", "2026-09-20", 2),
                )
                .await
                {
                    Ok(()) => {
                        held.fetch_add(2, Ordering::SeqCst);
                    }
                    Err(ApiError::InsufficientCapacity(_)) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                },
                // Readers check consistency of what they see.
                _ => {
                    let range =
                        NightRange::new(date("2026-09-01"), date("2026-09-30"), 31).unwrap();
                    let seen = store.read_pool(&t, est, None, &range).await.unwrap();
                    assert!(seen.iter().all(|(_, _, n)| kit::consistent(n)), "{seen:?}");
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = nights(&store, "acme", est, "2026-09-01", "2026-09-30").await;
    assert_eq!(after.len(), 30);
    for (_, d, n) in &after {
        assert!(kit::consistent(n), "{d}: {n:?}");
        let expect = if ("2026-09-10".."2026-09-21").contains(&d.as_str()) {
            held.load(Ordering::SeqCst)
        } else {
            0
        };
        assert_eq!(n.allotted, expect, "{d}");
    }
    assert!(
        held.load(Ordering::SeqCst) > 0,
        "some holds must have succeeded"
    );
}
