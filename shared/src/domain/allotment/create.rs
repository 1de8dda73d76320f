//! Creating an allotment: its header, its whole grid, the initial history, a hold
//! on the establishment and its rooms taken from the pool, all in one plan.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::grid::{initial_grid, Grid};
use super::history::initial_entries;
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use super::terms::NewAllotment;
use crate::domain::dates::Month;
use crate::domain::error::ApiError;
use crate::domain::event::EventType;
use crate::domain::ids::UnitTypeId;
use crate::domain::inventory::{pool_conflicts, PoolView};
use crate::domain::plan::{month_writes, Change, GridStamp, Guard, Plan, PoolDelta};

/// What a creation reads once its transaction was refused, to say why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreationDetails {
    /// The pool nights of the unit types and months it holds ([`creation_months`]).
    pub pool: PoolView,
    /// Whether the establishment still exists.
    pub establishment_exists: bool,
}

/// The pool buckets (unit type × month) a creation takes rooms from.
pub fn creation_months(new: &NewAllotment) -> Vec<(UnitTypeId, Month)> {
    let months = Month::range(new.period.from(), new.period.to()).collect::<Vec<_>>();
    new.unit_allocations
        .iter()
        .flat_map(|(unit, _)| months.iter().map(move |m| (unit.clone(), *m)))
        .collect()
}

/// Plans a new allotment `allotment_id` of `new` in the establishment's `time_zone`:
/// header (version 1, it must not exist), every grid month created whole, one initial
/// history entry per unit type, the establishment's holds `+1` (it must exist) and
/// every night's rooms taken from the pool. With the details read after a refusal:
/// `409 INSUFFICIENT_CAPACITY` naming every short night, or `404` once the
/// establishment is gone; else the same plan again (the state moved meanwhile).
pub fn plan_create(
    new: &NewAllotment,
    allotment_id: Uuid,
    time_zone: Tz,
    now: DateTime<Utc>,
    details: Option<&CreationDetails>,
) -> Result<AllotmentPlan, ApiError> {
    let record = AllotmentRecord::create(new, allotment_id, time_zone, now);
    let grid = initial_grid(&new.period, &new.unit_allocations);
    let taken: Vec<PoolDelta> = grid
        .iter()
        .map(|((unit, date), night)| PoolDelta::allot(unit, *date, night.allocated))
        .collect();
    if let Some(details) = details {
        let short = pool_conflicts(&details.pool, &taken);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
        if !details.establishment_exists {
            return Err(ApiError::NotFound("No such establishment".into()));
        }
    }
    let mut plan = Plan::new();
    plan.push(Change::Allotment {
        record: Box::new(record.clone()),
        guard: Guard::New,
    });
    plan.push(Change::AllotmentNights {
        allotment_id,
        months: month_writes(&Grid::new(), &grid),
        stamp: GridStamp {
            revisions: Default::default(),
            takes_pickups: record.takes_pickups(),
        },
    });
    plan.push(Change::History {
        allotment_id,
        version: record.version,
        part: 0,
        entries: initial_entries(&record, &grid),
    });
    plan.push(Change::EstablishmentHolds {
        establishment_id: record.establishment_id,
        delta: 1,
    });
    plan.push(Change::Pool {
        establishment_id: record.establishment_id,
        holder: Some(allotment_id),
        nights: taken,
    });
    Ok(AllotmentPlan { plan, record, grid }.announce(EventType::AllotmentCreated, now))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{d, new_allotment, now, read, u};
    use super::super::terms::Status;
    use super::*;
    use crate::domain::inventory::PoolNight;
    use serde_json::json;

    fn id() -> Uuid {
        Uuid::from_u128(7)
    }

    /// The pool of 1–7 Sep with `available` free `dbl` rooms each night but `short`.
    fn pool(available: i64, short: &[(&str, i64)]) -> PoolView {
        let mut view = PoolView::new();
        for day in 1..=7 {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 9, day).unwrap();
            let free = short
                .iter()
                .find(|(s, _)| d(s) == date)
                .map_or(available, |(_, f)| *f);
            let night = PoolNight {
                capacity: free,
                allotted: 0,
                picked_up: 0,
                available: free,
            };
            view.insert((u("dbl"), date), night);
        }
        view
    }

    #[test]
    fn refusals_after_a_refused_transaction_say_why() {
        let new = new_allotment(json!({}));
        let details = |pool: PoolView, exists: bool| CreationDetails {
            pool,
            establishment_exists: exists,
        };
        let cases = [
            (
                "two short nights",
                details(pool(12, &[("2026-09-03", 7), ("2026-09-04", 7)]), true),
                "INSUFFICIENT_CAPACITY",
                2,
            ),
            (
                "no pool at all",
                details(PoolView::new(), true),
                "INSUFFICIENT_CAPACITY",
                7,
            ),
            (
                "short and the establishment gone: the nights first",
                details(pool(0, &[]), false),
                "INSUFFICIENT_CAPACITY",
                7,
            ),
            (
                "the establishment gone",
                details(pool(10, &[]), false),
                "NOT_FOUND",
                0,
            ),
        ];
        for (case, details, code, short) in cases {
            let err = plan_create(&new, id(), chrono_tz::Europe::Paris, now(), Some(&details))
                .unwrap_err();
            assert_eq!(err.code(), code, "{case}");
            if let ApiError::InsufficientCapacity(nights) = err {
                assert_eq!(nights.len(), short, "{case}: every short night");
                assert!(nights.iter().all(|n| n.requested == 10), "{case}");
            }
        }
        let Err(ApiError::InsufficientCapacity(nights)) = plan_create(
            &new,
            id(),
            chrono_tz::Europe::Paris,
            now(),
            Some(&details(pool(12, &[("2026-09-04", 7)]), true)),
        ) else {
            panic!()
        };
        assert_eq!(
            (nights[0].date, nights[0].requested, nights[0].actual),
            (d("2026-09-04"), 10, 7)
        );
    }

    #[test]
    fn a_creation_plans_header_grid_history_holds_and_pool() {
        let enough = CreationDetails {
            pool: pool(10, &[]),
            establishment_exists: true,
        };
        let cases = [
            // (body, details, months written, history entries, pool nights)
            (json!({}), None, 1, 1, 7),
            (json!({}), Some(&enough), 1, 1, 7),
            (
                json!({"periodTo": "2026-10-02",
                       "unitAllocations": [{"unitTypeId": "sgl", "quantity": 2},
                                           {"unitTypeId": "dbl", "quantity": 3}]}),
                None,
                2,
                2,
                2 * 32,
            ),
        ];
        for (body, details, months, entries, pool_nights) in cases {
            let new = new_allotment(body.clone());
            let p = plan_create(&new, id(), chrono_tz::Europe::Paris, now(), details).unwrap();
            let (header, guard) = read::header(&p.plan).unwrap();
            assert_eq!(guard, Guard::New, "{body}");
            assert_eq!(header, &p.record);
            assert_eq!(
                (header.allotment_id, header.version, header.status),
                (id(), 1, Status::Active)
            );
            assert_eq!(header.time_zone, chrono_tz::Europe::Paris);
            let written = read::months(&p.plan);
            assert_eq!(written.len(), months, "{body}");
            assert!(
                written
                    .iter()
                    .all(|m| m.new_item && m.units.iter().all(|u| u.new_unit)),
                "every month created whole"
            );
            assert_eq!(read::nights(&p.plan).len(), p.grid.len(), "every night");
            let (version, history) = read::history(&p.plan).unwrap();
            assert_eq!((version, history.len()), (1, entries));
            assert!(history.iter().all(|e| e.previous_quantity == Some(0)
                && e.memo.as_deref() == Some("initial allocation")
                && e.from == new.period.from()
                && e.to == new.period.to()));
            assert_eq!(read::holds(&p.plan), Some(1));
            let taken = read::pool(&p.plan);
            assert_eq!(taken.len(), pool_nights, "{body}");
            for (unit, date, allotted) in taken {
                let night = &p.grid[&(u(&unit), date)];
                assert_eq!(allotted, night.allocated);
                assert_eq!(night.contracted, night.allocated);
            }
        }
    }
}
