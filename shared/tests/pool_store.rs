//! The month-bucket pool on DynamoDB Local.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use kit::{date, tenant, NightHold};
use shared::domain::dates::NightRange;
use shared::domain::error::ApiError;
use shared::domain::ids::{TenantId, UnitTypeId};
use shared::domain::inventory::{InventoryChange, PoolNight};
use shared::store::Store;
use uuid::Uuid;

/// An establishment of `acme` on a fresh table, and what these tests do to its pool.
#[derive(Clone)]
struct Pool {
    store: Store,
    t: TenantId,
    est: Uuid,
}

fn nights_of(from: &str, to: &str) -> NightRange {
    NightRange::new(date(from), date(to), 3000).unwrap()
}

fn night(capacity: i64, allotted: i64) -> PoolNight {
    PoolNight {
        capacity,
        allotted,
        picked_up: 0,
        available: capacity - allotted,
    }
}

impl Pool {
    async fn new() -> Pool {
        let store = kit::store().await;
        let est = kit::establishment(&store, "acme").await;
        Pool {
            store,
            t: tenant("acme"),
            est,
        }
    }

    /// `PUT .../inventory`: `capacity` rooms of `unit` from `from` to `to`.
    async fn set(&self, unit: &str, from: &str, to: &str, capacity: i64) {
        self.try_set(unit, from, to, capacity)
            .await
            .expect("set capacity");
    }

    async fn try_set(
        &self,
        unit: &str,
        from: &str,
        to: &str,
        capacity: i64,
    ) -> Result<(), ApiError> {
        let unit_type_id = UnitTypeId::parse(unit).unwrap();
        let change = InventoryChange {
            unit_type_id,
            range: nights_of(from, to),
            capacity,
        };
        kit::set_capacity(&self.store, &self.t, self.est, &change).await
    }

    /// Why [`Self::try_set`] is refused (it must be).
    async fn set_refused(&self, unit: &str, from: &str, to: &str, capacity: i64) -> ApiError {
        self.try_set(unit, from, to, capacity).await.unwrap_err()
    }

    /// Why [`Self::try_hold`] is refused (it must be).
    async fn hold_refused(&self, unit: &str, from: &str, to: &str, quantity: i64) -> ApiError {
        self.try_hold(unit, from, to, quantity).await.unwrap_err()
    }

    /// `quantity` rooms of `unit` held (or returned, when negative) each night from
    /// `from` to `to`, all or nothing.
    async fn hold(&self, unit: &str, from: &str, to: &str, quantity: i64) {
        self.try_hold(unit, from, to, quantity).await.expect("hold");
    }

    async fn try_hold(
        &self,
        unit: &str,
        from: &str,
        to: &str,
        quantity: i64,
    ) -> Result<(), ApiError> {
        let unit_type_id = UnitTypeId::parse(unit).unwrap();
        let holds: Vec<NightHold> = nights_of(from, to)
            .iter()
            .map(|date| NightHold {
                unit_type_id: unit_type_id.clone(),
                date,
                quantity,
            })
            .collect();
        kit::hold(&self.store, &self.t, self.est, &holds).await
    }

    /// The pool nights of `tenant`'s establishment of this id: `(unit, date, night)`.
    async fn nights_as(
        &self,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Vec<(String, String, PoolNight)> {
        let (t, range) = (kit::tenant(tenant), nights_of(from, to));
        let nights = self
            .store
            .read_pool(&t, self.est, None, &range)
            .await
            .unwrap();
        let text = |(u, d, n): (UnitTypeId, chrono::NaiveDate, PoolNight)| {
            (u.to_string(), d.to_string(), n)
        };
        nights.into_iter().map(text).collect()
    }

    async fn nights(&self, from: &str, to: &str) -> Vec<(String, String, PoolNight)> {
        self.nights_as("acme", from, to).await
    }
}

#[tokio::test]
async fn capacity_over_month_boundaries_sets_every_night_and_only_those() {
    let p = Pool::new().await;
    p.set("dbl", "2026-01-30", "2026-03-02", 12).await;
    let all = p.nights("2026-01-01", "2026-03-31").await;
    let set: Vec<_> = all.iter().filter(|(_, _, n)| n.capacity > 0).collect();
    assert_eq!(set.len(), 32, "30 Jan .. 2 Mar is 32 nights");
    assert_eq!(set.first().unwrap().1, "2026-01-30");
    assert_eq!(set.last().unwrap().1, "2026-03-02");
    for (_, _, n) in &set {
        assert_eq!(*n, night(12, 0));
    }
    assert!(all.iter().all(|(_, _, n)| kit::consistent(n)));
}

#[tokio::test]
async fn the_longest_inventory_range_is_one_change() {
    let p = Pool::new().await;
    p.set("dbl", "2026-01-01", "2028-01-01", 3).await;
    let all = p.nights("2026-01-01", "2028-01-31").await;
    assert_eq!(all.iter().filter(|(_, _, n)| n.capacity == 3).count(), 731);
}

#[tokio::test]
async fn holds_are_all_or_nothing_and_report_every_short_night() {
    let p = Pool::new().await;
    p.set("dbl", "2026-09-01", "2026-10-31", 5).await;
    p.set("dbl", "2026-09-29", "2026-10-02", 2).await;
    p.hold("dbl", "2026-09-01", "2026-09-10", 2).await;

    // 3 rooms from 25 Sep to 5 Oct: 29 Sep .. 2 Oct have only 2 → four short nights
    // across two buckets; nothing of the request may stay behind.
    let err = p.hold_refused("dbl", "2026-09-25", "2026-10-05", 3).await;
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

    let after = p.nights("2026-09-11", "2026-10-31").await;
    assert!(
        after.iter().all(|(_, _, n)| n.allotted == 0),
        "a refused hold leaves no trace"
    );

    // Unknown nights have no capacity: a hold there is short, not an error.
    let err = p.hold_refused("suite", "2026-09-01", "2026-09-01", 1).await;
    assert!(matches!(err, ApiError::InsufficientCapacity(ref d) if d[0].actual == 0));

    // Returning rooms gives them back.
    p.hold("dbl", "2026-09-01", "2026-09-10", -2).await;
    let back = p.nights("2026-09-01", "2026-09-10").await;
    assert!(back.iter().all(|(_, _, n)| *n == night(5, 0)));
}

#[tokio::test]
async fn capacity_below_allotted_is_refused_as_a_whole() {
    let p = Pool::new().await;
    p.set("dbl", "2026-09-01", "2026-09-30", 10).await;
    p.hold("dbl", "2026-09-05", "2026-09-06", 7).await;

    let err = p.set_refused("dbl", "2026-08-20", "2026-09-30", 6).await;
    let ApiError::CapacityBelowAllotted(short) = err else {
        panic!("{err:?}")
    };
    assert_eq!(short.len(), 2);
    assert_eq!(
        (short[0].date, short[0].requested, short[0].actual),
        (date("2026-09-05"), 6, 7)
    );

    let after = p.nights("2026-08-01", "2026-09-30").await;
    let (august, september): (Vec<_>, Vec<_>) = after
        .iter()
        .partition(|(_, d, _)| d.as_str() < "2026-09-01");
    assert!(august.iter().all(|(_, _, n)| n.capacity == 0));
    assert!(september.iter().all(|(_, _, n)| n.capacity == 10));

    // Exactly the allotted number is allowed.
    p.set("dbl", "2026-09-01", "2026-09-30", 7).await;
    let n = p.nights("2026-09-05", "2026-09-05").await;
    assert_eq!(n[0].2, night(7, 7));
}

#[tokio::test]
async fn the_same_establishment_id_under_two_tenants_is_two_pools() {
    let p = Pool::new().await;
    p.set("dbl", "2026-09-01", "2026-09-02", 4).await;
    assert!(p
        .nights_as("other", "2026-09-01", "2026-09-02")
        .await
        .is_empty());
    let theirs = p.store.get_establishment(&tenant("other"), p.est).await;
    assert!(theirs.unwrap().is_none());
}

/// 50 tasks race inventory changes, holds, returns and reads on the same nights;
/// every night stays consistent and `allotted` equals the holds that succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inventory_changes_holds_and_reads_stay_consistent() {
    let p = Pool::new().await;
    p.set("dbl", "2026-09-01", "2026-09-30", 20).await;

    let held = Arc::new(AtomicI64::new(0));
    kit::concurrently(50, &(p.clone(), held.clone()), |(p, held), i| async move {
        match i % 5 {
            // Inventory changes between 5 and 25 rooms (some refused).
            0 | 1 => {
                let cap = 5 + (i * 7 % 21) as i64;
                match p.try_set("dbl", "2026-09-01", "2026-09-30", cap).await {
                    Ok(()) | Err(ApiError::CapacityBelowAllotted(_)) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            // Holds of 2 rooms across the month boundary of the range.
            2 | 3 => match p.try_hold("dbl", "2026-09-10", "2026-09-20", 2).await {
                Ok(()) => {
                    held.fetch_add(2, Ordering::SeqCst);
                }
                Err(ApiError::InsufficientCapacity(_)) => {}
                Err(e) => panic!("unexpected {e:?}"),
            },
            // Readers check consistency of what they see.
            _ => {
                let seen = p.nights("2026-09-01", "2026-09-30").await;
                assert!(seen.iter().all(|(_, _, n)| kit::consistent(n)), "{seen:?}");
            }
        }
    })
    .await;
    let after = p.nights("2026-09-01", "2026-09-30").await;
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
