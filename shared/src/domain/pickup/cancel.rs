//! The plan of a pickup's cancel: each room goes back where it came from.

use chrono::{DateTime, Utc};

use super::{Pickup, PickupPlan, PickupStatus};
use crate::domain::allotment::AllotmentRecord;
use crate::domain::error::ApiError;
use crate::domain::group::GroupRecord;
use crate::domain::plan::{Change, GridDelta, GroupDelta, PickupGuard, Plan, PoolDelta};

/// Plans the cancel of `pickup` (of the allotment `record`; `group` is the capacity
/// group it drew on, if any). Each room goes back where it came from:
/// - a room of the allotment's own, to the allotment on a night it has not released,
///   to the pool on a released one (a released night keeps only its own picked-up
///   rooms, so this one leaves its allocation too);
/// - a room the group supplied, to the group on a night the group has not released,
///   to the pool on a released one.
///
/// A cancelled pickup plans nothing (a repeat answers it as it is). The plan: the
/// pickup (guarded: still active), the allotment's night deltas (each guarded by
/// the release state read: a night read unreleased must still be; the pickup counted
/// active no more), the group's counters
/// and nights, and the pool's `allotted` on released nights only (rooms going back to
/// it; nothing else of the pool, whose `pickedUp` is summed from the grids on read).
pub fn plan_pickup_cancel(
    record: &AllotmentRecord,
    pickup: &Pickup,
    group: Option<&GroupRecord>,
    now: DateTime<Utc>,
) -> Result<PickupPlan, ApiError> {
    if pickup.status == PickupStatus::Cancelled {
        return Ok(PickupPlan {
            plan: Plan::new(),
            pickup: pickup.clone(),
        });
    }
    let unit = pickup.unit()?;
    let nights = pickup.nights()?;
    let drew = match pickup.capacity_group_id {
        Some(id) if !pickup.from_group.is_empty() => match group {
            Some(g) if g.capacity_group_id == id => Some(g),
            // A group cannot be deleted while a pickup draws on it.
            _ => {
                return Err(ApiError::Internal(format!(
                    "pickup {} drew on group {id}, which was not found",
                    pickup.pickup_id
                )))
            }
        },
        _ => None,
    };
    let q = pickup.quantity;
    let mut grid = Vec::new();
    let mut pool = Vec::new();
    let mut group_nights = Vec::new();
    for date in nights.iter() {
        let drawn = pickup.drawn_on(date);
        let own = q - drawn;
        let released_here = record.is_night_released(date);
        grid.push(GridDelta {
            date,
            picked_up: -q,
            from_group: -drawn,
            allocated: if released_here { -own } else { 0 },
            released: released_here,
        });
        let mut to_pool = if released_here { own } else { 0 };
        if let (Some(g), true) = (drew, drawn > 0) {
            let group_released = g.released_through.is_some_and(|t| date <= t);
            group_nights.push(GroupDelta {
                date,
                used: -drawn,
                shared: if group_released { -drawn } else { 0 },
            });
            if group_released {
                to_pool += drawn;
            }
        }
        pool.push(PoolDelta {
            unit: unit.clone(),
            date,
            allotted: -to_pool,
            picked_up: 0,
        });
    }
    let cancelled = Pickup {
        status: PickupStatus::Cancelled,
        cancelled_at: Some(now),
        ..pickup.clone()
    };
    let mut plan = Plan::new();
    plan.push(Change::Pickup {
        pickup: Box::new(cancelled.clone()),
        guard: PickupGuard::Active,
    });
    plan.push(Change::AllotmentNightDeltas {
        allotment_id: record.allotment_id,
        unit: unit.clone(),
        nights: grid,
        active_pickups: -1,
    });
    if let Some(g) = drew {
        plan.push(Change::GroupCounters {
            group_id: g.capacity_group_id,
            draws: -1,
            member: None,
        });
        plan.push(Change::GroupNightDeltas {
            group_id: g.capacity_group_id,
            unit,
            nights: group_nights,
        });
    }
    // Only rooms returned to the pool (released nights) touch it: its `pickedUp`
    // is summed from the grids on read.
    plan.push(Change::Pool {
        establishment_id: record.establishment_id,
        holder: None,
        nights: pool,
    });
    plan.push(crate::domain::event::Event::pickup(
        &cancelled,
        record.establishment_id,
    ));
    Ok(PickupPlan {
        plan,
        pickup: cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{plan_pickup, PickupState};
    use super::*;
    use chrono::NaiveDate;

    /// A pickup of 3 dbl on 2–4 Sep: 1 own room and 2 from the group each night.
    fn drawing_pickup() -> Pickup {
        let (record, mut grid) = allotment();
        for n in grid.values_mut() {
            n.picked_up = 9;
        }
        let state = PickupState::Loaded {
            record: Box::new(record),
            grid,
            group: Some(Box::new(group(3, 0))),
        };
        let p = plan_pickup(
            &body("dbl", "2026-09-02", "2026-09-05", 3),
            ALLOTMENT,
            PICKUP,
            &state,
            now(),
        )
        .unwrap();
        assert_eq!(p.pickup.from_group.len(), 3);
        p.pickup
    }

    fn own_pickup() -> Pickup {
        let blind = PickupState::Blind {
            establishment_id: ESTABLISHMENT,
        };
        plan_pickup(
            &body("dbl", "2026-09-02", "2026-09-05", 3),
            ALLOTMENT,
            PICKUP,
            &blind,
            now(),
        )
        .unwrap()
        .pickup
    }

    struct Moves {
        /// Per night: (pickedUp, fromGroup, allocated) of the allotment.
        grid: Vec<(i64, i64, i64)>,
        /// Per night: (used, shared) of the group.
        group: Vec<(i64, i64)>,
        /// Per night: (allotted, pickedUp) of the pool (none when nothing goes back to it).
        pool: Vec<(i64, i64)>,
    }

    fn moves(plan: &Plan) -> Moves {
        let mut m = Moves {
            grid: vec![],
            group: vec![],
            pool: vec![],
        };
        for c in &plan.changes {
            match c {
                Change::AllotmentNightDeltas { nights, .. } => {
                    m.grid = nights
                        .iter()
                        .map(|n| (n.picked_up, n.from_group, n.allocated))
                        .collect()
                }
                Change::GroupNightDeltas { nights, .. } => {
                    m.group = nights.iter().map(|n| (n.used, n.shared)).collect()
                }
                Change::Pool { nights, .. } => {
                    m.pool = nights.iter().map(|n| (n.allotted, n.picked_up)).collect()
                }
                _ => {}
            }
        }
        m
    }

    fn released(through: &str) -> Option<NaiveDate> {
        Some(d(through))
    }

    #[test]
    fn rooms_go_back_where_they_came_from() {
        let (record, _) = allotment();
        let with_release = |through: Option<NaiveDate>| AllotmentRecord {
            released_through: through,
            ..record.clone()
        };
        let group_released = |through: Option<NaiveDate>| GroupRecord {
            released_through: through,
            ..group(3, 2).record
        };
        type Case = (
            &'static str,
            AllotmentRecord,
            Pickup,
            Option<GroupRecord>,
            Moves,
        );
        let cases: Vec<Case> = vec![
            (
                "own rooms, nothing released: back to the allotment",
                with_release(None),
                own_pickup(),
                None,
                Moves {
                    grid: vec![(-3, 0, 0); 3],
                    group: vec![],
                    pool: vec![],
                },
            ),
            (
                "own rooms, the allotment released 2–3 Sep: those go to the pool",
                with_release(released("2026-09-03")),
                own_pickup(),
                None,
                Moves {
                    grid: vec![(-3, 0, -3), (-3, 0, -3), (-3, 0, 0)],
                    group: vec![],
                    pool: vec![(-3, 0), (-3, 0), (0, 0)],
                },
            ),
            (
                "group rooms, nothing released: back to the allotment and the group",
                with_release(None),
                drawing_pickup(),
                Some(group_released(None)),
                Moves {
                    grid: vec![(-3, -2, 0); 3],
                    group: vec![(-2, 0); 3],
                    pool: vec![],
                },
            ),
            (
                "the allotment released 2 Sep: its own room goes to the pool, the group's to the group",
                with_release(released("2026-09-02")),
                drawing_pickup(),
                Some(group_released(None)),
                Moves {
                    grid: vec![(-3, -2, -1), (-3, -2, 0), (-3, -2, 0)],
                    group: vec![(-2, 0); 3],
                    pool: vec![(-1, 0), (0, 0), (0, 0)],
                },
            ),
            (
                "the group released 2–3 Sep: its rooms go to the pool there",
                with_release(None),
                drawing_pickup(),
                Some(group_released(released("2026-09-03"))),
                Moves {
                    grid: vec![(-3, -2, 0); 3],
                    group: vec![(-2, -2), (-2, -2), (-2, 0)],
                    pool: vec![(-2, 0), (-2, 0), (0, 0)],
                },
            ),
            (
                "both released everything: every room to the pool",
                with_release(released("2026-09-07")),
                drawing_pickup(),
                Some(group_released(released("2026-09-07"))),
                Moves {
                    grid: vec![(-3, -2, -1); 3],
                    group: vec![(-2, -2); 3],
                    pool: vec![(-3, 0); 3],
                },
            ),
        ];
        for (case, record, pickup, group, want) in cases {
            let p = plan_pickup_cancel(&record, &pickup, group.as_ref(), now()).unwrap();
            assert_eq!(p.pickup.status, PickupStatus::Cancelled, "{case}");
            assert_eq!(p.pickup.cancelled_at, Some(now()), "{case}");
            assert_eq!(
                (p.pickup.from_group.clone(), p.pickup.quantity),
                (pickup.from_group.clone(), pickup.quantity),
                "{case}: the record of where rooms came from is kept"
            );
            let got = moves(&p.plan);
            assert_eq!(got.grid, want.grid, "{case}: allotment nights");
            assert_eq!(got.group, want.group, "{case}: group nights");
            assert_eq!(got.pool, want.pool, "{case}: pool");
            let Change::Pickup { guard, .. } = &p.plan.changes[0] else {
                panic!("{case}: the pickup first")
            };
            assert_eq!(*guard, PickupGuard::Active);
            let Change::AllotmentNightDeltas {
                active_pickups,
                nights,
                ..
            } = &p.plan.changes[1]
            else {
                panic!("{case}: then the nights")
            };
            assert_eq!(*active_pickups, -1);
            assert_eq!(
                nights.iter().map(|n| n.released).collect::<Vec<_>>(),
                nights
                    .iter()
                    .map(|n| record.is_night_released(n.date))
                    .collect::<Vec<_>>(),
                "{case}: each night guarded by its release state"
            );
            let group_counters: Vec<i64> = p
                .plan
                .changes
                .iter()
                .filter_map(|c| match c {
                    Change::GroupCounters { draws, .. } => Some(*draws),
                    _ => None,
                })
                .collect();
            assert_eq!(
                group_counters,
                if want.group.is_empty() {
                    vec![]
                } else {
                    vec![-1]
                },
                "{case}"
            );
        }
    }

    #[test]
    fn a_repeat_plans_nothing_and_a_lost_group_is_an_internal_error() {
        let (record, _) = allotment();
        let first = plan_pickup_cancel(&record, &own_pickup(), None, now()).unwrap();
        let again = plan_pickup_cancel(&record, &first.pickup, None, now()).unwrap();
        assert!(again.plan.is_empty());
        assert_eq!(again.pickup, first.pickup);
        let err = plan_pickup_cancel(&record, &drawing_pickup(), None, now()).unwrap_err();
        assert_eq!(err.code(), "INTERNAL_ERROR");
        let mut corrupt = own_pickup();
        corrupt.departure = corrupt.arrival;
        assert_eq!(
            plan_pickup_cancel(&record, &corrupt, None, now())
                .unwrap_err()
                .code(),
            "INTERNAL_ERROR"
        );
    }
}
