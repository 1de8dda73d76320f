//! A partial update of a capacity group: the body of `PATCH` and its plan.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    announce, check_members, member_ids, Candidates, GroupDetails, GroupGrid, GroupNight,
    GroupPlan, LoadedGroup, MAX_NAME_CHARS,
};
use crate::domain::allotment::UnitAllocation;
use crate::domain::dates::NightRange;
use crate::domain::error::{ApiError, FieldIssue, NightConflict};
use crate::domain::event::EventType;
use crate::domain::ids::UnitTypeId;
use crate::domain::inventory::pool_conflicts;
use crate::domain::plan::{whole_unit_writes, Change, Guard, Plan, PoolDelta};
use crate::domain::validate::{name, Fields};

/// The body of `PATCH /v1/capacity-groups/{id}`: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupPatch {
    pub name: Option<String>,
    /// New quantities of the unit types named (0 empties one), in unit type order.
    pub resize: Option<Vec<(UnitTypeId, i64)>>,
    /// The new member list (replaces the old one).
    pub members: Option<Vec<Uuid>>,
}

impl GroupPatch {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let name = f.optional("name", &name(1, MAX_NAME_CHARS));
        let resize = resize(&mut f);
        let members_raw = f.optional("allotmentIds", &|v: &Value| Ok(v.clone()));
        let mut issues = f.into_issues();
        let members = members_raw
            .as_ref()
            .and_then(|v| member_ids(v, &mut issues));
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        Ok(GroupPatch {
            name,
            resize,
            members,
        })
    }

    /// The members it adds to `current`'s.
    pub fn added(&self, current: &[Uuid]) -> Vec<Uuid> {
        self.members
            .iter()
            .flatten()
            .filter(|m| !current.contains(m))
            .copied()
            .collect()
    }
}

/// `unitAllocations` of a `PATCH`: the allotment's rules (1–50 distinct unit types),
/// but a quantity may be 0 (the unit type is emptied), so 0–10000. The shared rules
/// are applied with each 0 read as 1, then the 0 is put back.
fn resize(f: &mut Fields<'_>) -> Option<Vec<(UnitTypeId, i64)>> {
    let mut list = f.optional("unitAllocations", &|v: &Value| Ok(v.clone()))?;
    let mut zeros = Vec::new();
    if let Value::Array(items) = &mut list {
        for (i, item) in items.iter_mut().enumerate() {
            if let Some(q) = item.get_mut("quantity") {
                if (q.is_u64() || q.is_i64()) && q.as_i64() == Some(0) {
                    *q = Value::from(1);
                    zeros.push(i);
                }
            }
        }
    }
    let probe = Map::from_iter([("unitAllocations".to_string(), list)]);
    let mut inner = Fields::new(&probe);
    let parsed = crate::domain::allotment::parse_unit_allocations(&mut inner);
    for issue in inner.into_issues() {
        let text = if issue.field.ends_with(".quantity") {
            issue.issue.replace("from 1 to", "from 0 to")
        } else {
            issue.issue
        };
        f.issue_raw(FieldIssue::new(issue.field, text));
    }
    let mut parsed = parsed?;
    for i in zeros {
        parsed[i].1 = 0;
    }
    parsed.sort();
    Some(parsed)
}

/// Plans a `PATCH` of the group as read.
///
/// `If-Match` names another version: `412`. New members (`candidates`: those not
/// already in the group, as read) must be active allotments of the establishment in
/// no group (`400` naming `allotmentIds[i]`). A resize sets each unit type named over
/// every unreleased night, never below the rooms in use (`409 BELOW_PICKED_UP`, every
/// such night). A change too big for one transaction is applied in steps
/// (`domain::steps`: claims and pool rooms taken before the header, claims given up
/// and rooms given back after it).
/// After a refused attempt, `details` say why: the new name is taken (`409
/// NAME_TAKEN`) or the pool is short for an increase (`409 INSUFFICIENT_CAPACITY`).
///
/// The plan: the header (next version, guarded by the version read: every pickup
/// drawing on the group moves it), the names (old freed, new taken), the nights that
/// change (and only those), their pool rooms, and the claims added and given up.
pub fn plan_group_patch(
    current: &LoadedGroup,
    patch: &GroupPatch,
    if_match: Option<i64>,
    candidates: &Candidates,
    details: Option<&GroupDetails>,
    now: DateTime<Utc>,
) -> Result<GroupPlan, ApiError> {
    let g = &current.record;
    if if_match.is_some_and(|v| v != g.version) {
        return Err(ApiError::PreconditionFailed);
    }
    let added = patch.added(&g.allotment_ids);
    let removed: Vec<Uuid> = match &patch.members {
        Some(members) => {
            check_members(g.establishment_id, members, &added, candidates)?;
            g.allotment_ids
                .iter()
                .filter(|m| !members.contains(m))
                .copied()
                .collect()
        }
        None => Vec::new(),
    };
    let mut next = g.next_version(now);
    if let Some(n) = &patch.name {
        next.name = n.clone();
    }
    if let Some(members) = &patch.members {
        next.allotment_ids = members.clone();
    }
    let mut changed = GroupGrid::new();
    let mut pool = Vec::new();
    let mut below = Vec::new();
    if let Some(resize) = &patch.resize {
        let period = NightRange::new(g.period_from, g.period_to, i64::MAX)
            .map_err(|e| ApiError::Internal(format!("stored group period: {e}")))?;
        for (ut, q) in resize {
            match next
                .unit_allocations
                .iter_mut()
                .find(|a| a.unit_type_id == ut.as_str())
            {
                Some(a) => a.quantity = *q,
                None => next.unit_allocations.push(UnitAllocation {
                    unit_type_id: ut.to_string(),
                    quantity: *q,
                }),
            }
            for d in period.iter().filter(|d| !g.is_night_released(*d)) {
                let old = current
                    .grid
                    .get(&(ut.clone(), d))
                    .copied()
                    .unwrap_or_default();
                if *q < old.used {
                    below.push(NightConflict {
                        unit_type_id: ut.to_string(),
                        date: d,
                        requested: *q,
                        actual: old.used,
                    });
                } else if *q != old.shared {
                    changed.insert(
                        (ut.clone(), d),
                        GroupNight {
                            shared: *q,
                            used: old.used,
                        },
                    );
                    pool.push(PoolDelta::allot(ut, d, q - old.shared));
                }
            }
        }
        next.unit_allocations
            .sort_by(|a, b| a.unit_type_id.cmp(&b.unit_type_id));
    }
    if !below.is_empty() {
        return Err(ApiError::BelowPickedUp(below));
    }
    let renamed = next.name != g.name;
    if let Some(details) = details {
        if renamed
            && details
                .name_holder
                .is_some_and(|holder| holder != g.capacity_group_id)
        {
            return Err(ApiError::NameTaken);
        }
        let short = pool_conflicts(&details.pool, &pool);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
    }
    let id = g.capacity_group_id;
    let mut plan = Plan::new();
    plan.push(Change::Group {
        record: Box::new(next.clone()),
        active_draws: current.active_draws,
        guard: Guard::Version(g.version),
    });
    if renamed {
        plan.push(Change::GroupName {
            establishment_id: g.establishment_id,
            name: g.name.clone(),
            taken_by: None,
        });
        plan.push(Change::GroupName {
            establishment_id: g.establishment_id,
            name: next.name.clone(),
            taken_by: Some(id),
        });
    }
    plan.push(Change::GroupNights {
        group_id: id,
        // Whole unit types of a month, exact under the version guard.
        months: whole_unit_writes(&current.grid, &changed),
    });
    plan.push(Change::Pool {
        establishment_id: g.establishment_id,
        holder: None,
        nights: pool,
    });
    for a in &added {
        plan.push(Change::Membership {
            allotment_id: *a,
            group_id: id,
            claim: true,
        });
    }
    for a in &removed {
        plan.push(Change::Membership {
            allotment_id: *a,
            group_id: id,
            claim: false,
        });
    }
    let mut grid = current.grid.clone();
    grid.extend(changed);
    plan.push(announce(EventType::CapacityGroupUpdated, now, &next));
    Ok(GroupPlan {
        plan,
        group: LoadedGroup {
            record: next,
            grid,
            active_draws: current.active_draws,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::Candidate;
    use super::*;
    use crate::domain::allotment::Status;
    use serde_json::json;

    fn parse(v: Value) -> Result<GroupPatch, ApiError> {
        GroupPatch::parse(v.as_object().unwrap())
    }

    fn fields(v: Value) -> Vec<String> {
        match parse(v) {
            Err(ApiError::Validation(issues)) => issues.into_iter().map(|i| i.field).collect(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn parses_a_patch_and_names_every_bad_field() {
        let p = parse(json!({"name": "Summer", "unitAllocations": [{"unitTypeId": "sgl", "quantity": 0}, {"unitTypeId": "dbl", "quantity": 8}],
                             "allotmentIds": [MEMBER.to_string()]}))
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("Summer"));
        assert_eq!(
            p.resize,
            Some(vec![(u("dbl"), 8), (u("sgl"), 0)]),
            "0 is a resize"
        );
        assert_eq!(p.members, Some(vec![MEMBER]));
        assert_eq!(parse(json!({})).unwrap(), GroupPatch::default());
        assert_eq!(
            fields(json!({"periodTo": "2026-09-10", "allotmentIds": ["nope"]})),
            ["periodTo", "allotmentIds[0]"]
        );
        assert_eq!(
            fields(
                json!({"name": "", "unitAllocations": [{"unitTypeId": "dbl", "quantity": -1},
                          {"unitTypeId": "dbl", "quantity": 10001}, {"unitTypeId": "sgl", "quantity": 0.0}]})
            ),
            [
                "name",
                "unitAllocations[0].quantity",
                "unitAllocations[1].quantity",
                "unitAllocations[1].unitTypeId",
                "unitAllocations[2].quantity"
            ]
        );
        let Err(ApiError::Validation(issues)) =
            parse(json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": -1}]}))
        else {
            panic!()
        };
        assert_eq!(issues[0].issue, "must be an integer from 0 to 10000");
        assert_eq!(fields(json!({"unitAllocations": []})), ["unitAllocations"]);
        assert_eq!(
            fields(json!({"unitAllocations": null})),
            ["unitAllocations"]
        );
    }

    fn resize(unit: &str, quantity: i64) -> GroupPatch {
        GroupPatch {
            resize: Some(vec![(u(unit), quantity)]),
            ..GroupPatch::default()
        }
    }

    fn members(list: &[Uuid]) -> GroupPatch {
        GroupPatch {
            members: Some(list.to_vec()),
            ..GroupPatch::default()
        }
    }

    #[test]
    fn refusals() {
        let g = loaded(2);
        let claimed: Candidates = [(
            OTHER,
            candidate(Status::Active, ESTABLISHMENT, Some(Uuid::from_u128(7))),
        )]
        .into_iter()
        .collect();
        let taken = GroupDetails {
            name_holder: Some(OTHER),
            pool: pool("dbl", 10),
        };
        let renamed = GroupPatch {
            name: Some("Taken".into()),
            ..GroupPatch::default()
        };
        /// (case, patch, If-Match, new members as read, details read, code)
        type Case = (
            &'static str,
            GroupPatch,
            Option<i64>,
            Candidates,
            Option<GroupDetails>,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                "a stale If-Match",
                renamed.clone(),
                Some(7),
                Candidates::new(),
                None,
                "PRECONDITION_FAILED",
            ),
            (
                "a member of another group",
                members(&[MEMBER, OTHER]),
                None,
                claimed,
                None,
                "VALIDATION_ERROR",
            ),
            (
                "an unknown member",
                members(&[OTHER]),
                None,
                Candidates::new(),
                None,
                "VALIDATION_ERROR",
            ),
            (
                "below the rooms in use",
                resize("dbl", 1),
                None,
                Candidates::new(),
                None,
                "BELOW_PICKED_UP",
            ),
            (
                "emptied while in use",
                resize("dbl", 0),
                None,
                Candidates::new(),
                None,
                "BELOW_PICKED_UP",
            ),
            (
                "the name is taken",
                renamed,
                Some(1),
                Candidates::new(),
                Some(taken),
                "NAME_TAKEN",
            ),
            (
                "the pool is short",
                resize("dbl", 8),
                None,
                Candidates::new(),
                Some(GroupDetails {
                    name_holder: None,
                    pool: pool("dbl", 2),
                }),
                "INSUFFICIENT_CAPACITY",
            ),
        ];
        for (case, patch, if_match, candidates, details, code) in cases {
            let got = plan_group_patch(&g, &patch, if_match, &candidates, details.as_ref(), now())
                .err()
                .map(|e| e.code());
            assert_eq!(got, Some(code), "{case}");
        }
        let Err(ApiError::BelowPickedUp(nights)) =
            plan_group_patch(&g, &resize("dbl", 0), None, &Candidates::new(), None, now())
        else {
            panic!()
        };
        assert_eq!(
            nights
                .iter()
                .map(|n| (n.date, n.requested, n.actual))
                .collect::<Vec<_>>(),
            [(d("2026-09-02"), 0, 2), (d("2026-09-03"), 0, 2)]
        );
        let Err(ApiError::Validation(issues)) = plan_group_patch(
            &g,
            &members(&[MEMBER, OTHER]),
            None,
            &[(OTHER, None::<Candidate>)].into_iter().collect(),
            None,
            now(),
        ) else {
            panic!()
        };
        assert_eq!(
            issues[0].field, "allotmentIds[1]",
            "named by its place in the new list"
        );
    }

    /// The nights a plan writes: (date, shared, used), and its pool deltas.
    /// Written whole, unit type by unit type: the nights that change are those that
    /// differ from `before`.
    fn written(p: &GroupPlan, before: &GroupGrid) -> (Vec<(String, i64, i64)>, Vec<i64>) {
        let mut nights = Vec::new();
        let mut pool = Vec::new();
        for c in &p.plan.changes {
            match c {
                Change::GroupNights { months, .. } => {
                    for m in months {
                        assert!(!m.new_item, "the months exist");
                        for unit in &m.units {
                            assert!(unit.new_unit, "whole unit types");
                            let changed = unit
                                .nights
                                .iter()
                                .filter(|(d, n)| before.get(&(unit.unit.clone(), *d)) != Some(n));
                            for (date, n) in changed {
                                nights.push((format!("{}/{date}", unit.unit), n.shared, n.used));
                            }
                        }
                    }
                }
                Change::Pool { nights, .. } => pool = nights.iter().map(|n| n.allotted).collect(),
                _ => {}
            }
        }
        (nights, pool)
    }

    #[test]
    fn a_resize_writes_only_the_nights_that_change() {
        let mut g = loaded(2);
        g.record.released_through = Some(d("2026-09-02"));
        /// (case, quantity, unit type, nights written as (unit/date, shared, used), pool)
        type Case = (
            &'static str,
            i64,
            &'static str,
            Vec<(&'static str, i64, i64)>,
            Vec<i64>,
        );
        let cases: Vec<Case> = vec![
            (
                "up, the unreleased nights",
                7,
                "dbl",
                vec![
                    ("dbl/2026-09-03", 7, 2),
                    ("dbl/2026-09-04", 7, 0),
                    ("dbl/2026-09-05", 7, 0),
                    ("dbl/2026-09-06", 7, 0),
                    ("dbl/2026-09-07", 7, 0),
                ],
                vec![2; 5],
            ),
            (
                "down to what is used",
                2,
                "dbl",
                vec![
                    ("dbl/2026-09-04", 2, 0),
                    ("dbl/2026-09-05", 2, 0),
                    ("dbl/2026-09-06", 2, 0),
                    ("dbl/2026-09-07", 2, 0),
                    ("dbl/2026-09-03", 2, 2),
                ],
                vec![-3; 5],
            ),
            ("unchanged", 5, "dbl", vec![], vec![]),
            (
                "a new unit type",
                1,
                "sgl",
                vec![
                    ("sgl/2026-09-03", 1, 0),
                    ("sgl/2026-09-04", 1, 0),
                    ("sgl/2026-09-05", 1, 0),
                    ("sgl/2026-09-06", 1, 0),
                    ("sgl/2026-09-07", 1, 0),
                ],
                vec![1; 5],
            ),
            ("a new unit type at 0", 0, "sgl", vec![], vec![]),
        ];
        for (case, q, unit, nights, pool) in cases {
            let p = plan_group_patch(
                &g,
                &resize(unit, q),
                Some(1),
                &Candidates::new(),
                None,
                now(),
            )
            .unwrap();
            let (mut got, got_pool) = written(&p, &g.grid);
            got.sort();
            let mut want: Vec<(String, i64, i64)> = nights
                .iter()
                .map(|(k, s, u)| (k.to_string(), *s, *u))
                .collect();
            want.sort();
            assert_eq!(got, want, "{case}");
            assert_eq!(got_pool, pool, "{case}");
            assert_eq!(
                p.group
                    .record
                    .unit_allocations
                    .iter()
                    .find(|a| a.unit_type_id == unit)
                    .map(|a| a.quantity),
                Some(q),
                "{case}"
            );
            // The answer holds every night: the old ones and the changed ones.
            assert_eq!(
                p.group.grid[&(u("dbl"), d("2026-09-02"))],
                GroupNight { shared: 5, used: 2 }
            );
            for (k, s, used) in &want {
                let (unit, date) = k.split_once('/').unwrap();
                assert_eq!(
                    p.group.grid[&(u(unit), d(date))],
                    GroupNight {
                        shared: *s,
                        used: *used
                    }
                );
            }
        }
        // Emptied where nothing is used: the unreleased nights go to 0, their rooms to the pool.
        let idle = loaded(0);
        let p = plan_group_patch(
            &idle,
            &resize("dbl", 0),
            None,
            &Candidates::new(),
            None,
            now(),
        )
        .unwrap();
        let (got, pool) = written(&p, &idle.grid);
        assert_eq!(got.len(), 7);
        assert!(got.iter().all(|(_, s, u)| (*s, *u) == (0, 0)));
        assert_eq!(pool, vec![-5; 7]);
        assert_eq!(p.group.record.unit_allocations[0].quantity, 0);
    }

    #[test]
    fn a_patch_plans_header_names_and_members() {
        let g = loaded(2);
        let patch = GroupPatch {
            name: Some("Summer".into()),
            members: Some(vec![OTHER]),
            ..GroupPatch::default()
        };
        let candidates: Candidates = [(OTHER, eligible())].into_iter().collect();
        for details in [
            None,
            Some(GroupDetails {
                name_holder: Some(GROUP),
                pool: pool("dbl", 0),
            }),
        ] {
            let p = plan_group_patch(&g, &patch, Some(1), &candidates, details.as_ref(), now())
                .unwrap();
            let [Change::Group {
                record,
                active_draws: 1,
                guard: Guard::Version(1),
            }, Change::GroupName {
                name: old,
                taken_by: None,
                ..
            }, Change::GroupName {
                name: new,
                taken_by: Some(GROUP),
                ..
            }, Change::Membership {
                allotment_id: OTHER,
                claim: true,
                ..
            }, Change::Membership {
                allotment_id: MEMBER,
                claim: false,
                ..
            }, Change::Event(event)] = &p.plan.changes[..]
            else {
                panic!("unexpected plan {:?}", p.plan)
            };
            assert_eq!(
                (event.event_type, event.sequence, &event.data),
                (
                    crate::domain::event::EventType::CapacityGroupUpdated,
                    2,
                    &crate::domain::event::EventData::Group(Box::new(p.group.record.announced()))
                )
            );
            assert_eq!((old.as_str(), new.as_str()), ("Pool", "Summer"));
            assert_eq!((record.version, record.updated_at), (2, now()));
            assert_eq!(record.allotment_ids, [OTHER]);
            assert_eq!(record.name, "Summer");
            assert_eq!(p.group.record, **record);
            assert_eq!(p.group.grid, g.grid, "nothing resized");
        }
        // The same name, the same members: only the header moves (and says so).
        let same = GroupPatch {
            name: Some("Pool".into()),
            members: Some(vec![MEMBER]),
            ..GroupPatch::default()
        };
        let p = plan_group_patch(&g, &same, None, &Candidates::new(), None, now()).unwrap();
        assert_eq!(p.plan.changes.len(), 2);
        assert!(matches!(&p.plan.changes[1], Change::Event(e) if e.sequence == 2));
        assert!(matches!(
            p.plan.changes[0],
            Change::Group {
                guard: Guard::Version(1),
                ..
            }
        ));
    }
}
