//! Allocation changes: the body of `POST .../allocations` and its plan.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::grid::{Grid, GridNight};
use super::history::{AllocationEntry, NightChange};
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use super::terms::{opt, MAX_QUANTITY};
use crate::domain::dates::NightRange;
use crate::domain::error::{ApiError, FieldIssue, NightConflict};
use crate::domain::ids::UnitTypeId;
use crate::domain::inventory::PoolView;
use crate::domain::plan::{Change, Plan, PoolDelta};
use crate::domain::validate::{date, integer, string, unit_type_id, Fields};

pub const MAX_MEMO_CHARS: usize = 500;

/// The body of `POST .../allocations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationChange {
    pub unit_type_id: UnitTypeId,
    pub quantity: i64,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub memo: Option<String>,
}

impl AllocationChange {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let unit = f.required("unitTypeId", &unit_type_id);
        let quantity = f.required("quantity", &integer(0, MAX_QUANTITY));
        let from = opt(f.nullable("from", &date));
        let to = opt(f.nullable("to", &date));
        let memo = opt(f.nullable("memo", &string(1, MAX_MEMO_CHARS)));
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                f.issue("to", "must be on or after from");
            }
        }
        f.finish()?;
        match (unit, quantity) {
            (Some(unit_type_id), Some(quantity)) => Ok(AllocationChange {
                unit_type_id,
                quantity,
                from,
                to,
                memo,
            }),
            _ => Err(ApiError::Internal(
                "validated allocation fields missing".into(),
            )),
        }
    }
}

/// What an allocation change does: the plan (header, history entry, grid nights,
/// pool rooms) and the history entry it records (the answer).
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationPlan {
    pub plan: Plan,
    pub entry: AllocationEntry,
}

/// Checks and plans an allocation change: range inside the period (`400`), an
/// active allotment and unreleased nights (`409 INVALID_STATE`), never below the
/// rooms picked up (`409 BELOW_PICKED_UP`, every such night), and — when the pool
/// nights were read (after a refused attempt) — enough free rooms for an increase
/// (`409 INSUFFICIENT_CAPACITY`, every short night).
pub fn plan_allocation(
    record: &AllotmentRecord,
    grid: &Grid,
    change: &AllocationChange,
    pool: Option<&PoolView>,
    now: DateTime<Utc>,
) -> Result<AllocationPlan, ApiError> {
    let from = change.from.unwrap_or(record.period_from);
    let to = change.to.unwrap_or(record.period_to);
    let mut issues = Vec::new();
    if from < record.period_from || from > record.period_to {
        issues.push(FieldIssue::new(
            "from",
            "must lie inside the allotment's period",
        ));
    }
    if to < record.period_from || to > record.period_to {
        issues.push(FieldIssue::new(
            "to",
            "must lie inside the allotment's period",
        ));
    }
    if to < from && issues.is_empty() {
        issues.push(FieldIssue::new("to", "must be on or after from"));
    }
    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }
    record.require_active("change the allocation of")?;
    let range = NightRange::new(from, to, i64::MAX).map_err(|e| ApiError::validation("to", e))?;
    if range.iter().any(|d| record.is_night_released(d)) {
        return Err(ApiError::InvalidState(
            "Some of these nights are already released".into(),
        ));
    }
    let ut = &change.unit_type_id;
    let mut nights = Grid::new();
    let mut pool_deltas = Vec::new();
    let mut changes = Vec::new();
    let mut below = Vec::new();
    for d in range.iter() {
        let old = grid.get(&(ut.clone(), d)).cloned().unwrap_or_default();
        if change.quantity < old.own_picked_up() {
            below.push(NightConflict {
                unit_type_id: ut.to_string(),
                date: d,
                requested: change.quantity,
                actual: old.own_picked_up(),
            });
            continue;
        }
        changes.push(NightChange {
            date: d,
            previous_quantity: old.allocated,
            quantity: change.quantity,
        });
        pool_deltas.push(PoolDelta::allot(ut, d, change.quantity - old.allocated));
        nights.insert(
            (ut.clone(), d),
            GridNight {
                contracted: change.quantity,
                allocated: change.quantity,
                ..old
            },
        );
    }
    if !below.is_empty() {
        return Err(ApiError::BelowPickedUp(below));
    }
    if let Some(pool) = pool {
        let short = crate::domain::inventory::pool_conflicts(pool, &pool_deltas);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
    }
    let entry = AllocationEntry::new(record.allotment_id, ut, changes, change.memo.clone(), now)
        .ok_or_else(|| ApiError::Internal("empty allocation change".into()))?;
    let next = record.next_version(now);
    let other = [
        Change::History {
            allotment_id: record.allotment_id,
            version: next.version,
            part: 0,
            entries: vec![entry.clone()],
        },
        Change::Pool {
            establishment_id: record.establishment_id,
            holder: Some(record.allotment_id),
            nights: pool_deltas,
        },
    ];
    let plan = AllotmentPlan::change(record, next, grid, nights, other)
        .announce_with(
            crate::domain::event::EventType::AllocationChanged,
            now,
            crate::domain::event::EventData::Allocation(entry.clone()),
        )
        .plan;
    Ok(AllocationPlan { plan, entry })
}

#[cfg(test)]
mod allocation_plan_tests {
    use super::super::fixtures::{allotment, now, read, u};
    use super::super::terms::Status;
    use super::*;
    use crate::domain::dates::parse_date;
    use crate::domain::inventory::PoolNight;
    use crate::domain::plan::Guard;

    fn change(unit: &str, quantity: i64, from: &str, to: &str) -> AllocationChange {
        AllocationChange {
            unit_type_id: u(unit),
            quantity,
            from: parse_date(from),
            to: parse_date(to),
            memo: None,
        }
    }

    fn pool(available: i64) -> PoolView {
        let mut view = PoolView::new();
        for day in 1..=7 {
            let date = NaiveDate::from_ymd_opt(2026, 9, day).unwrap();
            let night = PoolNight {
                capacity: 10 + available,
                allotted: 10,
                picked_up: 0,
                available,
            };
            view.insert((u("dbl"), date), night);
            view.insert((u("sgl"), date), night);
        }
        view
    }

    #[test]
    fn refusals() {
        let (record, grid) = allotment();
        let mut released = record.clone();
        released.released_through = parse_date("2026-09-01");
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let cases: Vec<(
            &str,
            &AllotmentRecord,
            AllocationChange,
            Option<PoolView>,
            &str,
        )> = vec![
            (
                "outside the period",
                &record,
                change("dbl", 5, "2026-08-31", "2026-09-02"),
                None,
                "VALIDATION_ERROR",
            ),
            (
                "cancelled",
                &cancelled,
                change("dbl", 5, "2026-09-01", "2026-09-02"),
                None,
                "INVALID_STATE",
            ),
            (
                "a released night",
                &released,
                change("dbl", 5, "2026-09-01", "2026-09-02"),
                None,
                "INVALID_STATE",
            ),
            (
                "below the pickups",
                &record,
                change("dbl", 2, "2026-09-01", "2026-09-03"),
                None,
                "BELOW_PICKED_UP",
            ),
            (
                "the pool is short",
                &record,
                change("dbl", 12, "2026-09-01", "2026-09-03"),
                Some(pool(1)),
                "INSUFFICIENT_CAPACITY",
            ),
        ];
        for (case, record, change, pool, code) in cases {
            let err = plan_allocation(record, &grid, &change, pool.as_ref(), now()).unwrap_err();
            assert_eq!(err.code(), code, "{case}");
        }
        let Err(ApiError::BelowPickedUp(nights)) = plan_allocation(
            &record,
            &grid,
            &change("dbl", 2, "2026-09-01", "2026-09-03"),
            None,
            now(),
        ) else {
            panic!()
        };
        assert_eq!(nights.len(), 1, "only 2 Sep is below: {nights:?}");
        let Err(ApiError::InsufficientCapacity(short)) = plan_allocation(
            &record,
            &grid,
            &change("dbl", 12, "2026-09-01", "2026-09-03"),
            Some(&pool(1)),
            now(),
        ) else {
            panic!()
        };
        assert_eq!(short.len(), 3, "every short night");
        assert_eq!((short[0].requested, short[0].actual), (2, 1));
    }

    #[test]
    fn a_change_plans_header_history_grid_and_pool() {
        let (record, grid) = allotment();
        let cases = [
            // (change, pool deltas, new unit)
            (
                change("dbl", 12, "2026-09-02", "2026-09-03"),
                vec![2, 2],
                false,
            ),
            (
                change("dbl", 4, "2026-09-06", "2026-09-07"),
                vec![-6, -6],
                false,
            ),
            (change("sgl", 3, "2026-09-07", "2026-09-07"), vec![3], true),
        ];
        for (c, deltas, new_unit) in cases {
            // With enough free rooms read, or without the pool read: the same plan.
            for pool in [None, Some(pool(5))] {
                let p = plan_allocation(&record, &grid, &c, pool.as_ref(), now()).unwrap();
                assert_eq!(p.entry.quantity, Some(c.quantity));
                let [Change::Allotment {
                    record: next,
                    guard,
                }, Change::AllotmentNights { months, .. }, Change::History {
                    version, entries, ..
                }, Change::Pool { nights, .. }, Change::Event(event)] = &p.plan.changes[..]
                else {
                    panic!("unexpected plan {:?}", p.plan)
                };
                assert_eq!(
                    (event.event_type, event.sequence, &event.data),
                    (
                        crate::domain::event::EventType::AllocationChanged,
                        2,
                        &crate::domain::event::EventData::Allocation(p.entry.clone())
                    ),
                    "the change is the event's data"
                );
                assert_eq!(*guard, Guard::Version(1));
                assert_eq!(
                    (next.version, *version),
                    (2, 2),
                    "history under the next version"
                );
                assert_eq!(entries, &vec![p.entry.clone()]);
                assert_eq!(
                    nights.iter().map(|n| n.allotted).collect::<Vec<_>>(),
                    deltas
                );
                assert_eq!(months.len(), 1);
                assert!(!months[0].new_item);
                // A unit type of a month is written whole (the revision guards it).
                assert!(months[0].units[0].new_unit);
                let held = grid.keys().any(|(u, _)| u == &months[0].units[0].unit);
                assert_eq!(!held, new_unit);
                let changed = read::changed_nights(&p.plan, &grid);
                assert_eq!(changed.len(), deltas.len());
                assert!(changed
                    .iter()
                    .all(|(_, _, n)| n.allocated == c.quantity && n.contracted == c.quantity));
            }
        }
    }
}
