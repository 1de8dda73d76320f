//! Cancelling an allotment: every room it holds goes back to the pool.

use chrono::{DateTime, Utc};

use super::grid::{Grid, GridNight};
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use super::terms::Status;
use crate::domain::error::ApiError;
use crate::domain::plan::{Change, PoolDelta};

/// `POST .../cancel`: status `cancelled`, `cancelledAt` now, `allocated` 0 on every
/// night and those rooms back to the pool, the establishment's holds down by one.
/// `None` when it is already cancelled (nothing to write: the answer is the current
/// representation); `409 INVALID_STATE` once released; `409 ALLOTMENT_HAS_PICKUPS`
/// while pickups are active. Every grid month is written (closed to pickups), each
/// guarded by the revision read, which every pickup moves: a pickup racing the
/// cancel refuses it, or is refused by the months it closed.
pub fn plan_cancel(
    record: &AllotmentRecord,
    grid: &Grid,
    now: DateTime<Utc>,
) -> Result<Option<AllotmentPlan>, ApiError> {
    match record.status {
        Status::Cancelled => return Ok(None),
        Status::Released => {
            return Err(ApiError::InvalidState(
                "Cannot cancel a released allotment".into(),
            ))
        }
        Status::Active => {}
    }
    if record.active_pickups > 0 {
        return Err(ApiError::AllotmentHasPickups);
    }
    let mut next = record.next_version(now);
    next.status = Status::Cancelled;
    next.cancelled_at = Some(now);

    let mut nights = Grid::new();
    let mut returned = Vec::new();
    for ((unit, date), n) in grid.iter().filter(|(_, n)| n.allocated != 0) {
        nights.insert(
            (unit.clone(), *date),
            GridNight {
                allocated: 0,
                ..n.clone()
            },
        );
        returned.push(PoolDelta::allot(unit, *date, -n.allocated));
    }
    let other = [
        Change::Pool {
            establishment_id: record.establishment_id,
            holder: None,
            nights: returned,
        },
        Change::EstablishmentHolds {
            establishment_id: record.establishment_id,
            delta: -1,
        },
    ];
    Ok(Some(
        AllotmentPlan::change(record, next, grid, nights, other)
            .announce(crate::domain::event::EventType::AllotmentCancelled, now),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{allotment, created, d, now, read, u};
    use super::*;
    use crate::domain::plan::Guard;
    use serde_json::json;

    #[test]
    fn refusals_and_nothing_to_do() {
        let (with_pickups, grid) = allotment();
        let (record, _) = created(json!({}));
        let mut released = record.clone();
        released.status = Status::Released;
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let cases = [
            (
                "active pickups",
                &with_pickups,
                Some("ALLOTMENT_HAS_PICKUPS"),
            ),
            ("released", &released, Some("INVALID_STATE")),
            ("cancelled again", &cancelled, None),
        ];
        for (case, r, code) in cases {
            match plan_cancel(r, &grid, now()) {
                Ok(planned) => assert!(code.is_none() && planned.is_none(), "{case}"),
                Err(e) => assert_eq!(Some(e.code()), code, "{case}"),
            }
        }
    }

    #[test]
    fn a_cancel_returns_every_held_room() {
        let (record, grid) = created(json!({}));
        // Nights 1–3 released, one room still allocated on 2 Sep.
        let mut half = record.clone();
        half.released_through = Some(d("2026-09-03"));
        let mut half_grid = grid.clone();
        for day in ["2026-09-01", "2026-09-02", "2026-09-03"] {
            let n = half_grid.get_mut(&(u("dbl"), d(day))).unwrap();
            n.allocated = if day == "2026-09-02" { 1 } else { 0 };
            n.released = 10 - n.allocated;
        }
        let cases = [
            // (record, grid, nights written, rooms returned)
            (&record, &grid, 7, 70),
            (&half, &half_grid, 5, 41),
        ];
        for (r, g, written, rooms) in cases {
            let p = plan_cancel(r, g, now()).unwrap().unwrap();
            let (next, guard) = read::header(&p.plan).unwrap();
            assert_eq!(guard, Guard::Version(1));
            assert_eq!(next, &p.record);
            assert_eq!((next.version, next.status), (2, Status::Cancelled));
            assert_eq!(next.cancelled_at, Some(now()));
            assert_eq!(read::changed_nights(&p.plan, g).len(), written);
            assert!(p.grid.values().all(|n| n.allocated == 0), "every night");
            assert_eq!(p.grid.len(), g.len());
            let returned: i64 = read::pool(&p.plan).iter().map(|(_, _, a)| -a).sum();
            assert_eq!(returned, rooms);
            assert_eq!(read::holds(&p.plan), Some(-1));
            assert_eq!(read::history(&p.plan), None, "a cancel keeps no history");
        }
    }
}
