//! Releasing nights: manually (the rest of the period, now) or at cutoff (the nights
//! due). A released night keeps the rooms picked up from the allotment's own
//! allocation and gives the rest back to the pool; the rooms a capacity group
//! supplied stay the group's.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::grid::{Grid, GridNight};
use super::history::{AllocationEntry, NightChange};
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use super::terms::Status;
use super::terms::MAX_TRANSACTION_ITEMS;
use crate::domain::error::ApiError;
use crate::domain::event::{AllotmentReleased, EventData, EventType, ReleasedNight};
use crate::domain::ids::UnitTypeId;
use crate::domain::plan::{pack, Change, Plan, PoolDelta};

/// Why nights are released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseReason {
    Cutoff,
    Manual(Option<String>),
}

impl ReleaseReason {
    pub fn memo(&self) -> String {
        match self {
            ReleaseReason::Cutoff => "released at cutoff".into(),
            ReleaseReason::Manual(None) => "released manually".into(),
            ReleaseReason::Manual(Some(r)) => format!("released manually: {r}"),
        }
    }
}

/// A release's plan, with what the cutoff run reports of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasePlan {
    pub allotment: AllotmentPlan,
    /// Nights released (one per unit type and night).
    pub released_nights: u64,
    /// The allotment has no night left: it becomes `released`.
    pub finished: bool,
    /// Nights up to the date asked are left for a next part (see
    /// [`MAX_RELEASED_RUNS`]).
    pub more: bool,
}

/// Runs of nights one `allotment.released` lists at most (about 115 bytes each: the
/// event stays well under DynamoDB's 400 KB item and EventBridge's 256 KB entry). A
/// release that would list more goes in parts, each its own version and event,
/// earliest nights first (nights vary run by run only where pickups or allocation
/// changes made them differ).
pub const MAX_RELEASED_RUNS: usize = 1_000;

/// Releases every unreleased night up to `through` (at most the period's end) of an
/// active allotment: on each, `allocated` becomes the rooms picked up from its own
/// allocation, `released = contracted - allocated`, `releasedAt` its own release
/// moment at cutoff (so a late or repeated run writes what a timely one would) or
/// `now` for a manual release, and the difference goes back to the pool. One history
/// entry per unit type, under the next version; `releasedThrough` moves to `through`;
/// once no night is left the allotment is `released` and the establishment's holds
/// go down by one. A manual release also records `manuallyReleasedAt`.
///
/// When its event would list more than [`MAX_RELEASED_RUNS`] runs of nights, only the
/// nights up to the last date that keeps it within are released (`more`).
pub fn plan_release(
    record: &AllotmentRecord,
    grid: &Grid,
    through: NaiveDate,
    reason: &ReleaseReason,
    now: DateTime<Utc>,
) -> Result<ReleasePlan, ApiError> {
    let whole = plan_release_through(record, grid, through, reason, now)?;
    let Some(cut) = part_through(&whole) else {
        return Ok(whole);
    };
    let part = plan_release_through(record, grid, cut, reason, now)?;
    if part.released_nights == 0 {
        return Ok(whole);
    }
    Ok(ReleasePlan { more: true, ..part })
}

/// The last date before which a release's event lists at most [`MAX_RELEASED_RUNS`]
/// runs (`None`: it fits).
fn part_through(plan: &ReleasePlan) -> Option<NaiveDate> {
    let runs = plan.allotment.plan.events().find_map(|e| match &e.data {
        EventData::Released(r) => Some(&r.nights),
        _ => None,
    })?;
    part_end(runs.iter().map(|r| r.from).collect())
}

/// Where the first part of a release whose runs start on `starts` ends: the day before
/// the first night of the run past [`MAX_RELEASED_RUNS`] (`None`: they fit one event).
/// Every run starting on or before it counts (cut short, it stays one); a date starts
/// at most one run per unit type (50 at most), so the part keeps a night.
pub fn part_end(mut starts: Vec<NaiveDate>) -> Option<NaiveDate> {
    if starts.len() <= MAX_RELEASED_RUNS {
        return None;
    }
    starts.sort();
    starts[MAX_RELEASED_RUNS].pred_opt()
}

fn plan_release_through(
    record: &AllotmentRecord,
    grid: &Grid,
    through: NaiveDate,
    reason: &ReleaseReason,
    now: DateTime<Utc>,
) -> Result<ReleasePlan, ApiError> {
    record.require_active("release")?;
    let through = through.min(record.period_to);
    let mut next = record.next_version(now);
    next.released_through = Some(record.released_through.map_or(through, |p| p.max(through)));
    let finished = next.released_through == Some(record.period_to);
    if finished {
        next.status = Status::Released;
    }
    if let ReleaseReason::Manual(_) = reason {
        next.manually_released_at = Some(now);
    }

    let mut nights = Grid::new();
    let mut returned = Vec::new();
    let mut by_unit: BTreeMap<&UnitTypeId, Vec<NightChange>> = BTreeMap::new();
    for ((unit, date), n) in grid {
        if *date > through || record.is_night_released(*date) {
            continue;
        }
        let released_at = match reason {
            ReleaseReason::Cutoff => record.cutoff_rule().night_moment(*date),
            ReleaseReason::Manual(_) => now,
        };
        let kept = n.own_picked_up();
        nights.insert(
            (unit.clone(), *date),
            GridNight {
                allocated: kept,
                released: n.contracted - kept,
                released_at: Some(released_at),
                ..n.clone()
            },
        );
        by_unit.entry(unit).or_default().push(NightChange {
            date: *date,
            previous_quantity: n.allocated,
            quantity: kept,
        });
        returned.push(PoolDelta::allot(unit, *date, kept - n.allocated));
    }
    let entries: Vec<AllocationEntry> = by_unit
        .into_iter()
        .filter_map(|(unit, changes)| {
            AllocationEntry::new(record.allotment_id, unit, changes, Some(reason.memo()), now)
        })
        .collect();

    let mut other = vec![
        Change::History {
            allotment_id: record.allotment_id,
            version: next.version,
            part: 0,
            entries,
        },
        Change::Pool {
            establishment_id: record.establishment_id,
            holder: None,
            nights: returned,
        },
    ];
    if finished {
        other.push(Change::EstablishmentHolds {
            establishment_id: record.establishment_id,
            delta: -1,
        });
    }
    let released_nights = nights.len() as u64;
    let (occurred_at, why, released) = released_event(grid, &nights, reason, now);
    let allotment = AllotmentPlan::change(record, next, grid, nights, other);
    let data = AllotmentReleased {
        reason: why,
        nights: released,
        allotment: allotment.record.representation(&allotment.grid),
    };
    let allotment = allotment.announce_with(
        EventType::AllotmentReleased,
        occurred_at,
        EventData::Released(Box::new(data)),
    );
    Ok(ReleasePlan {
        allotment,
        released_nights,
        finished,
        more: false,
    })
}

/// The `allotment.released` of the nights `released` (of `grid` before): each
/// night's rooms given back and kept; it occurs at `now` for a manual release, at
/// the latest release moment of its nights at cutoff (the moment they were all due,
/// whenever the run came).
fn released_event(
    grid: &Grid,
    released: &Grid,
    reason: &ReleaseReason,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, &'static str, Vec<ReleasedNight>) {
    let mut nights: Vec<ReleasedNight> = Vec::new();
    for ((unit, date), n) in released {
        let night = ReleasedNight {
            unit_type_id: unit.to_string(),
            from: *date,
            to: *date,
            quantity: grid.get(&(unit.clone(), *date)).map_or(0, |b| b.allocated) - n.allocated,
            allocated: n.allocated,
            released_at: n.released_at.unwrap_or(now),
        };
        // The night after the last run, released alike: the run goes on.
        match nights.last_mut() {
            Some(run)
                if run.to.succ_opt() == Some(night.from)
                    && (
                        &run.unit_type_id,
                        run.quantity,
                        run.allocated,
                        run.released_at,
                    ) == (
                        &night.unit_type_id,
                        night.quantity,
                        night.allocated,
                        night.released_at,
                    ) =>
            {
                run.to = night.to
            }
            _ => nights.push(night),
        }
    }
    let (why, at) = match reason {
        ReleaseReason::Manual(_) => ("manual", now),
        ReleaseReason::Cutoff => (
            "cutoff",
            nights.iter().map(|n| n.released_at).max().unwrap_or(now),
        ),
    };
    (at, why, nights)
}

/// `POST .../release`: every unreleased night now. `None` when it is already
/// released (nothing to write: the answer is the current representation);
/// `409 INVALID_STATE` when cancelled.
pub fn plan_manual_release(
    record: &AllotmentRecord,
    grid: &Grid,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<AllotmentPlan>, ApiError> {
    match record.status {
        Status::Released => Ok(None),
        Status::Cancelled => Err(ApiError::InvalidState(
            "Cannot release a cancelled allotment".into(),
        )),
        Status::Active => {
            let through = record.period_to;
            plan_release(record, grid, through, &ReleaseReason::Manual(reason), now)
                .map(|p| Some(p.allotment))
        }
    }
}

/// The next part of a manual release too big for one event (see [`MAX_RELEASED_RUNS`]):
/// `None` when none is needed (it fits, or nothing is left to release).
pub fn plan_manual_release_part(
    record: &AllotmentRecord,
    grid: &Grid,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<AllotmentPlan>, ApiError> {
    if record.status != Status::Active {
        return Ok(None);
    }
    let through = record.period_to;
    let p = plan_release(record, grid, through, &ReleaseReason::Manual(reason), now)?;
    Ok(p.more.then_some(p.allotment))
}

/// The scheduled release at `now`: the nights due (`None` when none is, e.g. done by
/// another run, moved by a `PATCH`, or no longer active).
pub fn plan_cutoff_release(
    record: &AllotmentRecord,
    grid: &Grid,
    now: DateTime<Utc>,
) -> Result<Option<ReleasePlan>, ApiError> {
    match record.due_through(now) {
        None => Ok(None),
        Some(through) => plan_release(record, grid, through, &ReleaseReason::Cutoff, now).map(Some),
    }
}

/// Items of one transaction the cutoff keeps free (slack: the events item of each
/// establishment in a batch is counted by `pack` as an item its releases share).
pub const BATCH_RESERVE: usize = 1;
/// At most this many items of releases in one transaction.
pub const BATCH_ITEMS: usize = MAX_TRANSACTION_ITEMS - BATCH_RESERVE;

/// The cutoff releases of several allotments of one tenant, cut into transactions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batches {
    /// Each transaction's releases, as positions in the plans given: those of one
    /// establishment side by side, so they share its pool buckets and holds.
    pub batches: Vec<Vec<usize>>,
    /// Releases that do not fit a batch (a release too large to share a transaction):
    /// each goes alone, the way one allotment is released.
    pub alone: Vec<usize>,
}

/// Cuts cutoff releases (of one tenant) into transactions of at most [`BATCH_ITEMS`]
/// items, merged by [`crate::domain::plan::merge`]: each release's header (guarded by the version read),
/// grid months and history entry, the pool deltas summed per bucket and the holds per
/// establishment.
pub fn batch_releases(plans: &[&ReleasePlan]) -> Batches {
    let mut out = Batches::default();
    let mut fits = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if p.allotment.plan.items() <= BATCH_ITEMS {
            fits.push(i);
        } else {
            out.alone.push(i);
        }
    }
    fits.sort_by_key(|i| (plans[*i].allotment.record.establishment_id, *i));
    let parts: Vec<&Plan> = fits.iter().map(|i| &plans[*i].allotment.plan).collect();
    out.batches = pack(&parts, BATCH_ITEMS)
        .into_iter()
        .map(|run| fits[run].to_vec())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{allotment, at, created, d, now, read};
    use super::*;
    use crate::domain::plan::Guard;
    use serde_json::json;

    #[test]
    fn refusals_and_nothing_to_do() {
        let (record, grid) = allotment();
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let mut released = record.clone();
        released.status = Status::Released;
        released.released_through = Some(record.period_to);
        let reason = ReleaseReason::Manual(None);
        for (case, r) in [("cancelled", &cancelled), ("released", &released)] {
            let err = plan_release(r, &grid, r.period_to, &reason, now()).unwrap_err();
            assert_eq!(err.code(), "INVALID_STATE", "{case}");
        }
        let manual = [
            (&cancelled, Some("INVALID_STATE")),
            (&released, None), // released again: nothing to write
        ];
        for (r, code) in manual {
            match plan_manual_release(r, &grid, None, now()) {
                Ok(planned) => assert!(code.is_none() && planned.is_none()),
                Err(e) => assert_eq!(Some(e.code()), code),
            }
        }
        // Nothing due yet, or no longer active: the cutoff writes nothing.
        let cutoff = [
            (&record, "2026-08-01T21:59:59Z"),
            (&cancelled, "2026-09-30T00:00:00Z"),
            (&released, "2026-09-30T00:00:00Z"),
        ];
        for (r, time) in cutoff {
            assert_eq!(
                plan_cutoff_release(r, &grid, at(time)).unwrap(),
                None,
                "{time}"
            );
        }
    }

    #[test]
    fn a_manual_release_plans_every_night_now() {
        let (record, grid) = allotment();
        let mut half = record.clone();
        half.released_through = Some(d("2026-09-03"));
        let cases = [
            // (record, reason, nights released, memo)
            (&record, None, 7, "released manually"),
            (
                &half,
                Some("overbooked".to_string()),
                4,
                "released manually: overbooked",
            ),
        ];
        for (r, reason, count, memo) in cases {
            let p = plan_manual_release(r, &grid, reason, now())
                .unwrap()
                .unwrap();
            let (next, guard) = read::header(&p.plan).unwrap();
            assert_eq!(guard, Guard::Version(r.version));
            assert_eq!(next, &p.record, "the answer is the planned record");
            assert_eq!(next.version, r.version + 1);
            assert_eq!(next.status, Status::Released);
            assert_eq!(next.released_through, Some(d("2026-09-07")));
            assert_eq!(next.manually_released_at, Some(now()));
            assert_eq!(next.updated_at, now());
            let nights = read::changed_nights(&p.plan, &grid);
            assert_eq!(nights.len(), count, "only unreleased nights");
            for (unit, date, n) in &nights {
                let kept = if *date == d("2026-09-02") { 3 } else { 0 };
                assert_eq!(
                    (unit.as_str(), n.allocated, n.released),
                    ("dbl", kept, 10 - kept)
                );
                assert_eq!(n.released_at, Some(now()));
                assert_eq!(p.grid[&(super::super::fixtures::u(unit), *date)], *n);
            }
            let returned: i64 = read::pool(&p.plan).iter().map(|(_, _, a)| a).sum();
            assert_eq!(
                returned,
                -(10 * count as i64 - if count == 7 { 3 } else { 0 })
            );
            let (version, entries) = read::history(&p.plan).unwrap();
            assert_eq!(version, next.version, "history under the next version");
            assert_eq!(entries.len(), 1, "one entry per unit type");
            assert_eq!(entries[0].memo.as_deref(), Some(memo));
            assert_eq!(entries[0].previous_quantity, Some(10));
            assert_eq!(read::holds(&p.plan), Some(-1), "finished");
        }
    }

    #[test]
    fn the_cutoff_releases_what_is_due_at_each_nights_own_moment() {
        // Rolling release of 2 days before a fixed cutoff of 5 Sep (Paris): night
        // `d` goes at 00:00 local on `d - 2`, every night left on 6 Sep 00:00.
        let (rolling, grid) = created(json!({"cutoffDate": "2026-09-05", "releaseDays": 2}));
        // A tentative option ignores its release days: whole at the fixed cutoff.
        let (option, option_grid) = created(json!({"allotmentType": "tentative",
            "releaseDays": 30, "penaltyPerRoomNightCents": null}));
        let mut half = rolling.clone();
        half.released_through = Some(d("2026-09-03"));
        let cases = [
            // (record, grid, run at, released through, nights, finished, first moment)
            (
                &rolling,
                &grid,
                "2026-08-29T22:00:00Z",
                "2026-09-01",
                1,
                false,
                "2026-08-29T22:00:00Z",
            ),
            (
                &rolling,
                &grid,
                "2026-08-31T22:30:00Z",
                "2026-09-03",
                3,
                false,
                "2026-08-29T22:00:00Z",
            ),
            (
                &half,
                &grid,
                "2026-09-01T22:00:00Z",
                "2026-09-04",
                1,
                false,
                "2026-09-01T22:00:00Z",
            ),
            (
                &half,
                &grid,
                "2026-09-05T22:00:00Z",
                "2026-09-07",
                4,
                true,
                "2026-09-01T22:00:00Z",
            ),
            (
                &option,
                &option_grid,
                "2026-08-01T22:00:00Z",
                "2026-09-07",
                7,
                true,
                "2026-08-01T22:00:00Z",
            ),
        ];
        for (r, g, time, through, count, finished, first) in cases {
            let p = plan_cutoff_release(r, g, at(time)).unwrap().unwrap();
            assert_eq!((p.released_nights, p.finished), (count, finished), "{time}");
            let next = &p.allotment.record;
            assert_eq!(next.released_through, Some(d(through)), "{time}");
            assert_eq!(
                next.status,
                if finished {
                    Status::Released
                } else {
                    Status::Active
                }
            );
            assert_eq!(next.manually_released_at, None);
            let nights = read::changed_nights(&p.allotment.plan, g);
            assert_eq!(nights.len() as u64, count);
            assert_eq!(nights[0].2.released_at, Some(at(first)), "{time}");
            for (_, date, n) in &nights {
                assert_eq!(n.released_at, Some(r.cutoff_rule().night_moment(*date)));
                assert_eq!((n.allocated, n.released), (0, 10));
            }
            assert_eq!(read::pool(&p.allotment.plan).len() as u64, count);
            assert_eq!(
                read::holds(&p.allotment.plan),
                finished.then_some(-1),
                "{time}"
            );
            let (_, entries) = read::history(&p.allotment.plan).unwrap();
            assert_eq!(entries[0].memo.as_deref(), Some("released at cutoff"));
        }
    }

    #[test]
    fn group_rooms_stay_the_groups() {
        let (record, mut grid) = allotment();
        let night = grid
            .get_mut(&(super::super::fixtures::u("dbl"), d("2026-09-02")))
            .unwrap();
        night.from_group = 1; // 3 picked up, 1 of them from the group
        let p = plan_release(
            &record,
            &grid,
            d("2026-09-02"),
            &ReleaseReason::Cutoff,
            now(),
        )
        .unwrap();
        let nights = read::nights(&p.allotment.plan);
        let second = &nights[1].2;
        assert_eq!(
            (second.allocated, second.picked_up, second.from_group),
            (2, 3, 1)
        );
        assert_eq!(second.released, 8);
        assert_eq!(second.remaining(), 0);
        assert_eq!(
            read::pool(&p.allotment.plan)
                .iter()
                .map(|(_, _, a)| *a)
                .collect::<Vec<_>>(),
            [-10, -8]
        );
        assert_eq!(read::holds(&p.allotment.plan), None, "nights are left");
    }

    /// Releases of one moment cut into transactions: one establishment's side by side
    /// sharing its pool bucket and holds, within the item budget, the pool deltas and
    /// holds summed; a release too large to share goes alone.
    #[test]
    fn cutoff_releases_batch_by_establishment_within_the_item_budget() {
        use crate::domain::plan::{merge, Change, SharedItem};
        let moment = at("2026-08-01T22:00:00Z");
        let release_of = |hotel: u128, id: u128| {
            let (mut r, mut g) = created(json!({"releaseDays": null}));
            r.establishment_id = uuid::Uuid::from_u128(hotel);
            r.allotment_id = uuid::Uuid::from_u128(id);
            if let Some(n) = g.get_mut(&(super::super::fixtures::u("dbl"), d("2026-09-02"))) {
                n.picked_up = 3;
            }
            plan_cutoff_release(&r, &g, moment).unwrap().unwrap()
        };
        // 40 of hotel 1 and 2 of hotel 2, interleaved as the index might give them.
        let mut plans: Vec<ReleasePlan> = (0..42)
            .map(|i| release_of(if i % 20 == 7 { 2 } else { 1 }, 100 + i))
            .collect();
        // Header, one grid month, history: 3 items each; pool bucket, holds and the
        // events item shared by the releases of an establishment.
        assert_eq!(plans[0].allotment.plan.items(), 6);
        // A release that cannot share a transaction.
        let mut huge = release_of(1, 999);
        for _ in 0..BATCH_ITEMS {
            huge.allotment.plan.push(Change::Membership {
                allotment_id: huge.allotment.record.allotment_id,
                group_id: uuid::Uuid::nil(),
                claim: true,
            });
        }
        plans.push(huge);
        let refs: Vec<&ReleasePlan> = plans.iter().collect();
        let cut = batch_releases(&refs);
        assert_eq!(cut.alone, [42]);
        let sizes: Vec<usize> = cut.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 42, "every other release, once");
        // 32 × 3 + pool + holds + events = 99 ≤ 99; the 33rd would make 102.
        assert_eq!(sizes, [32, 10]);
        for batch in &cut.batches {
            let parts: Vec<&Plan> = batch.iter().map(|i| &plans[*i].allotment.plan).collect();
            let merged = merge(&parts);
            assert!(
                merged.plan.items() <= BATCH_ITEMS,
                "{}",
                merged.plan.items()
            );
            assert_eq!(merged.owners.len(), merged.plan.changes.len());
            let shared: Vec<(SharedItem, Option<usize>)> = merged
                .plan
                .changes
                .iter()
                .zip(&merged.owners)
                .filter(|(c, _)| !matches!(c, Change::Event(_)))
                .filter_map(|(c, o)| c.shared_items().map(|s| (s[0].clone(), *o)))
                .collect();
            for (item, owner) in &shared {
                assert_eq!(*owner, None, "{item:?} is written by several releases");
            }
            // Each establishment's pool: the sum of its releases' deltas, once.
            for c in &merged.plan.changes {
                if let Change::Pool {
                    establishment_id,
                    nights,
                    ..
                } = c
                {
                    let of_hotel = batch
                        .iter()
                        .filter(|i| {
                            plans[**i].allotment.record.establishment_id == *establishment_id
                        })
                        .count() as i64;
                    let want: Vec<i64> = [-10, -7, -10, -10, -10, -10, -10]
                        .iter()
                        .map(|a| a * of_hotel)
                        .collect();
                    assert_eq!(nights.iter().map(|n| n.allotted).collect::<Vec<_>>(), want);
                }
                if let Change::EstablishmentHolds {
                    establishment_id,
                    delta,
                } = c
                {
                    let of_hotel = batch
                        .iter()
                        .filter(|i| {
                            plans[**i].allotment.record.establishment_id == *establishment_id
                        })
                        .count() as i64;
                    assert_eq!(*delta, -of_hotel);
                }
            }
        }
        // The two of hotel 2 are side by side (sorted by establishment) in the last.
        let last = &cut.batches[1];
        let hotels: Vec<u128> = last
            .iter()
            .map(|i| plans[*i].allotment.record.establishment_id.as_u128())
            .collect();
        assert_eq!(hotels, [1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
        // Alone, a release's own changes keep their single owner.
        let one = merge(&[&plans[0].allotment.plan]);
        assert!(one.owners.iter().all(|o| *o == Some(0)));
        assert_eq!(one.plan.items(), 6);
    }

    #[test]
    fn a_release_too_big_for_one_event_goes_in_parts_earliest_nights_first() {
        // 50 unit types over a year, every other night with a room picked up: 18,250
        // runs of one night each.
        let units: Vec<_> = (0..50)
            .map(|i| json!({"unitTypeId": format!("u{i:02}"), "quantity": 5}))
            .collect();
        let (mut record, mut grid) = created(json!({"periodFrom": "2026-09-01",
            "periodTo": "2027-08-31", "unitAllocations": units}));
        for ((_, date), n) in grid.iter_mut() {
            n.picked_up = i64::from(chrono::Datelike::day(date) % 2);
        }
        let (mut parts, mut released, mut last_through) = (0, 0, None);
        loop {
            let reason = ReleaseReason::Manual(None);
            let p = plan_release(&record, &grid, record.period_to, &reason, now()).unwrap();
            let runs = p
                .allotment
                .plan
                .events()
                .find_map(|e| match &e.data {
                    EventData::Released(r) => Some(r.nights.len()),
                    _ => None,
                })
                .unwrap();
            assert!(runs <= MAX_RELEASED_RUNS, "{runs} runs in one event");
            assert_eq!(p.finished, !p.more);
            // Each part takes the nights after the last one's.
            assert!(p.allotment.record.released_through > last_through);
            last_through = p.allotment.record.released_through;
            parts += 1;
            released += p.released_nights;
            (record, grid) = (p.allotment.record, p.allotment.grid);
            if !p.more {
                break;
            }
        }
        assert_eq!(released, 50 * 365, "every night once");
        assert_eq!(record.status, Status::Released);
        assert!((18..=20).contains(&parts), "{parts} parts");
        // A release that fits is one part.
        let (record, grid) = allotment();
        let reason = ReleaseReason::Manual(None);
        let p = plan_release(&record, &grid, record.period_to, &reason, now()).unwrap();
        assert!(!p.more && p.finished);
        assert_eq!(
            plan_manual_release_part(&record, &grid, None, now()).unwrap(),
            None
        );
    }
}
