//! Plans too big for one transaction (DynamoDB takes at most 100 items): the steps
//! they are applied in, all or nothing as seen through the API.
//!
//! A creation (an allotment's or a capacity group's header new) is split into
//! **prepare** steps and a **commit**:
//! - each prepare step holds changes nobody sees before the commit — pool rooms taken
//!   (one bucket per unit type and month), grid months created, history parts, a
//!   group's member claims — and each is undone exactly by its inverse (rooms given
//!   back, items deleted, claims given up);
//! - the commit writes what makes it exist for the API: its header (and a group's
//!   name), the establishment's holds, the events and the idempotency record.
//!
//! A member claimed by a group still preparing is in no group for a pickup (the group
//! does not exist yet) and cannot be claimed by another group meanwhile (its claim
//! exists): for a few seconds, or until the sweeper undoes a crashed request.
//!
//! A change of an allotment that exists (a cancel, a release: rooms only go back to the
//! pool) is split the other way, **forward**: the commit holds everything but the pool
//! buckets beyond what fits, which follow in steps that cannot be refused (rooms given
//! back), finished by whoever finds them unfinished.
//!
//! `store::steps` runs them, keeps the record of each step done (so a failed step, a
//! crash or a lost answer is undone or finished exactly once) and the sweeper
//! (`Store::sweep_steps`, from the scheduled cutoff run) that finishes what a crashed
//! request left.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::dates::Month;
use super::error::ApiError;
use super::ids::UnitTypeId;
use super::plan::{Change, Guard, MonthWrite, Plan, PoolDelta};

/// Items of one step at most (its own record fits beside them): small steps, sent
/// side by side, so each transaction stays short even on DynamoDB Local.
pub const STEP_ITEMS: usize = 40;
/// Bytes of one step at most (estimated; DynamoDB's limit is 4 MB a transaction).
pub const STEP_BYTES: usize = 600_000;
/// Nights of history in one stored part at most (about 60 bytes each as JSON: well
/// under the 400 KB item limit).
pub const HISTORY_PART_NIGHTS: usize = 4_000;

/// How a plan too big for one transaction is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps {
    /// The allotment whose partition keeps the record of the steps.
    pub owner: Uuid,
    pub kind: StepsKind,
    /// Applied before the commit (`Prepare`, each undone if anything fails) or after it
    /// (`Forward`, each finished whatever happens).
    pub steps: Vec<Plan>,
    /// The one transaction that makes the change visible.
    pub commit: Plan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepsKind {
    Prepare,
    Forward,
}

/// The steps of `plan`, or `None` when it fits one transaction. A plan too big that is
/// neither a creation nor a change that only gives rooms back is an internal error
/// (every such command is bounded by the contract's limits to fit).
pub fn split(plan: &Plan, max_items: usize) -> Result<Option<Steps>, ApiError> {
    if plan.items() <= max_items {
        return Ok(None);
    }
    let creation = plan.changes.iter().find_map(|c| match c {
        Change::Allotment {
            record,
            guard: Guard::New,
        } => Some(record.allotment_id),
        Change::Group {
            record,
            guard: Guard::New,
            ..
        } => Some(record.capacity_group_id),
        _ => None,
    });
    if let Some(owner) = creation {
        return Ok(Some(prepare(plan, owner)));
    }
    let owner = plan.changes.iter().find_map(|c| match c {
        Change::Allotment { record, .. } => Some(record.allotment_id),
        _ => None,
    });
    match owner {
        Some(owner) => forward(plan, owner, max_items).map(Some),
        None => Err(ApiError::Internal(format!(
            "a plan of {} items that is not an allotment's",
            plan.items()
        ))),
    }
}

/// A creation: what nobody sees yet in steps, the rest in the commit.
fn prepare(plan: &Plan, owner: Uuid) -> Steps {
    let mut hidden = Vec::new();
    let mut commit = Plan::new();
    for change in &plan.changes {
        match change {
            Change::Pool { .. } => hidden.extend(per_bucket(change)),
            Change::AllotmentNights {
                allotment_id,
                months,
                stamp,
            } => hidden.extend(months.iter().map(|m| Change::AllotmentNights {
                allotment_id: *allotment_id,
                months: vec![m.clone()],
                stamp: stamp.clone(),
            })),
            Change::GroupNights { group_id, months } => {
                hidden.extend(months.iter().map(|m| Change::GroupNights {
                    group_id: *group_id,
                    months: vec![m.clone()],
                }))
            }
            Change::History { .. } => hidden.extend(history_parts(change)),
            Change::Membership { claim: true, .. } => hidden.push(change.clone()),
            other => commit.push(other.clone()),
        }
    }
    Steps {
        owner,
        kind: StepsKind::Prepare,
        steps: pack(hidden),
        commit,
    }
}

/// A change of an existing allotment that only gives rooms back: everything but those
/// pool buckets in the commit, the buckets in steps after it (the commit also writes
/// the record of each: `max_items` must hold them). Refused (internal) when rooms
/// would be taken or the commit would not fit.
fn forward(plan: &Plan, owner: Uuid, max_items: usize) -> Result<Steps, ApiError> {
    let mut commit = Plan::new();
    let mut returns = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Pool { nights, .. } if nights.iter().all(|n| n.allotted <= 0) => {
                returns.extend(per_bucket(change))
            }
            Change::History { .. } => {
                for part in history_parts(change) {
                    commit.push(part);
                }
            }
            other => commit.push(other.clone()),
        }
    }
    let steps = pack(returns);
    // The commit, a record per step and the steps' marker.
    if commit.items() + steps.len() + 1 > max_items {
        return Err(ApiError::Internal(format!(
            "a change of {} items whose commit does not fit one transaction",
            plan.items()
        )));
    }
    Ok(Steps {
        owner,
        kind: StepsKind::Forward,
        steps,
        commit,
    })
}

/// A pool change as one change per bucket (unit type × month).
fn per_bucket(change: &Change) -> Vec<Change> {
    let Change::Pool {
        establishment_id,
        holder,
        nights,
    } = change
    else {
        return vec![change.clone()];
    };
    let mut buckets: BTreeMap<(&UnitTypeId, Month), Vec<PoolDelta>> = BTreeMap::new();
    for n in nights {
        buckets
            .entry((&n.unit, Month::of(n.date)))
            .or_default()
            .push(n.clone());
    }
    buckets
        .into_values()
        .map(|nights| Change::Pool {
            establishment_id: *establishment_id,
            holder: *holder,
            nights,
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// A history change as parts of at most [`HISTORY_PART_NIGHTS`] nights (an entry is
/// never split; part 0 keeps the key a one-part history has).
pub fn history_parts(change: &Change) -> Vec<Change> {
    let Change::History {
        allotment_id,
        version,
        entries,
        ..
    } = change
    else {
        return vec![change.clone()];
    };
    let mut parts: Vec<Vec<_>> = vec![Vec::new()];
    let mut nights = 0;
    for e in entries {
        let last = parts.last_mut().expect("one part at least");
        if !last.is_empty() && nights + e.nights.len() > HISTORY_PART_NIGHTS {
            parts.push(Vec::new());
            nights = 0;
        }
        nights += e.nights.len();
        parts.last_mut().expect("one part at least").push(e.clone());
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(part, entries)| Change::History {
            allotment_id: *allotment_id,
            version: *version,
            part: part as u32,
            entries,
        })
        .collect()
}

/// About how many bytes a change writes (DynamoDB's sizes: names and values).
pub fn approx_bytes(change: &Change) -> usize {
    match change {
        Change::AllotmentNights { months, .. } => month_bytes(months),
        Change::GroupNights { months, .. } => month_bytes(months),
        Change::History { entries, .. } => entries.iter().map(|e| 400 + e.nights.len() * 60).sum(),
        Change::Pool { nights, .. } => 500 + nights.len() * 120,
        _ => 2_000,
    }
}

fn month_bytes<N>(months: &[MonthWrite<N>]) -> usize {
    let nights: usize = months
        .iter()
        .flat_map(|m| &m.units)
        .map(|u| 16 + u.nights.len() * 60)
        .sum();
    nights + 200
}

/// Changes packed in order into steps of at most [`STEP_ITEMS`] items and
/// [`STEP_BYTES`] bytes.
fn pack(changes: Vec<Change>) -> Vec<Plan> {
    let mut steps: Vec<Plan> = Vec::new();
    let mut bytes = 0;
    for change in changes {
        let size = approx_bytes(&change);
        let fits = steps.last().is_some_and(|s| {
            s.items() + change.items() <= STEP_ITEMS && bytes + size <= STEP_BYTES
        });
        if !fits {
            steps.push(Plan::new());
            bytes = 0;
        }
        bytes += size;
        steps.last_mut().expect("a step").push(change);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::allotment::MAX_TRANSACTION_ITEMS as MAX;
    use crate::domain::allotment::{fixtures, plan_cancel, plan_create};
    use serde_json::json;

    fn units(n: usize) -> serde_json::Value {
        json!((0..n)
            .map(|i| json!({"unitTypeId": format!("u{i:02}"), "quantity": 5}))
            .collect::<Vec<_>>())
    }

    fn big(nights_to: &str, n: usize) -> crate::domain::allotment::AllotmentPlan {
        let new = fixtures::new_allotment(json!({
            "periodFrom": "2026-09-01", "periodTo": nights_to, "unitAllocations": units(n),
            "cutoffDate": "2026-08-01"}));
        plan_create(
            &new,
            Uuid::nil(),
            chrono_tz::Europe::Paris,
            fixtures::now(),
            None,
        )
        .unwrap()
    }

    fn pool_nights(plans: &[&Plan]) -> i64 {
        plans
            .iter()
            .flat_map(|p| &p.changes)
            .filter_map(|c| match c {
                Change::Pool { nights, .. } => Some(nights.iter().map(|n| n.allotted).sum::<i64>()),
                _ => None,
            })
            .sum()
    }

    #[test]
    fn a_plan_that_fits_is_one_transaction() {
        let p = big("2026-09-07", 1);
        assert_eq!(split(&p.plan, MAX).unwrap(), None);
    }

    #[test]
    fn the_biggest_creation_prepares_what_nobody_sees_and_commits_the_rest() {
        // 731 nights × 50 unit types: 1,250 pool buckets, 25 grid months, 50 entries.
        let p = big("2028-08-31", 50);
        let steps = split(&p.plan, MAX).unwrap().unwrap();
        assert_eq!(steps.kind, StepsKind::Prepare);
        for s in &steps.steps {
            assert!(s.items() <= STEP_ITEMS, "{}", s.items());
            let bytes: usize = s.changes.iter().map(approx_bytes).sum();
            assert!(bytes <= STEP_BYTES, "{bytes}");
            assert!(s.changes.iter().all(|c| matches!(
                c,
                Change::Pool { .. } | Change::AllotmentNights { .. } | Change::History { .. }
            )));
        }
        // Every room and every item of the plan, once.
        let all: Vec<&Plan> = steps.steps.iter().collect();
        assert_eq!(pool_nights(&all), 731 * 50 * 5);
        let items: usize = steps.steps.iter().map(Plan::items).sum::<usize>();
        assert_eq!(
            items + steps.commit.items(),
            p.plan.items() + history_extra(&steps),
            "every item once, the history in parts"
        );
        assert!(steps.commit.items() <= MAX);
        assert!(steps.commit.changes.iter().any(|c| matches!(
            c,
            Change::Allotment {
                guard: Guard::New,
                ..
            }
        )));
        assert!(steps
            .commit
            .changes
            .iter()
            .any(|c| matches!(c, Change::Event(_))));
        // History parts under the item limit, every entry once.
        let entries: usize = steps
            .steps
            .iter()
            .flat_map(|s| &s.changes)
            .filter_map(|c| match c {
                Change::History { entries, .. } => {
                    assert!(
                        entries.iter().map(|e| e.nights.len()).sum::<usize>()
                            <= HISTORY_PART_NIGHTS
                    );
                    Some(entries.len())
                }
                _ => None,
            })
            .sum();
        assert_eq!(entries, 50);
    }

    /// Parts beyond the first: items the one-transaction plan counted as one.
    fn history_extra(steps: &Steps) -> usize {
        steps
            .steps
            .iter()
            .flat_map(|s| &s.changes)
            .filter(|c| matches!(c, Change::History { part, .. } if *part > 0))
            .count()
    }

    #[test]
    fn a_big_cancel_commits_first_and_gives_rooms_back_after() {
        let p = big("2027-08-31", 12);
        let (record, grid) = (p.record.clone(), p.grid.clone());
        let cancel = plan_cancel(&record, &grid, fixtures::now())
            .unwrap()
            .unwrap();
        let steps = split(&cancel.plan, MAX).unwrap().unwrap();
        assert_eq!(steps.kind, StepsKind::Forward);
        assert!(steps.commit.items() + steps.steps.len() <= MAX);
        assert!(steps
            .commit
            .changes
            .iter()
            .any(|c| matches!(c, Change::Allotment { .. })));
        let mut all: Vec<&Plan> = steps.steps.iter().collect();
        all.push(&steps.commit);
        assert_eq!(pool_nights(&all), -(365 * 12 * 5));
        assert!(steps
            .steps
            .iter()
            .flat_map(|s| &s.changes)
            .all(|c| matches!(c, Change::Pool { .. })));
    }

    #[test]
    fn a_group_of_a_hundred_members_over_a_year_prepares_its_claims() {
        use crate::domain::allotment::Status;
        use crate::domain::group::{plan_group_creation, Candidate, Candidates, NewGroup};
        let est = Uuid::from_u128(1);
        let members: Vec<Uuid> = (0..100).map(|i| Uuid::from_u128(0x1000 + i)).collect();
        let body = json!({"establishmentId": est, "name": "Tour", "periodFrom": "2026-09-01",
            "periodTo": "2027-08-31", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}],
            "cutoffDate": "2026-08-01", "allotmentIds": members});
        let new = NewGroup::parse(body.as_object().unwrap(), None).unwrap();
        let candidates: Candidates = members
            .iter()
            .map(|id| {
                let c = Candidate {
                    establishment_id: est,
                    status: Status::Active,
                    group_id: None,
                };
                (*id, Some(c))
            })
            .collect();
        let group = Uuid::from_u128(2);
        let now = fixtures::now();
        let p = plan_group_creation(
            &new,
            group,
            chrono_tz::Europe::Paris,
            &candidates,
            None,
            now,
        )
        .unwrap();
        assert!(p.plan.items() > MAX);
        let steps = split(&p.plan, MAX).unwrap().unwrap();
        assert_eq!((steps.kind, steps.owner), (StepsKind::Prepare, group));
        let claims = |plan: &Plan| {
            plan.changes
                .iter()
                .filter(|c| matches!(c, Change::Membership { claim: true, .. }))
                .count()
        };
        assert_eq!(steps.steps.iter().map(claims).sum::<usize>(), 100);
        assert_eq!(claims(&steps.commit), 0);
        let kinds: Vec<&str> = steps
            .commit
            .changes
            .iter()
            .map(|c| match c {
                Change::Group { .. } => "header",
                Change::GroupName { .. } => "name",
                Change::EstablishmentHolds { .. } => "holds",
                Change::Event(_) => "event",
                other => panic!("not in a commit: {other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["header", "name", "holds", "event"]);
        let rooms: i64 = steps.steps.iter().map(|s| pool_nights(&[s])).sum();
        assert_eq!(rooms, 365 * 5);
    }
}
