//! A new capacity group: the body of `POST /v1/capacity-groups` and its plan.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    allocations, announce, check_members, member_ids, Candidates, GroupDetails, GroupGrid,
    GroupNight, GroupPlan, GroupRecord, LoadedGroup, MAX_NAME_CHARS,
};
use crate::domain::allotment::{MAX_PERIOD_NIGHTS, MAX_RELEASE_DAYS};
use crate::domain::dates::NightRange;
use crate::domain::error::{ApiError, FieldIssue};
use crate::domain::event::EventType;
use crate::domain::ids::UnitTypeId;
use crate::domain::inventory::pool_conflicts;
use crate::domain::plan::{month_writes, Change, Guard, Plan, PoolDelta};
use crate::domain::validate::{date, integer, name, uuid, Fields, Patch};

/// The body of `POST /v1/capacity-groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    pub establishment_id: Uuid,
    pub name: String,
    pub period: NightRange,
    pub unit_allocations: Vec<(UnitTypeId, i64)>,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    pub allotment_ids: Vec<Uuid>,
}

impl NewGroup {
    pub fn parse(obj: &Map<String, Value>, today: Option<NaiveDate>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let establishment_id = f.required("establishmentId", &uuid);
        let group_name = f.required("name", &name(1, MAX_NAME_CHARS));
        let from = f.required("periodFrom", &date);
        let to = f.required("periodTo", &date);
        let unit_allocations = allocations(&mut f);
        let cutoff_date = f.required("cutoffDate", &date);
        let release_days = match f.nullable("releaseDays", &integer(0, MAX_RELEASE_DAYS)) {
            Patch::Value(v) => Some(v),
            _ => None,
        };
        let members_raw = f.optional("allotmentIds", &|v: &Value| Ok(v.clone()));
        let period = match (from, to) {
            (Some(a), Some(b)) => match NightRange::new(a, b, MAX_PERIOD_NIGHTS) {
                Ok(p) => Some(p),
                Err(e) => {
                    f.issue(
                        "periodTo",
                        if b < a {
                            "must be on or after periodFrom".into()
                        } else {
                            e
                        },
                    );
                    None
                }
            },
            _ => None,
        };
        let mut issues = f.into_issues();
        let allotment_ids = match &members_raw {
            Some(v) => member_ids(v, &mut issues),
            None => Some(Vec::new()),
        };
        if let (Some(c), Some(p)) = (cutoff_date, &period) {
            if c > p.to() {
                issues.push(FieldIssue::new(
                    "cutoffDate",
                    "must be on or before periodTo",
                ));
            }
        }
        if let (Some(c), Some(today)) = (cutoff_date, today) {
            if c < today {
                issues.push(FieldIssue::new(
                    "cutoffDate",
                    "must not be before today in the establishment's time zone",
                ));
            }
        }
        match (
            establishment_id,
            group_name,
            period,
            unit_allocations,
            cutoff_date,
            allotment_ids,
        ) {
            (
                Some(establishment_id),
                Some(name),
                Some(period),
                Some(unit_allocations),
                Some(cutoff_date),
                Some(allotment_ids),
            ) if issues.is_empty() => Ok(NewGroup {
                establishment_id,
                name,
                period,
                unit_allocations,
                cutoff_date,
                release_days,
                allotment_ids,
            }),
            _ => Err(ApiError::Validation(issues)),
        }
    }

    /// Every night of the period at the quantity of each unit type, nothing used.
    pub fn initial_grid(&self) -> GroupGrid {
        let mut grid = GroupGrid::new();
        for (ut, q) in &self.unit_allocations {
            for d in self.period.iter() {
                grid.insert(
                    (ut.clone(), d),
                    GroupNight {
                        shared: *q,
                        used: 0,
                    },
                );
            }
        }
        grid
    }
}

/// Plans a new group `group_id` in `time_zone` (its establishment's).
///
/// Members (`candidates`: the allotments named, as read) must be active allotments of
/// the establishment in no group (`400` naming `allotmentIds[i]`); a group of any size
/// the contract allows (100 members) is planned whole (applied in steps when it does
/// not fit one transaction, `domain::steps`). After a refused attempt,
/// `details` say why: the name is taken (`409 NAME_TAKEN`) or the pool is short
/// (`409 INSUFFICIENT_CAPACITY`, every short night); a member claimed meanwhile shows
/// in the fresh `candidates`.
///
/// The plan: the header (new), the name (taken), every night of the grid (new
/// months), the establishment's holds (+1), each member's claim, and the pool rooms.
pub fn plan_group_creation(
    new: &NewGroup,
    group_id: Uuid,
    time_zone: Tz,
    candidates: &Candidates,
    details: Option<&GroupDetails>,
    now: DateTime<Utc>,
) -> Result<GroupPlan, ApiError> {
    check_members(
        new.establishment_id,
        &new.allotment_ids,
        &new.allotment_ids,
        candidates,
    )?;
    let record = GroupRecord::create(new, group_id, time_zone, now);
    let grid = new.initial_grid();
    let pool: Vec<PoolDelta> = grid
        .iter()
        .map(|((ut, d), n)| PoolDelta::allot(ut, *d, n.shared))
        .collect();
    if let Some(details) = details {
        if details.name_holder.is_some_and(|g| g != group_id) {
            return Err(ApiError::NameTaken);
        }
        let short = pool_conflicts(&details.pool, &pool);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
    }
    let mut plan = Plan::new();
    plan.push(Change::Group {
        record: Box::new(record.clone()),
        active_draws: 0,
        guard: Guard::New,
    });
    plan.push(Change::GroupName {
        establishment_id: new.establishment_id,
        name: new.name.clone(),
        taken_by: Some(group_id),
    });
    plan.push(Change::GroupNights {
        group_id,
        months: month_writes(&GroupGrid::new(), &grid),
    });
    plan.push(Change::EstablishmentHolds {
        establishment_id: new.establishment_id,
        delta: 1,
    });
    for a in &new.allotment_ids {
        plan.push(Change::Membership {
            allotment_id: *a,
            group_id,
            claim: true,
        });
    }
    plan.push(Change::Pool {
        establishment_id: new.establishment_id,
        holder: None,
        nights: pool,
    });
    plan.push(announce(EventType::CapacityGroupCreated, now, &record));
    // Any size the contract allows: a plan bigger than one transaction is applied in
    // steps (`domain::steps`).
    Ok(GroupPlan {
        plan,
        group: LoadedGroup {
            record,
            grid,
            active_draws: 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::Candidate;
    use super::*;
    use crate::domain::allotment::Status;
    use crate::domain::inventory::PoolView;
    use serde_json::json;

    #[test]
    fn parses_the_contract_example_and_names_bad_members() {
        let g = NewGroup::parse(body(&[]).as_object().unwrap(), None).unwrap();
        assert_eq!(g.period.nights(), 7);
        let mut b = body(&[]);
        b["allotmentIds"] = json!([
            "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0",
            "nope",
            "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0"
        ]);
        b["name"] = json!("");
        b["cutoffDate"] = json!("2026-09-08");
        let Err(ApiError::Validation(issues)) = NewGroup::parse(b.as_object().unwrap(), None)
        else {
            panic!()
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "allotmentIds[1]", "allotmentIds[2]", "cutoffDate"]
        );
        let Err(ApiError::Validation(issues)) =
            NewGroup::parse(body(&[]).as_object().unwrap(), Some(d("2026-08-16")))
        else {
            panic!("a cutoff before today")
        };
        assert_eq!(issues[0].field, "cutoffDate");
    }

    fn members(list: &[(Uuid, Option<Candidate>)]) -> Candidates {
        list.iter().copied().collect()
    }

    #[test]
    fn refusals() {
        let taken = GroupDetails {
            name_holder: Some(OTHER),
            pool: pool("dbl", 10),
        };
        let short = GroupDetails {
            name_holder: None,
            pool: pool("dbl", 4),
        };
        let cases: Vec<(&str, NewGroup, Candidates, Option<GroupDetails>, &str)> = vec![
            (
                "an ineligible member",
                new_group(&[MEMBER]),
                members(&[(
                    MEMBER,
                    candidate(Status::Active, ESTABLISHMENT, Some(OTHER)),
                )]),
                None,
                "VALIDATION_ERROR",
            ),
            (
                "an unknown member",
                new_group(&[MEMBER]),
                members(&[(MEMBER, None)]),
                None,
                "VALIDATION_ERROR",
            ),
            (
                "the name is taken",
                new_group(&[]),
                Candidates::new(),
                Some(taken),
                "NAME_TAKEN",
            ),
            (
                "the pool is short",
                new_group(&[]),
                Candidates::new(),
                Some(short.clone()),
                "INSUFFICIENT_CAPACITY",
            ),
        ];
        // 96 items: 4 + 90 members + 1 pool bucket + the event (more go in steps).
        let fits: Vec<Uuid> = (0..90).map(|i| Uuid::from_u128(0x1000 + i)).collect();
        let fits_candidates: Candidates = fits.iter().map(|id| (*id, eligible())).collect();
        let p = plan_group_creation(
            &new_group(&fits),
            GROUP,
            chrono_tz::Europe::Paris,
            &fits_candidates,
            None,
            now(),
        );
        assert_eq!(p.map(|p| p.plan.items()).ok(), Some(96));
        for (case, new, candidates, details, code) in cases {
            let got = plan_group_creation(
                &new,
                GROUP,
                chrono_tz::Europe::Paris,
                &candidates,
                details.as_ref(),
                now(),
            )
            .err()
            .map(|e| e.code());
            assert_eq!(got, Some(code), "{case}");
        }
        let Err(ApiError::InsufficientCapacity(nights)) = plan_group_creation(
            &new_group(&[]),
            GROUP,
            chrono_tz::Europe::Paris,
            &Candidates::new(),
            Some(&short),
            now(),
        ) else {
            panic!()
        };
        assert_eq!(nights.len(), 7, "every short night");
        assert_eq!((nights[0].requested, nights[0].actual), (5, 4));
    }

    #[test]
    fn a_group_plans_header_name_nights_holds_members_and_pool() {
        for details in [
            None,
            Some(GroupDetails {
                name_holder: None,
                pool: pool("dbl", 5),
            }),
        ] {
            let p = plan_group_creation(
                &new_group(&[MEMBER]),
                GROUP,
                chrono_tz::Europe::Paris,
                &members(&[(MEMBER, eligible())]),
                details.as_ref(),
                now(),
            )
            .unwrap();
            let [Change::Group {
                record,
                active_draws: 0,
                guard: Guard::New,
            }, Change::GroupName {
                name,
                taken_by: Some(GROUP),
                ..
            }, Change::GroupNights { months, .. }, Change::EstablishmentHolds { delta: 1, .. }, Change::Membership {
                allotment_id: MEMBER,
                group_id: GROUP,
                claim: true,
            }, Change::Pool { nights, .. }, Change::Event(event)] = &p.plan.changes[..]
            else {
                panic!("unexpected plan {:?}", p.plan)
            };
            assert_eq!(
                (event.event_type, event.sequence, &event.data),
                (
                    crate::domain::event::EventType::CapacityGroupCreated,
                    1,
                    &crate::domain::event::EventData::Group(Box::new(p.group.record.announced()))
                )
            );
            assert_eq!(
                (record.version, record.time_zone),
                (1, chrono_tz::Europe::Paris)
            );
            assert_eq!(record.allotment_ids, [MEMBER]);
            assert_eq!(name, "Pool");
            assert_eq!(months.len(), 1);
            assert!(months[0].new_item && months[0].units[0].new_unit);
            assert_eq!(months[0].units[0].nights.len(), 7);
            assert!(nights.iter().all(|n| n.allotted == 5 && n.picked_up == 0));
            assert_eq!(nights.len(), 7);
            // The answer is the group as planned.
            assert_eq!(p.group.grid.len(), 7);
            assert!(p.group.grid.values().all(|n| (n.shared, n.used) == (5, 0)));
            assert_eq!(&p.group.record, record.as_ref());
        }
        // Our own name is not taken; a pool without buckets of the unit type has no room.
        let view: PoolView = pool("sgl", 0);
        assert!(plan_group_creation(
            &new_group(&[]),
            GROUP,
            chrono_tz::Europe::Paris,
            &Candidates::new(),
            Some(&GroupDetails {
                name_holder: Some(GROUP),
                pool: view
            }),
            now()
        )
        .is_err_and(|e| e.code() == "INSUFFICIENT_CAPACITY"));
    }
}
