//! Capacity groups: rooms set aside from the pool that member allotments share.
//!
//! - this file: the stored group, its nights, its members' rules, its representation;
//! - [`create`]: the body of `POST` and the plan of a new group;
//! - [`patch`]: the body of `PATCH` and its plan (rename, resize, members);
//! - [`release`]: the plans that give rooms back: the release at cutoff, the delete.

mod create;
mod patch;
mod release;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::allotment::{Status, UnitAllocation};
use super::cutoff::CutoffRule;
use super::error::{ApiError, FieldIssue};
use super::event::{Event, EventData, EventType};
use super::ids::UnitTypeId;
use super::inventory::PoolView;
use super::plan::{Change, Nights, Plan};
use super::validate::{uuid, Fields};

pub use create::{plan_group_creation, NewGroup};
pub use patch::{plan_group_patch, GroupPatch};
pub use release::{plan_group_deletion, plan_group_release};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_MEMBERS: usize = 100;

/// A group's nights, by unit type then date.
pub type GroupGrid = Nights<GroupNight>;

/// The stored group (its nights live in its own grid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRecord {
    pub capacity_group_id: Uuid,
    pub establishment_id: Uuid,
    pub name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub unit_allocations: Vec<UnitAllocation>,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    pub allotment_ids: Vec<Uuid>,
    pub version: i64,
    /// The establishment's zone, which its release moments follow (a stored name that
    /// is no IANA zone does not load).
    #[serde(with = "super::establishment::zone_name")]
    pub time_zone: Tz,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every night up to this one is released.
    pub released_through: Option<NaiveDate>,
}

impl GroupRecord {
    /// A new group, version 1, nothing released.
    pub fn create(new: &NewGroup, id: Uuid, time_zone: Tz, now: DateTime<Utc>) -> GroupRecord {
        GroupRecord {
            capacity_group_id: id,
            establishment_id: new.establishment_id,
            name: new.name.clone(),
            period_from: new.period.from(),
            period_to: new.period.to(),
            unit_allocations: new
                .unit_allocations
                .iter()
                .map(|(u, q)| UnitAllocation {
                    unit_type_id: u.to_string(),
                    quantity: *q,
                })
                .collect(),
            cutoff_date: new.cutoff_date,
            release_days: new.release_days,
            allotment_ids: new.allotment_ids.clone(),
            version: 1,
            time_zone,
            created_at: now,
            updated_at: now,
            released_through: None,
        }
    }

    /// The record as the next change leaves it: `version + 1`, updated now.
    pub fn next_version(&self, now: DateTime<Utc>) -> GroupRecord {
        GroupRecord {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    pub fn cutoff_rule(&self) -> CutoffRule {
        CutoffRule {
            time_zone: self.time_zone,
            cutoff_date: self.cutoff_date,
            release_days: self.release_days,
            whole_at_cutoff: false,
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    pub fn next_release_at(&self) -> Option<DateTime<Utc>> {
        self.cutoff_rule()
            .next_release(self.period_from, self.period_to, self.released_through)
    }

    pub fn due_through(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        self.cutoff_rule()
            .due_through(self.period_from, self.period_to, self.released_through, now)
    }

    pub fn is_night_released(&self, night: NaiveDate) -> bool {
        self.released_through.is_some_and(|t| night <= t)
    }

    /// The representation: its public fields, the members and `usage` per night.
    pub fn view(&self, grid: &GroupGrid) -> GroupView {
        let usage = grid
            .iter()
            .map(|((ut, d), n)| UsageRow {
                date: *d,
                unit_type_id: ut.to_string(),
                shared: n.shared,
                used: n.used,
                available: n.available(),
            })
            .collect();
        GroupView {
            usage: Some(usage),
            ..self.announced()
        }
    }

    /// The representation events carry: without `usage`, which every member's pickup
    /// moves without an event of the group (read it with `GET`), and which a group of
    /// 50 unit types over 731 nights makes 36,550 rows (about 3 MB: over DynamoDB's
    /// 400 KB item and EventBridge's 256 KB event).
    pub fn announced(&self) -> GroupView {
        GroupView {
            capacity_group_id: self.capacity_group_id,
            establishment_id: self.establishment_id,
            name: self.name.clone(),
            period_from: self.period_from,
            period_to: self.period_to,
            unit_allocations: self.unit_allocations.clone(),
            cutoff_date: self.cutoff_date,
            release_days: self.release_days,
            allotment_ids: self.allotment_ids.clone(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            usage: None,
        }
    }
}

/// A capacity group as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub capacity_group_id: Uuid,
    pub establishment_id: Uuid,
    pub name: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub unit_allocations: Vec<UnitAllocation>,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    pub allotment_ids: Vec<Uuid>,
    pub version: i64,
    #[serde(serialize_with = "super::establishment::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::establishment::instant")]
    pub updated_at: DateTime<Utc>,
    /// Every night and unit type (left out of events: [`GroupRecord::announced`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Vec<UsageRow>>,
}

/// One night and unit type of a group's `usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageRow {
    pub date: NaiveDate,
    pub unit_type_id: String,
    pub shared: i64,
    pub used: i64,
    pub available: i64,
}

/// One night of one unit type of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupNight {
    pub shared: i64,
    pub used: i64,
}

impl GroupNight {
    pub fn available(&self) -> i64 {
        self.shared - self.used
    }
}

/// A group as read: record, nights, and how many active pickups draw on it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedGroup {
    pub record: GroupRecord,
    pub grid: GroupGrid,
    pub active_draws: i64,
}

impl LoadedGroup {
    /// Rooms the group can still supply to a pickup on a night (none once the night
    /// is released).
    pub fn available_to_pickups(&self, ut: &UnitTypeId, d: NaiveDate) -> i64 {
        if self.record.is_night_released(d) {
            return 0;
        }
        self.grid
            .get(&(ut.clone(), d))
            .map(|n| n.available())
            .unwrap_or(0)
            .max(0)
    }
}

/// What a group write plans: the changes, and the group as they leave it (the answer).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub plan: Plan,
    pub group: LoadedGroup,
}

/// What a group rule needs of an allotment named as a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub establishment_id: Uuid,
    pub status: Status,
    /// The group it belongs to, if any.
    pub group_id: Option<Uuid>,
}

/// The allotments named as new members, as read: `None` when there is no such
/// allotment of this tenant.
pub type Candidates = BTreeMap<Uuid, Option<Candidate>>;

/// What a refused group write reads to say why: who holds the name it takes (if
/// anyone), and the pool nights it takes rooms on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupDetails {
    pub name_holder: Option<Uuid>,
    pub pool: PoolView,
}

/// Each new member must be an active allotment of `establishment` that belongs to no
/// capacity group: otherwise a `400` naming `allotmentIds[i]` (`i` its place in
/// `members`). Members not in `new` (already this group's) are not checked.
fn check_members(
    establishment: Uuid,
    members: &[Uuid],
    new: &[Uuid],
    candidates: &Candidates,
) -> Result<(), ApiError> {
    let issues: Vec<FieldIssue> = members
        .iter()
        .enumerate()
        .filter(|(_, id)| new.contains(id))
        .filter(|(_, id)| {
            !matches!(
                candidates.get(*id),
                Some(Some(c)) if c.status == Status::Active
                    && c.establishment_id == establishment
                    && c.group_id.is_none()
            )
        })
        .map(|(i, _)| {
            FieldIssue::new(
                format!("allotmentIds[{i}]"),
                "must be an active allotment of this establishment that belongs to no capacity group",
            )
        })
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(issues))
    }
}

/// The event `event_type` of the group `record` with the nights `grid` it leaves
/// (its representation is the data; its version the sequence).
fn announce(event_type: EventType, now: DateTime<Utc>, record: &GroupRecord) -> Change {
    let data = EventData::Group(Box::new(record.announced()));
    Event::group(event_type, now, record, record.version, data)
}

/// `unitAllocations`, by the same rules as an allotment's, in unit type order.
fn allocations(f: &mut Fields<'_>) -> Option<Vec<(UnitTypeId, i64)>> {
    let mut list = super::allotment::parse_unit_allocations(f)?;
    list.sort();
    Some(list)
}

/// `allotmentIds`: at most 100 distinct UUIDs (each bad one named `allotmentIds[i]`).
pub fn member_ids(v: &Value, issues: &mut Vec<FieldIssue>) -> Option<Vec<Uuid>> {
    let Value::Array(items) = v else {
        issues.push(FieldIssue::new(
            "allotmentIds",
            "must be a list of allotment ids",
        ));
        return None;
    };
    if items.len() > MAX_MEMBERS {
        issues.push(FieldIssue::new(
            "allotmentIds",
            format!("must hold at most {MAX_MEMBERS} allotments"),
        ));
        return None;
    }
    let mut out = Vec::new();
    let before = issues.len();
    for (i, item) in items.iter().enumerate() {
        match uuid(item) {
            Ok(id) if out.contains(&id) => {
                issues.push(FieldIssue::new(format!("allotmentIds[{i}]"), "is repeated"))
            }
            Ok(id) => out.push(id),
            Err(e) => issues.push(FieldIssue::new(format!("allotmentIds[{i}]"), e)),
        }
    }
    (issues.len() == before).then_some(out)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A group of 5 `dbl` over 1–7 Sep 2026 in Paris, for the plan tests.

    use super::*;
    use crate::domain::dates::parse_date;
    use crate::domain::inventory::PoolNight;

    pub const ESTABLISHMENT: Uuid = Uuid::from_u128(0xe);
    pub const GROUP: Uuid = Uuid::from_u128(0x9);
    pub const MEMBER: Uuid = Uuid::from_u128(0xa1);
    pub const OTHER: Uuid = Uuid::from_u128(0xa2);

    pub fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    pub fn u(s: &str) -> UnitTypeId {
        UnitTypeId::parse(s).unwrap()
    }

    pub fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    pub fn body(members: &[Uuid]) -> serde_json::Value {
        serde_json::json!({"establishmentId": ESTABLISHMENT.to_string(), "name": "Pool",
            "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
            "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}],
            "cutoffDate": "2026-08-15", "releaseDays": null,
            "allotmentIds": members.iter().map(|m| m.to_string()).collect::<Vec<_>>()})
    }

    pub fn new_group(members: &[Uuid]) -> NewGroup {
        NewGroup::parse(body(members).as_object().unwrap(), None).unwrap()
    }

    /// The group of [`new_group`] with `MEMBER`, `used` rooms in use on 2 and 3 Sep.
    pub fn loaded(used: i64) -> LoadedGroup {
        let new = new_group(&[MEMBER]);
        let record = GroupRecord::create(&new, GROUP, chrono_tz::Europe::Paris, now());
        let grid: GroupGrid = new
            .period
            .iter()
            .map(|night| {
                let used = if night == d("2026-09-02") || night == d("2026-09-03") {
                    used
                } else {
                    0
                };
                ((u("dbl"), night), GroupNight { shared: 5, used })
            })
            .collect();
        LoadedGroup {
            record,
            grid,
            active_draws: i64::from(used > 0),
        }
    }

    pub fn candidate(
        status: Status,
        establishment_id: Uuid,
        group_id: Option<Uuid>,
    ) -> Option<Candidate> {
        Some(Candidate {
            establishment_id,
            status,
            group_id,
        })
    }

    pub fn eligible() -> Option<Candidate> {
        candidate(Status::Active, ESTABLISHMENT, None)
    }

    /// Pool nights of `unit` in September with `available` free rooms each.
    pub fn pool(unit: &str, available: i64) -> PoolView {
        (1..=30)
            .map(|day| {
                let night = PoolNight {
                    capacity: 10 + available,
                    allotted: 10,
                    picked_up: 0,
                    available,
                };
                (
                    (u(unit), NaiveDate::from_ymd_opt(2026, 9, day).unwrap()),
                    night,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn a_stored_zone_that_is_no_zone_does_not_load_as_utc() {
        let g = loaded(0).record;
        let mut doc = serde_json::to_value(&g).unwrap();
        assert_eq!(doc["timeZone"], "Europe/Paris");
        assert_eq!(
            serde_json::from_value::<GroupRecord>(doc.clone()).unwrap(),
            g
        );
        doc["timeZone"] = "Mars/Olympus".into();
        let err = serde_json::from_value::<GroupRecord>(doc).unwrap_err();
        assert!(err.to_string().contains("unknown time zone"), "{err}");
    }

    #[test]
    fn the_view_is_built_field_by_field() {
        let g = loaded(2);
        let v = serde_json::to_value(g.record.view(&g.grid)).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "allotmentIds",
                "capacityGroupId",
                "createdAt",
                "cutoffDate",
                "establishmentId",
                "name",
                "periodFrom",
                "periodTo",
                "releaseDays",
                "unitAllocations",
                "updatedAt",
                "usage",
                "version"
            ],
            "no timeZone, no releasedThrough"
        );
        assert_eq!(v["createdAt"], "2026-06-01T10:00:00Z");
        assert_eq!(
            v["usage"][1],
            serde_json::json!({"date": "2026-09-02", "unitTypeId": "dbl", "shared": 5, "used": 2, "available": 3})
        );
    }

    #[test]
    fn members_must_be_active_of_the_establishment_and_in_no_group() {
        let (a, b, c, e, f) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
            Uuid::from_u128(5),
        );
        let members = [MEMBER, a, b, c, e, f];
        let candidates: Candidates = [
            (a, eligible()),
            (b, candidate(Status::Released, ESTABLISHMENT, None)),
            (c, candidate(Status::Active, Uuid::from_u128(0xee), None)),
            (e, candidate(Status::Active, ESTABLISHMENT, Some(OTHER))),
            (f, None),
        ]
        .into_iter()
        .collect();
        // MEMBER is already a member: not checked.
        let Err(ApiError::Validation(issues)) =
            check_members(ESTABLISHMENT, &members, &[a, b, c, e, f], &candidates)
        else {
            panic!()
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "allotmentIds[2]",
                "allotmentIds[3]",
                "allotmentIds[4]",
                "allotmentIds[5]"
            ]
        );
        assert!(check_members(ESTABLISHMENT, &[MEMBER, a], &[a], &candidates).is_ok());
    }

    #[test]
    fn a_group_supplies_pickups_until_its_nights_are_released() {
        let mut g = loaded(2);
        assert_eq!(g.available_to_pickups(&u("dbl"), d("2026-09-02")), 3);
        assert_eq!(g.available_to_pickups(&u("sgl"), d("2026-09-02")), 0);
        g.record.released_through = Some(d("2026-09-02"));
        assert_eq!(g.available_to_pickups(&u("dbl"), d("2026-09-02")), 0);
        assert_eq!(g.available_to_pickups(&u("dbl"), d("2026-09-03")), 3);
    }
}
