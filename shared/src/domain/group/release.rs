//! The plans that give a group's rooms back: its release at cutoff and its delete.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::{GroupGrid, GroupNight, GroupPlan, LoadedGroup};
use crate::domain::allotment::part_end;
use crate::domain::dates::Month;
use crate::domain::error::ApiError;
use crate::domain::event::{
    Event, EventData, EventType, GroupDeleted, GroupReleased, GroupReleasedNight,
};
use crate::domain::plan::{whole_unit_writes, Change, Guard, Plan, PoolDelta};

/// Plans the release of every night of the group due at `now` (`None`: nothing is
/// due, e.g. another run did it). Each released night keeps only the rooms in use
/// (`shared = used`); the unused go back to the pool. A member's own release never
/// touches the group's rooms.
///
/// The plan: the header (next version, `releasedThrough` moved, guarded by the
/// version read), the nights that change, and the pool rooms.
///
/// When its event would list more than [`MAX_RELEASED_RUNS`] runs of nights, only the
/// nights up to the last date that keeps it within are released: the next plan (the
/// rest is still due) releases what follows.
pub fn plan_group_release(g: &LoadedGroup, now: DateTime<Utc>) -> Option<GroupPlan> {
    let through = g.record.due_through(now)?;
    let whole = plan_group_release_through(g, through, now);
    let runs = whole.plan.events().find_map(|e| match &e.data {
        EventData::GroupReleased(r) => Some(&r.nights),
        _ => None,
    })?;
    match part_end(runs.iter().map(|r| r.from).collect()) {
        Some(cut) if Some(cut) > g.record.released_through => {
            Some(plan_group_release_through(g, cut, now))
        }
        _ => Some(whole),
    }
}

fn plan_group_release_through(
    g: &LoadedGroup,
    through: NaiveDate,
    now: DateTime<Utc>,
) -> GroupPlan {
    let record = &g.record;
    let mut next = record.next_version(now);
    next.released_through = Some(
        through
            .min(record.period_to)
            .max(record.released_through.unwrap_or(through)),
    );
    let mut changed = GroupGrid::new();
    let mut pool = Vec::new();
    for ((ut, d), night) in &g.grid {
        if *d > through || record.is_night_released(*d) || night.available() <= 0 {
            continue;
        }
        changed.insert(
            (ut.clone(), *d),
            GroupNight {
                shared: night.used,
                used: night.used,
            },
        );
        pool.push(PoolDelta::allot(ut, *d, -night.available()));
    }
    let mut plan = Plan::new();
    plan.push(Change::Group {
        record: Box::new(next.clone()),
        active_draws: g.active_draws,
        guard: Guard::Version(record.version),
    });
    plan.push(Change::GroupNights {
        group_id: record.capacity_group_id,
        // Whole unit types of a month, exact under the version guard.
        months: whole_unit_writes(&g.grid, &changed),
    });
    plan.push(Change::Pool {
        establishment_id: record.establishment_id,
        holder: None,
        nights: pool,
    });
    // Consecutive nights of a unit type released alike: one run.
    let mut nights: Vec<GroupReleasedNight> = Vec::new();
    for ((ut, d), n) in &changed {
        let quantity = g.grid.get(&(ut.clone(), *d)).map_or(0, |o| o.shared) - n.shared;
        match nights.last_mut() {
            Some(run)
                if run.to.succ_opt() == Some(*d)
                    && (run.unit_type_id.as_str(), run.quantity, run.shared)
                        == (ut.as_str(), quantity, n.shared) =>
            {
                run.to = *d
            }
            _ => nights.push(GroupReleasedNight {
                unit_type_id: ut.to_string(),
                from: *d,
                to: *d,
                quantity,
                shared: n.shared,
            }),
        }
    }
    let mut grid = g.grid.clone();
    grid.extend(changed);
    // At the moment its last night released became due, whenever the run came.
    let occurred_at = next
        .released_through
        .map_or(now, |t| next.cutoff_rule().night_moment(t).min(now));
    let data = GroupReleased {
        nights,
        capacity_group: next.announced(),
    };
    plan.push(Event::group(
        EventType::CapacityGroupReleased,
        occurred_at,
        &next,
        next.version,
        EventData::GroupReleased(Box::new(data)),
    ));
    GroupPlan {
        plan,
        group: LoadedGroup {
            record: next,
            grid,
            active_draws: g.active_draws,
        },
    }
}

/// Plans the delete of a group: refused while pickups draw on it (`409
/// ALLOTMENT_HAS_PICKUPS`). Its unused rooms go back to the pool; its header (at the
/// version read) and nights, its name and its members' claims are removed; its
/// `capacity_group.deleted` occurs `now`.
pub fn plan_group_deletion(g: &LoadedGroup, now: DateTime<Utc>) -> Result<Plan, ApiError> {
    if g.active_draws > 0 {
        return Err(ApiError::AllotmentHasPickups);
    }
    let record = &g.record;
    let id = record.capacity_group_id;
    let months: BTreeSet<Month> = g.grid.keys().map(|(_, d)| Month::of(*d)).collect();
    let mut plan = Plan::new();
    plan.push(Change::DeleteGroup {
        group_id: id,
        version: record.version,
    });
    plan.push(Change::GroupName {
        establishment_id: record.establishment_id,
        name: record.name.clone(),
        taken_by: None,
    });
    for a in &record.allotment_ids {
        plan.push(Change::Membership {
            allotment_id: *a,
            group_id: id,
            claim: false,
        });
    }
    plan.push(Change::GroupNightsGone {
        group_id: id,
        months: months.into_iter().collect(),
    });
    plan.push(Change::EstablishmentHolds {
        establishment_id: record.establishment_id,
        delta: -1,
    });
    plan.push(Change::Pool {
        establishment_id: record.establishment_id,
        holder: None,
        nights: g
            .grid
            .iter()
            .map(|((ut, d), n)| PoolDelta::allot(ut, *d, -n.available()))
            .collect(),
    });
    let data = EventData::GroupDeleted(GroupDeleted {
        capacity_group_id: id,
        name: record.name.clone(),
    });
    plan.push(Event::group(
        EventType::CapacityGroupDeleted,
        now,
        record,
        record.version + 1,
        data,
    ));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::domain::event::{EventData, EventType};
    use chrono::NaiveDate;

    fn at(instant: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(instant)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// (case, released through before, run at, released through after, nights written
    /// as (date, shared), pool deltas)
    #[test]
    fn a_release_keeps_the_rooms_in_use_and_returns_the_rest() {
        type Case = (
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            Vec<(&'static str, i64)>,
            Vec<i64>,
        );
        // The group's cutoff is 15 Aug (Paris): every night is due from 15 Aug 22:00Z.
        let cases: Vec<Case> = vec![
            (
                "before the cutoff",
                None,
                "2026-08-15T21:59:00Z",
                None,
                vec![],
                vec![],
            ),
            (
                "at the cutoff",
                None,
                "2026-08-15T22:00:00Z",
                Some("2026-09-07"),
                vec![
                    ("2026-09-01", 0),
                    ("2026-09-02", 2),
                    ("2026-09-03", 2),
                    ("2026-09-04", 0),
                    ("2026-09-05", 0),
                    ("2026-09-06", 0),
                    ("2026-09-07", 0),
                ],
                vec![-5, -3, -3, -5, -5, -5, -5],
            ),
            (
                "a late run after a partial release",
                Some("2026-09-02"),
                "2026-09-30T00:00:00Z",
                Some("2026-09-07"),
                vec![
                    ("2026-09-03", 2),
                    ("2026-09-04", 0),
                    ("2026-09-05", 0),
                    ("2026-09-06", 0),
                    ("2026-09-07", 0),
                ],
                vec![-3, -5, -5, -5, -5],
            ),
            (
                "everything done already",
                Some("2026-09-07"),
                "2026-09-30T00:00:00Z",
                None,
                vec![],
                vec![],
            ),
        ];
        for (case, before, now, after, nights, pool) in cases {
            let mut g = loaded(2);
            g.record.released_through = before.map(d);
            let Some(p) = plan_group_release(&g, at(now)) else {
                assert!(after.is_none(), "{case}: nothing planned");
                continue;
            };
            let [Change::Group {
                record,
                active_draws: 1,
                guard: Guard::Version(1),
            }, rest @ ..] = &p.plan.changes[..]
            else {
                panic!("{case}: {:?}", p.plan)
            };
            assert_eq!(record.released_through, after.map(d), "{case}");
            assert_eq!((record.version, record.updated_at), (2, at(now)), "{case}");
            let mut written: Vec<(NaiveDate, i64)> = Vec::new();
            let mut returned: Vec<i64> = Vec::new();
            for c in rest {
                match c {
                    Change::GroupNights { months, .. } => {
                        for m in months {
                            for unit in &m.units {
                                assert!(!m.new_item && unit.new_unit, "whole unit types");
                                // The nights that change (the others as read).
                                for (date, n) in unit.nights.iter().filter(|(d, n)| {
                                    g.grid.get(&(unit.unit.clone(), *d)) != Some(n)
                                }) {
                                    assert_eq!(
                                        n.shared, n.used,
                                        "{case}: only the rooms in use stay"
                                    );
                                    written.push((*date, n.shared));
                                }
                            }
                        }
                    }
                    Change::Pool { nights, .. } => {
                        returned = nights.iter().map(|n| n.allotted).collect()
                    }
                    Change::Event(e) => {
                        assert_eq!(e.event_type, EventType::CapacityGroupReleased);
                        assert_eq!(e.sequence, 2);
                        // At its last released night's moment (a late run included).
                        let through = p.group.record.released_through.unwrap();
                        let moment = p.group.record.cutoff_rule().night_moment(through);
                        assert_eq!(e.occurred_at, moment.min(at(now)), "{case}");
                        let EventData::GroupReleased(data) = &e.data else {
                            panic!("{case}: {e:?}")
                        };
                        // Runs of nights released alike: their rooms add up.
                        let back: i64 = data
                            .nights
                            .iter()
                            .map(|n| n.quantity * ((n.to - n.from).num_days() + 1))
                            .sum();
                        assert_eq!(back, -pool.iter().sum::<i64>(), "{case}");
                    }
                    other => panic!("{case}: unexpected {other:?}"),
                }
            }
            let want: Vec<(NaiveDate, i64)> = nights.iter().map(|(s, q)| (d(s), *q)).collect();
            assert_eq!(written, want, "{case}");
            assert_eq!(returned, pool, "{case}");
            assert_eq!(p.group.record, **record);
            assert_eq!(
                p.group.grid[&(u("dbl"), d("2026-09-03"))],
                GroupNight { shared: 2, used: 2 }
            );
        }
        // A night with nothing unused is not written again.
        let mut full = loaded(5);
        full.record.released_through = Some(d("2026-09-01"));
        let p = plan_group_release(&full, at("2026-08-15T22:00:00Z")).unwrap();
        let Change::GroupNights { months, .. } = &p.plan.changes[1] else {
            panic!()
        };
        let dates: Vec<NaiveDate> = months[0].units[0]
            .nights
            .iter()
            .filter(|(d, n)| full.grid.get(&(u("dbl"), *d)) != Some(n))
            .map(|(d, _)| *d)
            .collect();
        assert!(!dates.contains(&d("2026-09-02")) && !dates.contains(&d("2026-09-03")));
        assert_eq!(dates.len(), 4);
    }

    #[test]
    fn a_delete_waits_for_pickups_and_returns_the_unused_rooms() {
        assert_eq!(
            plan_group_deletion(&loaded(2), now()).unwrap_err().code(),
            "ALLOTMENT_HAS_PICKUPS"
        );
        let mut g = loaded(0);
        g.record.released_through = Some(d("2026-09-01"));
        g.grid.get_mut(&(u("dbl"), d("2026-09-01"))).unwrap().shared = 0;
        let plan = plan_group_deletion(&g, now()).unwrap();
        let [Change::DeleteGroup {
            group_id: GROUP,
            version: 1,
        }, Change::GroupName {
            name,
            taken_by: None,
            ..
        }, Change::Membership {
            allotment_id: MEMBER,
            group_id: GROUP,
            claim: false,
        }, Change::GroupNightsGone {
            group_id: GROUP,
            months,
        }, Change::EstablishmentHolds { delta: -1, .. }, Change::Pool { nights, .. }, Change::Event(event)] =
            &plan.changes[..]
        else {
            panic!("unexpected plan {plan:?}")
        };
        assert_eq!(
            (event.event_type, event.sequence, event.occurred_at),
            (EventType::CapacityGroupDeleted, 2, now())
        );
        assert_eq!(months, &[Month::of(d("2026-09-01"))]);
        assert_eq!(name, "Pool");
        assert_eq!(
            nights.iter().map(|n| n.allotted).collect::<Vec<_>>(),
            [0, -5, -5, -5, -5, -5, -5]
        );
    }

    #[test]
    fn a_release_too_big_for_one_event_goes_in_parts() {
        // 50 unit types over a year, a room in use every other night: 18,250 runs.
        let mut g = loaded(0);
        g.record.period_to = d("2027-08-31");
        let nights =
            crate::domain::dates::NightRange::new(g.record.period_from, g.record.period_to, 800)
                .unwrap();
        g.grid = (0..50)
            .flat_map(|i| {
                let unit = u(&format!("u{i:02}"));
                nights.iter().map(move |night| {
                    let used = i64::from(chrono::Datelike::day(&night) % 2);
                    ((unit.clone(), night), GroupNight { shared: 5, used })
                })
            })
            .collect();
        let (mut parts, mut back) = (0, 0);
        let late = at("2027-12-31T00:00:00Z");
        while let Some(p) = plan_group_release(&g, late) {
            let Some(EventData::GroupReleased(data)) =
                p.plan.events().map(|e| e.data.clone()).next()
            else {
                panic!("no release event")
            };
            assert!(data.nights.len() <= crate::domain::allotment::MAX_RELEASED_RUNS);
            assert!(p.group.record.released_through > g.record.released_through);
            back += data
                .nights
                .iter()
                .map(|n| n.quantity * ((n.to - n.from).num_days() + 1))
                .sum::<i64>();
            parts += 1;
            g = p.group;
            if g.record.released_through == Some(g.record.period_to) {
                break;
            }
        }
        assert!((18..=20).contains(&parts), "{parts} parts");
        let used: i64 = g.grid.values().map(|n| n.used).sum();
        assert_eq!(back, 50 * 365 * 5 - used, "every unused room back once");
        assert!(g.grid.values().all(|n| n.shared == n.used));
    }
}
