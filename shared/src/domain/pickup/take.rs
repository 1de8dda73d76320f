//! The plan of a pickup: where each night's rooms come from, and what that writes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{NewPickup, Pickup, PickupPlan};
use crate::domain::allotment::{AllotmentRecord, AllotmentType, Grid};
use crate::domain::dates::NightRange;
use crate::domain::error::{ApiError, FieldIssue, NightConflict};
use crate::domain::group::LoadedGroup;
use crate::domain::plan::{Change, GridDelta, GroupDelta, PickupGuard, Plan};

/// Where one night's rooms of a pickup come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NightTake {
    pub date: NaiveDate,
    pub own: i64,
    pub from_group: i64,
}

/// What a pickup is planned on.
#[derive(Debug, Clone, PartialEq)]
pub enum PickupState {
    /// Nothing read: only the allotment's establishment is known (it never changes).
    /// Every night is taken from the allotment's own rooms; the transaction's
    /// conditions (active, contractual, nights unreleased, enough remaining rooms on
    /// every night, nights and unit type held) refuse whatever a read would have, and
    /// only then is the allotment read, to say why or to draw on its group.
    Blind { establishment_id: Uuid },
    /// The allotment as read, with its capacity group if it belongs to one.
    Loaded {
        record: Box<AllotmentRecord>,
        grid: Grid,
        group: Option<Box<LoadedGroup>>,
    },
}

/// Plans a pickup of `new` on the allotment `allotment_id`.
///
/// On a loaded allotment: every night inside the period (`400` naming `arrival` when
/// the stay starts outside it, `departure` when it ends after it) and a unit type it
/// holds (`400 unitTypeId`); an active contractual allotment and no released night
/// (`409 INVALID_STATE`); enough rooms on every night, its own first, then its
/// capacity group's (`409 ALLOTMENT_EXHAUSTED` with every short night; `remaining`
/// counts the group too). Blind, every night takes the allotment's own rooms.
///
/// The plan: the new pickup, the night deltas of the allotment (whose months check
/// what the header would: the allotment takes pickups, no night is released, enough
/// own rooms remain; and count the pickup active), the group's counters and nights
/// when it supplies rooms. Neither the allotment's header nor anything of the pool:
/// pickups of one allotment meet only on the months of their nights, pickups of
/// different allotments never (the pool's `pickedUp` is summed on read).
pub fn plan_pickup(
    new: &NewPickup,
    allotment_id: Uuid,
    pickup_id: Uuid,
    state: &PickupState,
    now: DateTime<Utc>,
) -> Result<PickupPlan, ApiError> {
    let nights = new.nights();
    let (establishment_id, group, takes) = match state {
        PickupState::Blind { establishment_id } => {
            let takes = nights
                .iter()
                .map(|date| NightTake {
                    date,
                    own: new.quantity,
                    from_group: 0,
                })
                .collect();
            (*establishment_id, None, takes)
        }
        PickupState::Loaded {
            record,
            grid,
            group,
        } => {
            // A group is the allotment's once its header lists it (a claim of a change
            // still in steps, or one not yet given up, is not).
            let group = group
                .as_deref()
                .filter(|g| g.record.allotment_ids.contains(&record.allotment_id));
            let takes = where_rooms_come_from(new, &nights, record, grid, group)?;
            (
                record.establishment_id,
                group.map(|g| g.record.capacity_group_id),
                takes,
            )
        }
    };
    let pickup = Pickup::new(new, pickup_id, allotment_id, group, &takes, now);
    let unit = &new.unit_type_id;
    let mut plan = Plan::new();
    plan.push(Change::Pickup {
        pickup: Box::new(pickup.clone()),
        guard: PickupGuard::New,
    });
    plan.push(Change::AllotmentNightDeltas {
        allotment_id,
        unit: unit.clone(),
        nights: takes
            .iter()
            .map(|k| GridDelta {
                date: k.date,
                picked_up: k.own + k.from_group,
                from_group: k.from_group,
                allocated: 0,
                released: false,
            })
            .collect(),
        active_pickups: 1,
    });
    if let Some(group_id) = pickup.capacity_group_id {
        plan.push(Change::GroupCounters {
            group_id,
            draws: 1,
            member: Some(allotment_id),
        });
        plan.push(Change::GroupNightDeltas {
            group_id,
            unit: unit.clone(),
            nights: pickup
                .from_group
                .iter()
                .map(|g| GroupDelta {
                    date: g.date,
                    used: g.quantity,
                    shared: 0,
                })
                .collect(),
        });
    }
    // The pool is not written: its `pickedUp` is summed from the grids on read, so
    // no item of the hotel is shared by the pickups of its allotments.
    plan.push(crate::domain::event::Event::pickup(
        &pickup,
        establishment_id,
    ));
    Ok(PickupPlan { plan, pickup })
}

/// The rules of a pickup on the allotment as read, and where each night's rooms come
/// from: its own remaining rooms first, then the group's.
fn where_rooms_come_from(
    new: &NewPickup,
    nights: &NightRange,
    record: &AllotmentRecord,
    grid: &Grid,
    group: Option<&LoadedGroup>,
) -> Result<Vec<NightTake>, ApiError> {
    let mut issues = Vec::new();
    // The arrival must be a night of the period, the departure the morning after one.
    let (first, last) = (record.period_from, record.period_to);
    if new.arrival < first || new.arrival > last {
        issues.push(FieldIssue::new(
            "arrival",
            "must be a night of the allotment's period (periodFrom to periodTo)",
        ));
    }
    if new.departure <= first || nights.to() > last {
        issues.push(FieldIssue::new(
            "departure",
            "must be at most the day after the allotment's periodTo (the last night is the night before departure)",
        ));
    }
    if !grid.keys().any(|(u, _)| u == &new.unit_type_id) {
        issues.push(FieldIssue::new(
            "unitTypeId",
            "the allotment holds no rooms of this unit type",
        ));
    }
    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }
    record.require_active("pick up on")?;
    if record.allotment_type == AllotmentType::Tentative {
        return Err(ApiError::InvalidState(
            "A tentative allotment takes no pickups until confirmed".into(),
        ));
    }
    if nights.iter().any(|d| record.is_night_released(d)) {
        return Err(ApiError::InvalidState(
            "Some of these nights are already released".into(),
        ));
    }
    let unit = &new.unit_type_id;
    let mut takes = Vec::new();
    let mut short = Vec::new();
    for d in nights.iter() {
        let own_left = grid
            .get(&(unit.clone(), d))
            .map(|n| n.remaining())
            .unwrap_or(0)
            .max(0);
        let group_left = group.map(|g| g.available_to_pickups(unit, d)).unwrap_or(0);
        if own_left + group_left < new.quantity {
            short.push(NightConflict {
                unit_type_id: unit.to_string(),
                date: d,
                requested: new.quantity,
                actual: own_left + group_left,
            });
            continue;
        }
        let own = new.quantity.min(own_left);
        takes.push(NightTake {
            date: d,
            own,
            from_group: new.quantity - own,
        });
    }
    if short.is_empty() {
        Ok(takes)
    } else {
        Err(ApiError::AllotmentExhausted(short))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::domain::allotment::Status;
    use crate::domain::event::{EventData, EventType};

    fn loaded(record: &AllotmentRecord, grid: &Grid, group: Option<LoadedGroup>) -> PickupState {
        PickupState::Loaded {
            record: Box::new(record.clone()),
            grid: grid.clone(),
            group: group.map(Box::new),
        }
    }

    fn plan(new: &NewPickup, state: &PickupState) -> Result<PickupPlan, ApiError> {
        plan_pickup(new, ALLOTMENT, PICKUP, state, now())
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(issues) => issues.into_iter().map(|i| i.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn refusals() {
        let (record, mut grid) = allotment();
        // 8 of the 10 rooms of 3 Sep are taken.
        grid.get_mut(&(u("dbl"), d("2026-09-03")))
            .unwrap()
            .picked_up = 8;
        let mut released = record.clone();
        released.released_through = Some(d("2026-09-02"));
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let mut tentative = record.clone();
        tentative.allotment_type = AllotmentType::Tentative;
        let cases: Vec<(&str, &AllotmentRecord, NewPickup, &str, Vec<&str>)> = vec![
            (
                "ends after the period",
                &record,
                body("dbl", "2026-09-06", "2026-09-09", 1),
                "VALIDATION_ERROR",
                vec!["departure"],
            ),
            (
                "a stay of centuries",
                &record,
                body("dbl", "2026-09-02", "5292-04-20", 1),
                "VALIDATION_ERROR",
                vec!["departure"],
            ),
            (
                "starts before the period",
                &record,
                body("dbl", "2026-08-30", "2026-09-02", 1),
                "VALIDATION_ERROR",
                vec!["arrival"],
            ),
            (
                "both",
                &record,
                body("dbl", "2026-08-30", "2026-09-10", 1),
                "VALIDATION_ERROR",
                vec!["arrival", "departure"],
            ),
            (
                "wholly after the period",
                &record,
                body("dbl", "2026-09-08", "2026-09-09", 1),
                "VALIDATION_ERROR",
                vec!["arrival", "departure"],
            ),
            (
                "wholly before the period",
                &record,
                body("dbl", "2026-08-30", "2026-09-01", 1),
                "VALIDATION_ERROR",
                vec!["arrival", "departure"],
            ),
            (
                "a unit type it does not hold, and outside",
                &record,
                body("ste", "2026-09-06", "2026-09-09", 1),
                "VALIDATION_ERROR",
                vec!["departure", "unitTypeId"],
            ),
            (
                "cancelled",
                &cancelled,
                body("dbl", "2026-09-02", "2026-09-04", 1),
                "INVALID_STATE",
                vec![],
            ),
            (
                "tentative",
                &tentative,
                body("dbl", "2026-09-02", "2026-09-04", 1),
                "INVALID_STATE",
                vec![],
            ),
            (
                "a released night",
                &released,
                body("dbl", "2026-09-02", "2026-09-04", 1),
                "INVALID_STATE",
                vec![],
            ),
            (
                "exhausted",
                &record,
                body("dbl", "2026-09-02", "2026-09-05", 3),
                "ALLOTMENT_EXHAUSTED",
                vec![],
            ),
        ];
        for (case, record, new, code, want) in cases {
            let err = plan(&new, &loaded(record, &grid, None)).unwrap_err();
            assert_eq!(err.code(), code, "{case}");
            if code == "VALIDATION_ERROR" {
                assert_eq!(fields(err), want, "{case}");
            }
        }
        // Every short night, with what is left (own and group).
        for (group, left) in [(None, 2), (Some(group(3, 2)), 3)] {
            let Err(ApiError::AllotmentExhausted(short)) = plan(
                &body("dbl", "2026-09-02", "2026-09-05", 4),
                &loaded(&record, &grid, group),
            ) else {
                panic!()
            };
            assert_eq!(short.len(), 1, "only 3 Sep is short: {short:?}");
            assert_eq!(
                (short[0].date, short[0].requested, short[0].actual),
                (d("2026-09-03"), 4, left)
            );
        }
        // The stay fits the period exactly: no refusal.
        assert!(plan(
            &body("dbl", "2026-09-01", "2026-09-08", 1),
            &loaded(&record, &grid, None)
        )
        .is_ok());
    }

    #[test]
    fn a_group_supplies_nothing_on_its_released_nights() {
        let (record, mut grid) = allotment();
        for n in grid.values_mut() {
            n.picked_up = 10;
        }
        let mut g = group(3, 0);
        g.record.released_through = Some(d("2026-09-02"));
        let Err(ApiError::AllotmentExhausted(short)) = plan(
            &body("dbl", "2026-09-02", "2026-09-04", 1),
            &loaded(&record, &grid, Some(g)),
        ) else {
            panic!()
        };
        assert_eq!(
            short.iter().map(|s| s.date).collect::<Vec<_>>(),
            [d("2026-09-02")]
        );
    }

    #[test]
    fn a_pickup_plans_its_item_counters_nights_and_group_never_the_pool() {
        /// (case, state, pickup, own rooms per night, group rooms per night)
        type Case = (&'static str, PickupState, NewPickup, Vec<i64>, Vec<i64>);
        let (record, mut grid) = allotment();
        for n in grid.values_mut() {
            n.picked_up = 9;
        }
        let blind = PickupState::Blind {
            establishment_id: ESTABLISHMENT,
        };
        let cases: Vec<Case> = vec![
            (
                "blind: every room from the allotment",
                blind,
                body("dbl", "2026-09-02", "2026-09-04", 3),
                vec![3, 3],
                vec![0, 0],
            ),
            (
                "loaded, no group",
                loaded(&record, &grid, None),
                body("dbl", "2026-09-02", "2026-09-04", 1),
                vec![1, 1],
                vec![0, 0],
            ),
            (
                "loaded, own rooms first, then the group",
                loaded(&record, &grid, Some(group(3, 1))),
                body("dbl", "2026-09-02", "2026-09-04", 3),
                vec![1, 1],
                vec![2, 2],
            ),
            (
                "loaded, a group that is not needed",
                loaded(&record, &grid, Some(group(3, 0))),
                body("dbl", "2026-09-05", "2026-09-06", 1),
                vec![1],
                vec![0],
            ),
        ];
        for (case, state, new, own, from_group) in cases {
            let p = plan(&new, &state).unwrap();
            let draws = from_group.iter().any(|q| *q > 0);
            assert_eq!(p.pickup.quantity, new.quantity, "{case}");
            assert_eq!(p.pickup.created_at, now());
            assert_eq!(p.pickup.capacity_group_id, draws.then_some(GROUP), "{case}");
            assert_eq!(
                p.pickup.from_group.iter().map(|g| g.quantity).sum::<i64>(),
                from_group.iter().sum::<i64>(),
                "{case}"
            );
            let kinds: Vec<&str> = p
                .plan
                .changes
                .iter()
                .map(|c| match c {
                    Change::Pickup { guard, .. } => {
                        assert_eq!(*guard, PickupGuard::New);
                        "pickup"
                    }
                    Change::AllotmentNightDeltas {
                        nights,
                        active_pickups,
                        ..
                    } => {
                        assert_eq!(*active_pickups, 1, "{case}");
                        assert!(nights.iter().all(|n| !n.released), "{case}");
                        assert_eq!(
                            nights.iter().map(|n| n.own()).collect::<Vec<_>>(),
                            own,
                            "{case}"
                        );
                        assert_eq!(
                            nights.iter().map(|n| n.from_group).collect::<Vec<_>>(),
                            from_group,
                            "{case}"
                        );
                        assert!(nights.iter().all(|n| n.allocated == 0));
                        "nights"
                    }
                    Change::GroupCounters {
                        group_id,
                        draws,
                        member: Some(ALLOTMENT),
                    } => {
                        assert_eq!((*group_id, *draws), (GROUP, 1));
                        "group"
                    }
                    Change::GroupNightDeltas { nights, .. } => {
                        assert_eq!(
                            nights
                                .iter()
                                .map(|n| (n.used, n.shared))
                                .collect::<Vec<_>>(),
                            from_group
                                .iter()
                                .filter(|q| **q > 0)
                                .map(|q| (*q, 0))
                                .collect::<Vec<_>>()
                        );
                        "group nights"
                    }
                    Change::Event(e) => {
                        assert_eq!(
                            (e.event_type, e.sequence, e.subject.id),
                            (EventType::PickupCreated, 1, PICKUP)
                        );
                        assert_eq!(e.establishment_id, ESTABLISHMENT, "also blind");
                        assert_eq!(e.data, EventData::Pickup(Box::new(p.pickup.view())));
                        "event"
                    }
                    other => panic!("{case}: unexpected {other:?}"),
                })
                .collect();
            let want: &[&str] = if draws {
                &["pickup", "nights", "group", "group nights", "event"]
            } else {
                &["pickup", "nights", "event"]
            };
            assert_eq!(kinds, want, "{case}");
        }
    }
}
