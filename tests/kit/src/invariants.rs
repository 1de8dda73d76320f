//! The invariants of API.md, checked on what the store holds.

use shared::store::Store;
use uuid::Uuid;

use crate::fixtures::{date, tenant};

/// Checks every invariant of API.md on the nights `from..=to` of an establishment:
/// pool `allotted` = Σ allocated of its allotments + Σ shared of its groups; pool
/// `pickedUp` = Σ pickedUp of the grids; each grid night's `pickedUp` = Σ its active
/// pickups; `activePickups` = the active pickups; a group's `used` = what active
/// pickups drew, `activeDraws` = those pickups; released nights keep only their own
/// picked-up rooms; cancelled allotments hold nothing; every pool night consistent.
pub async fn check_invariants(
    store: &Store,
    tenant_name: &str,
    est: Uuid,
    group: Option<Uuid>,
    from: &str,
    to: &str,
) {
    use shared::domain::allotment::Status;
    use shared::domain::pickup::PickupStatus;
    use std::collections::BTreeMap;
    let t = tenant(tenant_name);
    let range = shared::domain::dates::NightRange::new(date(from), date(to), 800).unwrap();
    // A request that timed out on a loaded machine may still commit a little later
    // (DynamoDB Local finishes what it received): check a state that has settled, the
    // pool read twice alike 300 ms apart.
    let mut pool = store.read_pool(&t, est, None, &range).await.unwrap();
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let again = store.read_pool(&t, est, None, &range).await.unwrap();
        if again == pool {
            break;
        }
        pool = again;
    }
    let (records, next) = store
        .list_allotments(
            &t,
            est,
            &shared::store::AllotmentFilter::default(),
            1000,
            None,
        )
        .await
        .unwrap();
    assert!(next.is_none());
    let mut held: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    let mut picked: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    // The group's rooms count in the pool; its `used` is what active pickups drew.
    let g = match group {
        Some(group) => Some(store.require_group(&t, group).await.unwrap()),
        None => None,
    };
    let mut drawn: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    for ((ut, d), n) in g.iter().flat_map(|g| g.grid.iter()) {
        assert!(0 <= n.used && n.used <= n.shared, "group {ut} {d}: {n:?}");
        *held.entry((ut.to_string(), *d)).or_default() += n.shared;
    }
    let mut draws_active = 0;
    for r in &records {
        let (record, grid) = store.require_allotment(&t, r.allotment_id).await.unwrap();
        // 0. a member's claim names the group exactly when the group lists it.
        if let Some(g) = &g {
            assert_eq!(
                record.group_id == Some(g.record.capacity_group_id),
                g.record.allotment_ids.contains(&r.allotment_id),
                "{}: claimed by the group = listed by it",
                r.allotment_id
            );
        }
        // 3. the active pickups add up to `pickedUp`, night by night.
        let (pickups, more) = store
            .list_pickups(&t, r.allotment_id, 10_000, None)
            .await
            .unwrap();
        assert!(more.is_none());
        let mut from_pickups: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
        let mut active = 0;
        for p in pickups.iter().filter(|p| p.status == PickupStatus::Active) {
            active += 1;
            if p.capacity_group_id.is_some() && p.capacity_group_id == group {
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
    if let Some(g) = &g {
        assert_eq!(
            g.active_draws, draws_active,
            "activeDraws = pickups drawing on the group"
        );
    }
    for ((ut, d), n) in g.iter().flat_map(|g| g.grid.iter()) {
        let want = drawn.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.used, want,
            "group {ut} {d}: used = what active pickups drew"
        );
    }
    for (ut, d, n) in &pool {
        assert!(crate::consistent(n), "{ut} {d}: {n:?}");
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
