//! Capacity groups: rooms set aside from the pool that member allotments share.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::allotment::{UnitAllocation, MAX_PERIOD_NIGHTS, MAX_RELEASE_DAYS};
use super::cutoff::CutoffRule;
use super::dates::NightRange;
use super::error::{ApiError, FieldIssue};
use super::ids::UnitTypeId;
use super::validate::{date, integer, name, uuid, Fields, Patch};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_MEMBERS: usize = 100;

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
}

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
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub released_through: Option<NaiveDate>,
}

impl GroupRecord {
    pub fn cutoff_rule(&self) -> CutoffRule {
        CutoffRule {
            time_zone: self.time_zone.parse().unwrap_or(chrono_tz::UTC),
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
}

impl GroupRecord {
    /// The representation: public fields, member ids and `usage` per night.
    pub fn view(
        &self,
        grid: &std::collections::BTreeMap<(UnitTypeId, NaiveDate), GroupNight>,
    ) -> Value {
        use super::establishment::format_instant;
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("timeZone");
            m.remove("releasedThrough");
            m.insert(
                "createdAt".into(),
                Value::String(format_instant(&self.created_at)),
            );
            m.insert(
                "updatedAt".into(),
                Value::String(format_instant(&self.updated_at)),
            );
            let usage: Vec<Value> = grid
                .iter()
                .map(|((ut, d), n)| {
                    serde_json::json!({"date": d.to_string(), "unitTypeId": ut.as_str(),
                        "shared": n.shared, "used": n.used, "available": n.available()})
                })
                .collect();
            m.insert("usage".into(), Value::Array(usage));
        }
        v
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({"establishmentId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0", "name": "Tour operators summer pool",
               "periodFrom": "2026-06-01", "periodTo": "2026-08-31",
               "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}],
               "cutoffDate": "2026-05-15", "releaseDays": null, "allotmentIds": []})
    }

    #[test]
    fn parses_the_contract_example_and_names_bad_members() {
        let g = NewGroup::parse(body().as_object().unwrap(), None).unwrap();
        assert_eq!(g.period.nights(), 92);
        let mut b = body();
        b["allotmentIds"] = json!([
            "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0",
            "nope",
            "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0"
        ]);
        b["name"] = json!("");
        b["cutoffDate"] = json!("2026-09-01");
        let Err(ApiError::Validation(issues)) = NewGroup::parse(b.as_object().unwrap(), None)
        else {
            panic!()
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "allotmentIds[1]", "allotmentIds[2]", "cutoffDate"]
        );
    }
}

/// A planned `PATCH` of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupChange {
    pub next: GroupRecord,
    /// New values of the nights that change.
    pub nights: std::collections::BTreeMap<(UnitTypeId, NaiveDate), GroupNight>,
    /// Pool changes: rooms taken (> 0) or returned (< 0).
    pub pool: Vec<(UnitTypeId, NaiveDate, i64)>,
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
}

/// Plans a partial update: `name`, `unitAllocations` (resize: never below `used`,
/// `409 BELOW_PICKED_UP`), `allotmentIds` (replaces the members).
pub fn plan_group_change(
    g: &GroupRecord,
    grid: &std::collections::BTreeMap<(UnitTypeId, NaiveDate), GroupNight>,
    obj: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<GroupChange, ApiError> {
    let mut f = Fields::new(obj);
    let new_name = f.optional("name", &name(1, MAX_NAME_CHARS));
    let resize = if obj.contains_key("unitAllocations") {
        allocations(&mut f)
    } else {
        None
    };
    let members_raw = f.optional("allotmentIds", &|v: &Value| Ok(v.clone()));
    let mut issues = f.into_issues();
    let members = members_raw
        .as_ref()
        .and_then(|v| member_ids(v, &mut issues));
    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }
    let mut next = g.clone();
    next.version += 1;
    next.updated_at = now;
    if let Some(n) = new_name {
        next.name = n;
    }
    let mut nights = std::collections::BTreeMap::new();
    let mut pool = Vec::new();
    let mut below = Vec::new();
    if let Some(resize) = resize {
        let period =
            NightRange::new(g.period_from, g.period_to, i64::MAX).map_err(ApiError::Internal)?;
        for (ut, q) in &resize {
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
            for d in period.iter() {
                if g.released_through.is_some_and(|t| d <= t) {
                    continue;
                }
                let old = grid.get(&(ut.clone(), d)).copied().unwrap_or_default();
                if *q < old.used {
                    below.push(super::error::NightConflict {
                        unit_type_id: ut.to_string(),
                        date: d,
                        requested: *q,
                        actual: old.used,
                    });
                    continue;
                }
                if *q != old.shared {
                    nights.insert(
                        (ut.clone(), d),
                        GroupNight {
                            shared: *q,
                            used: old.used,
                        },
                    );
                    pool.push((ut.clone(), d, q - old.shared));
                }
            }
        }
        next.unit_allocations
            .sort_by(|a, b| a.unit_type_id.cmp(&b.unit_type_id));
    }
    if !below.is_empty() {
        return Err(ApiError::BelowPickedUp(below));
    }
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    if let Some(members) = members {
        added = members
            .iter()
            .filter(|m| !g.allotment_ids.contains(m))
            .copied()
            .collect();
        removed = g
            .allotment_ids
            .iter()
            .filter(|m| !members.contains(m))
            .copied()
            .collect();
        next.allotment_ids = members;
    }
    Ok(GroupChange {
        next,
        nights,
        pool,
        added,
        removed,
    })
}
