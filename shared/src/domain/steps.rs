//! Plans too big for one transaction (DynamoDB takes at most 100 items): the steps
//! they are applied in, all or nothing as seen through the API.
//!
//! A plan is split three ways around one **commit**, the transaction that makes the
//! change what the API shows:
//! - **prepare** steps, before it, hold what nobody sees until the commit — pool rooms
//!   taken (one bucket per unit type and month), the grid months and history parts of
//!   a creation, the members a group claims (a member draws on a group only once the
//!   group's header lists it) — each undone exactly by its inverse (rooms given back,
//!   items deleted, claims given up) when a step or the commit is refused or fails;
//! - the **commit**: the header (and a group's name), the grid months of what exists,
//!   the establishment's holds, the events and the idempotency record;
//! - **forward** steps, after it, only give back what nobody sees any more — pool rooms
//!   (a cancel, a release, a decrease), the claims of members a group no longer lists,
//!   the months of a deleted group — and cannot be refused: finished by whoever finds
//!   them unfinished.
//!
//! A member claimed by a group still preparing is in no group for a pickup (the group,
//! or its new member list, does not exist yet) and cannot be claimed by another group
//! meanwhile (its claim exists); a member given up keeps its claim until its forward
//! step: for a few seconds, or until the sweeper finishes a crashed request.
//!
//! `store::steps` runs them, keeps the record of each step done (so a failed step, a
//! crash or a lost answer is undone or finished exactly once) and the sweeper
//! (`Store::sweep_steps`, from the scheduled cutoff run) that resolves what a crashed
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
    /// The allotment or group whose partition keeps the record of the steps.
    pub owner: Uuid,
    /// Applied before the commit, each undone if anything fails.
    pub prepare: Vec<Plan>,
    /// The one transaction that makes the change visible.
    pub commit: Plan,
    /// Applied after the commit, each finished whatever happens.
    pub forward: Vec<Plan>,
}

/// The steps of `plan`, or `None` when it fits one transaction. A plan too big for
/// which no commit fits (or of no allotment or group) is an internal error: every
/// command is bounded by the contract's limits to have one.
pub fn split(plan: &Plan, max_items: usize) -> Result<Option<Steps>, ApiError> {
    if plan.items() <= max_items {
        return Ok(None);
    }
    let Some((owner, creation)) = owner(plan) else {
        return Err(ApiError::Internal(format!(
            "a plan of {} items of no allotment or group",
            plan.items()
        )));
    };
    let mut hidden = Vec::new();
    let mut returns = Vec::new();
    let mut commit = Plan::new();
    for change in &plan.changes {
        match change {
            Change::Pool {
                establishment_id,
                holder,
                nights,
            } => {
                let [takes, gives] = by_sign(*establishment_id, *holder, nights);
                hidden.extend(per_bucket(&takes));
                returns.extend(per_bucket(&gives));
            }
            Change::AllotmentNights {
                allotment_id,
                months,
                stamp,
            } if creation => hidden.extend(months.iter().map(|m| Change::AllotmentNights {
                allotment_id: *allotment_id,
                months: vec![m.clone()],
                stamp: stamp.clone(),
            })),
            Change::GroupNights { group_id, months } if creation => {
                hidden.extend(months.iter().map(|m| Change::GroupNights {
                    group_id: *group_id,
                    months: vec![m.clone()],
                }))
            }
            Change::History { .. } if creation => hidden.extend(history_parts(change)),
            Change::History { .. } => {
                for part in history_parts(change) {
                    commit.push(part);
                }
            }
            Change::Membership { claim: true, .. } => hidden.push(change.clone()),
            Change::Membership { claim: false, .. } => returns.push(change.clone()),
            Change::GroupNightsGone { group_id, months } => {
                returns.extend(months.iter().map(|m| Change::GroupNightsGone {
                    group_id: *group_id,
                    months: vec![*m],
                }))
            }
            other => commit.push(other.clone()),
        }
    }
    let forward = pack(returns);
    // The commit, the steps' marker and a record per forward step.
    if commit.items() + forward.len() + 1 > max_items {
        return Err(ApiError::Internal(format!(
            "a change of {} items whose commit does not fit one transaction",
            plan.items()
        )));
    }
    Ok(Some(Steps {
        owner,
        prepare: pack(hidden),
        commit,
        forward,
    }))
}

/// The allotment or group a plan changes, and whether it creates it.
fn owner(plan: &Plan) -> Option<(Uuid, bool)> {
    plan.changes.iter().find_map(|c| match c {
        Change::Allotment { record, guard } => Some((record.allotment_id, *guard == Guard::New)),
        Change::Group { record, guard, .. } => {
            Some((record.capacity_group_id, *guard == Guard::New))
        }
        Change::DeleteGroup { group_id, .. } => Some((*group_id, false)),
        _ => None,
    })
}

/// A pool change as the rooms it takes and the rooms it gives back (with any other
/// counter it moves).
fn by_sign(establishment_id: Uuid, holder: Option<Uuid>, nights: &[PoolDelta]) -> [Change; 2] {
    let (takes, gives): (Vec<PoolDelta>, Vec<PoolDelta>) =
        nights.iter().cloned().partition(|n| n.allotted > 0);
    [takes, gives].map(|nights| Change::Pool {
        establishment_id,
        holder,
        nights,
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
        assert!(steps.forward.is_empty());
        for s in &steps.prepare {
            assert!(s.items() <= STEP_ITEMS, "{}", s.items());
            let bytes: usize = s.changes.iter().map(approx_bytes).sum();
            assert!(bytes <= STEP_BYTES, "{bytes}");
            assert!(s.changes.iter().all(|c| matches!(
                c,
                Change::Pool { .. } | Change::AllotmentNights { .. } | Change::History { .. }
            )));
        }
        // Every room and every item of the plan, once.
        let all: Vec<&Plan> = steps.prepare.iter().collect();
        assert_eq!(pool_nights(&all), 731 * 50 * 5);
        let items: usize = steps.prepare.iter().map(Plan::items).sum::<usize>();
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
            .prepare
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
            .prepare
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
        assert!(steps.prepare.is_empty());
        assert!(steps.commit.items() + steps.forward.len() < MAX);
        assert!(steps
            .commit
            .changes
            .iter()
            .any(|c| matches!(c, Change::Allotment { .. })));
        let mut all: Vec<&Plan> = steps.forward.iter().collect();
        all.push(&steps.commit);
        assert_eq!(pool_nights(&all), -(365 * 12 * 5));
        assert!(steps
            .forward
            .iter()
            .flat_map(|s| &s.changes)
            .all(|c| matches!(c, Change::Pool { .. })));
    }

    /// Eligible candidates: active allotments of `est` in no group.
    fn eligible(est: Uuid, ids: &[Uuid]) -> crate::domain::group::Candidates {
        use crate::domain::allotment::Status;
        use crate::domain::group::Candidate;
        ids.iter()
            .map(|id| {
                let c = Candidate {
                    establishment_id: est,
                    status: Status::Active,
                    group_id: None,
                };
                (*id, Some(c))
            })
            .collect()
    }

    /// The creation of a year's group of 100 members (and `n` unit types).
    fn hundred_members(n: usize) -> (crate::domain::group::GroupPlan, Vec<Uuid>) {
        use crate::domain::group::{plan_group_creation, NewGroup};
        let est = Uuid::from_u128(1);
        let members: Vec<Uuid> = (0..100).map(|i| Uuid::from_u128(0x1000 + i)).collect();
        let body = json!({"establishmentId": est, "name": "Tour", "periodFrom": "2026-09-01",
            "periodTo": "2027-08-31", "unitAllocations": units(n),
            "cutoffDate": "2026-08-01", "allotmentIds": members});
        let new = NewGroup::parse(body.as_object().unwrap(), None).unwrap();
        let group = Uuid::from_u128(2);
        let p = plan_group_creation(
            &new,
            group,
            chrono_tz::Europe::Paris,
            &eligible(est, &members),
            None,
            fixtures::now(),
        )
        .unwrap();
        (p, members)
    }

    /// What a group's commit writes, in order.
    fn commit_kinds(steps: &Steps) -> Vec<&'static str> {
        steps
            .commit
            .changes
            .iter()
            .map(|c| match c {
                Change::Group { .. } | Change::DeleteGroup { .. } => "header",
                Change::GroupName { .. } => "name",
                Change::EstablishmentHolds { .. } => "holds",
                Change::Event(_) => "event",
                other => panic!("not in a commit: {other:?}"),
            })
            .collect()
    }

    fn claims(plan: &Plan, claim: bool) -> usize {
        plan.changes
            .iter()
            .filter(|c| matches!(c, Change::Membership { claim: c, .. } if *c == claim))
            .count()
    }

    #[test]
    fn a_group_of_a_hundred_members_over_a_year_prepares_its_claims() {
        let (p, _) = hundred_members(1);
        let group = Uuid::from_u128(2);
        assert!(p.plan.items() > MAX);
        let steps = split(&p.plan, MAX).unwrap().unwrap();
        assert_eq!(steps.owner, group);
        assert!(steps.forward.is_empty());
        let claimed = |plan: &Plan| claims(plan, true);
        assert_eq!(steps.prepare.iter().map(claimed).sum::<usize>(), 100);
        assert_eq!(claimed(&steps.commit), 0);
        assert_eq!(commit_kinds(&steps), ["header", "name", "holds", "event"]);
        let rooms: i64 = steps.prepare.iter().map(|s| pool_nights(&[s])).sum();
        assert_eq!(rooms, 365 * 5);
    }

    #[test]
    fn a_patch_claims_before_its_commit_and_gives_up_after_it() {
        use crate::domain::group::{plan_group_patch, GroupPatch};
        let (created, members) = hundred_members(50);
        let est = Uuid::from_u128(1);
        let new: Vec<Uuid> = (0..60).map(|i| Uuid::from_u128(0x2000 + i)).collect();
        let next: Vec<Uuid> = members[..40].iter().chain(&new).copied().collect();
        // 60 members replaced, half the unit types up, half down.
        let resize = (0..50)
            .map(|i| {
                let unit = UnitTypeId::parse(&format!("u{i:02}")).unwrap();
                (unit, if i < 25 { 7 } else { 2 })
            })
            .collect();
        let patch = GroupPatch {
            members: Some(next),
            resize: Some(resize),
            ..GroupPatch::default()
        };
        let p = plan_group_patch(
            &created.group,
            &patch,
            None,
            &eligible(est, &new),
            None,
            fixtures::now(),
        )
        .unwrap();
        let steps = split(&p.plan, MAX).unwrap().unwrap();
        let sum = |plans: &[Plan], f: &dyn Fn(&Plan) -> usize| plans.iter().map(f).sum::<usize>();
        assert_eq!(sum(&steps.prepare, &|s| claims(s, true)), 60);
        assert_eq!(sum(&steps.forward, &|s| claims(s, false)), 60);
        assert_eq!(
            claims(&steps.commit, true) + claims(&steps.commit, false),
            0
        );
        let prepared: Vec<&Plan> = steps.prepare.iter().collect();
        let forwarded: Vec<&Plan> = steps.forward.iter().collect();
        assert_eq!(pool_nights(&prepared), 365 * 25 * 2, "increases first");
        assert_eq!(pool_nights(&forwarded), -365 * 25 * 3, "decreases after");
        assert_eq!(pool_nights(&[&steps.commit]), 0);
        assert!(steps.commit.items() + steps.forward.len() < MAX);
        assert!(steps.commit.changes.iter().any(|c| matches!(
            c,
            Change::Group {
                guard: Guard::Version(1),
                ..
            }
        )));
        assert!(steps
            .commit
            .changes
            .iter()
            .any(|c| matches!(c, Change::GroupNights { months, .. } if months.len() == 12)));
    }

    #[test]
    fn a_delete_commits_the_header_and_gives_the_rest_back_after() {
        use crate::domain::group::plan_group_deletion;
        let (created, _) = hundred_members(50);
        let plan = plan_group_deletion(&created.group, fixtures::now()).unwrap();
        let steps = split(&plan, MAX).unwrap().unwrap();
        assert!(steps.prepare.is_empty());
        assert_eq!(commit_kinds(&steps), ["header", "name", "holds", "event"]);
        let forwarded: Vec<&Plan> = steps.forward.iter().collect();
        assert_eq!(pool_nights(&forwarded), -365 * 50 * 5);
        assert_eq!(
            steps
                .forward
                .iter()
                .map(|s| claims(s, false))
                .sum::<usize>(),
            100
        );
        let months: usize = steps
            .forward
            .iter()
            .flat_map(|s| &s.changes)
            .map(|c| match c {
                Change::GroupNightsGone { months, .. } => months.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(months, 12);
    }
}
