//! The capacity pool: per night and unit type, `capacity`, `allotted`, `pickedUp`
//! and `available = capacity - allotted`.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use super::dates::{format_date, NightRange};
use super::error::{ApiError, NightConflict};
use super::ids::UnitTypeId;
use super::plan::{Change, Plan};
use super::validate::{date, integer, unit_type_id, Fields, QueryParams};

pub const MAX_INVENTORY_NIGHTS: i64 = 731;
pub const MAX_AVAILABILITY_NIGHTS: i64 = 366;
pub const MAX_CAPACITY: i64 = 100_000;

/// The body of `PUT .../inventory`.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryChange {
    pub unit_type_id: UnitTypeId,
    pub range: NightRange,
    pub capacity: i64,
}

impl InventoryChange {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let unit_type_id = f.required("unitTypeId", &unit_type_id);
        let from = f.required("from", &date);
        let to = f.required("to", &date);
        let capacity = f.required("capacity", &integer(0, MAX_CAPACITY));
        let range = match (from, to) {
            (Some(from), Some(to)) => match NightRange::new(from, to, MAX_INVENTORY_NIGHTS) {
                Ok(r) => Some(r),
                Err(issue) => {
                    f.issue("to", range_issue(issue));
                    None
                }
            },
            _ => None,
        };
        f.finish()?;
        match (unit_type_id, range, capacity) {
            (Some(unit_type_id), Some(range), Some(capacity)) => Ok(InventoryChange {
                unit_type_id,
                range,
                capacity,
            }),
            _ => Err(ApiError::Internal("validated fields missing".into())),
        }
    }
}

fn range_issue(issue: String) -> String {
    if issue.starts_with("must be on or after") {
        "must be on or after from".to_string()
    } else {
        issue
    }
}

/// The query of `GET .../availability`.
#[derive(Debug, Clone, PartialEq)]
pub struct AvailabilityQuery {
    pub range: NightRange,
    pub unit_type_id: Option<UnitTypeId>,
}

impl AvailabilityQuery {
    pub fn parse(params: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut q = QueryParams::new(params);
        let from = q.required("from", &date);
        let to = q.required("to", &date);
        let unit_type_id = q.optional("unitTypeId", &unit_type_id);
        let range = match (from, to) {
            (Some(from), Some(to)) => match NightRange::new(from, to, MAX_AVAILABILITY_NIGHTS) {
                Ok(r) => Some(r),
                Err(issue) => {
                    q.issue("to", range_issue(issue));
                    None
                }
            },
            _ => None,
        };
        q.finish()?;
        let range = range.ok_or_else(|| ApiError::Internal("validated range missing".into()))?;
        Ok(AvailabilityQuery {
            range,
            unit_type_id,
        })
    }
}

/// One night of the pool for one unit type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolNight {
    pub capacity: i64,
    pub allotted: i64,
    pub picked_up: i64,
    pub available: i64,
}

impl PoolNight {
    /// Shown in availability when it has any capacity or allotment.
    pub fn is_listed(&self) -> bool {
        self.capacity > 0 || self.allotted > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityRow {
    pub date: String,
    pub unit_type_id: String,
    pub capacity: i64,
    pub allotted: i64,
    pub picked_up: i64,
    pub available: i64,
}

impl AvailabilityRow {
    pub fn new(unit_type_id: &UnitTypeId, date: NaiveDate, n: PoolNight) -> Self {
        AvailabilityRow {
            date: format_date(date),
            unit_type_id: unit_type_id.to_string(),
            capacity: n.capacity,
            allotted: n.allotted,
            picked_up: n.picked_up,
            available: n.available,
        }
    }
}

/// Nights where a new capacity would fall below what is allotted.
pub fn capacity_conflicts(
    unit_type_id: &UnitTypeId,
    capacity: i64,
    nights: impl IntoIterator<Item = (NaiveDate, PoolNight)>,
) -> Vec<NightConflict> {
    nights
        .into_iter()
        .filter(|(_, n)| n.allotted > capacity)
        .map(|(date, n)| NightConflict {
            unit_type_id: unit_type_id.to_string(),
            date,
            requested: capacity,
            actual: n.allotted,
        })
        .collect()
}

/// The pool nights read to explain a refusal (a month without bucket is absent).
pub type PoolView = super::plan::Nights<PoolNight>;

/// Nights where the pool cannot cover what a plan takes (`available < allotted`).
pub fn pool_conflicts(pool: &PoolView, deltas: &[super::plan::PoolDelta]) -> Vec<NightConflict> {
    deltas
        .iter()
        .filter_map(|d| {
            let available = pool
                .get(&(d.unit.clone(), d.date))
                .map(|n| n.available)
                .unwrap_or(0);
            (d.allotted > 0 && available < d.allotted).then(|| NightConflict {
                unit_type_id: d.unit.to_string(),
                date: d.date,
                requested: d.allotted,
                actual: available,
            })
        })
        .collect()
}

/// Plans a capacity change: one `Capacity` change per month of the range. With the
/// pool read (after a refused attempt) it refuses `CAPACITY_BELOW_ALLOTTED` (every
/// night allotted above the new capacity) and creates the months that have no bucket.
/// The establishment's version moves from `version` (the one read) to the next, the
/// sequence of its `inventory.changed` event.
pub fn plan_capacity(
    establishment_id: uuid::Uuid,
    version: i64,
    change: &InventoryChange,
    pool: Option<&PoolView>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Plan, ApiError> {
    let ut = &change.unit_type_id;
    if let Some(pool) = pool {
        let nights = change.range.iter().map(|d| {
            let night = pool.get(&(ut.clone(), d)).copied().unwrap_or_default();
            (d, night)
        });
        let conflicts = capacity_conflicts(ut, change.capacity, nights);
        if !conflicts.is_empty() {
            return Err(ApiError::CapacityBelowAllotted(conflicts));
        }
    }
    let mut plan = Plan::new();
    for (month, part) in change.range.by_month() {
        let new_bucket = pool.is_some_and(|p| {
            !p.keys()
                .any(|(u, d)| u == ut && super::dates::Month::of(*d) == month)
        });
        plan.push(Change::Capacity {
            establishment_id,
            unit: ut.clone(),
            month,
            nights: part.iter().collect(),
            capacity: change.capacity,
            new_bucket,
        });
    }
    use super::event::{Event, EventData, EventType};
    plan.push(Change::EstablishmentVersion {
        establishment_id,
        version: version + 1,
    });
    plan.push(Event::establishment(
        EventType::InventoryChanged,
        now,
        establishment_id,
        version + 1,
        EventData::Inventory(change.event()),
    ));
    Ok(plan)
}

impl InventoryChange {
    /// `data` of its `inventory.changed` event (the answer of `PUT .../inventory`).
    pub fn event(&self) -> super::event::InventoryChanged {
        super::event::InventoryChanged {
            unit_type_id: self.unit_type_id.to_string(),
            from: self.range.from(),
            to: self.range.to(),
            capacity: self.capacity,
            nights: self.range.nights(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;
    use crate::domain::plan::PoolDelta;
    use serde_json::json;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn parses_inventory_changes() {
        let o =
            json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 30});
        let c = InventoryChange::parse(o.as_object().unwrap()).unwrap();
        assert_eq!(c.range.nights(), 30);
        assert_eq!(c.capacity, 30);
    }

    #[test]
    fn inventory_rules() {
        let cases = [
            (
                json!({"unitTypeId": "dbl", "from": "2026-09-02", "to": "2026-09-01", "capacity": 1}),
                vec!["to"],
            ),
            (
                json!({"unitTypeId": "dbl", "from": "2026-01-01", "to": "2028-01-02", "capacity": 1}),
                vec!["to"],
            ),
            (
                json!({"unitTypeId": "d b", "from": "2026-09-01", "to": "2026-09-01", "capacity": 100_001}),
                vec!["unitTypeId", "capacity"],
            ),
            (
                json!({"capacity": -1}),
                vec!["unitTypeId", "from", "to", "capacity"],
            ),
            (
                json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-01", "capacity": 1, "allotted": 3}),
                vec!["allotted"],
            ),
        ];
        for (body, fields) in cases {
            let Err(ApiError::Validation(issues)) =
                InventoryChange::parse(body.as_object().unwrap())
            else {
                panic!("expected validation error for {body}")
            };
            let got: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
            assert_eq!(got, fields, "{body}");
        }
    }

    #[test]
    fn availability_is_limited_to_366_nights() {
        let q = |from: &str, to: &str| {
            AvailabilityQuery::parse(vec![("from".into(), from.into()), ("to".into(), to.into())])
        };
        assert!(q("2026-01-01", "2026-12-31").is_ok());
        assert!(q("2028-01-01", "2028-12-31").is_ok()); // 366 nights, leap year
        assert!(q("2026-01-01", "2027-01-01").is_ok());
        assert!(q("2026-01-01", "2027-01-02").is_err());
        assert!(q("2026-01-02", "2026-01-01").is_err());
    }

    #[test]
    fn conflicts_list_every_short_night() {
        let ut = UnitTypeId::parse("dbl").unwrap();
        let nights = [
            (
                d("2026-09-01"),
                PoolNight {
                    capacity: 10,
                    allotted: 5,
                    picked_up: 0,
                    available: 5,
                },
            ),
            (
                d("2026-09-02"),
                PoolNight {
                    capacity: 10,
                    allotted: 8,
                    picked_up: 0,
                    available: 2,
                },
            ),
            (
                d("2026-09-03"),
                PoolNight {
                    capacity: 10,
                    allotted: 7,
                    picked_up: 0,
                    available: 3,
                },
            ),
        ];
        let c = capacity_conflicts(&ut, 6, nights);
        assert_eq!(
            c.iter().map(|c| c.date).collect::<Vec<_>>(),
            [d("2026-09-02"), d("2026-09-03")]
        );
        assert_eq!((c[0].requested, c[0].actual), (6, 8));

        let pool: PoolView = nights
            .iter()
            .map(|(date, n)| ((ut.clone(), *date), *n))
            .collect();
        let takes: Vec<PoolDelta> = nights
            .iter()
            .map(|(date, _)| PoolDelta::allot(&ut, *date, 3))
            .collect();
        let short = pool_conflicts(&pool, &takes);
        assert_eq!(short.len(), 1);
        assert_eq!(
            (short[0].date, short[0].requested, short[0].actual),
            (d("2026-09-02"), 3, 2)
        );
    }

    fn pool_of(nights: &[(&str, i64, i64)]) -> PoolView {
        nights
            .iter()
            .map(|(day, capacity, allotted)| {
                (
                    (UnitTypeId::parse("dbl").unwrap(), d(day)),
                    PoolNight {
                        capacity: *capacity,
                        allotted: *allotted,
                        picked_up: 0,
                        available: capacity - allotted,
                    },
                )
            })
            .collect()
    }

    fn capacity(from: &str, to: &str, capacity: i64) -> InventoryChange {
        InventoryChange {
            unit_type_id: UnitTypeId::parse("dbl").unwrap(),
            range: NightRange::new(d(from), d(to), 731).unwrap(),
            capacity,
        }
    }

    #[test]
    fn capacity_plans() {
        let est = uuid::Uuid::nil();
        let pool = pool_of(&[("2026-09-29", 5, 3), ("2026-09-30", 5, 4)]);
        // (change, pool read, months planned with their new-bucket flag, or the refusal)
        type Case<'a> = (
            InventoryChange,
            Option<&'a PoolView>,
            Result<Vec<bool>, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                capacity("2026-09-29", "2026-10-02", 4),
                None,
                Ok(vec![false, false]),
            ),
            (
                capacity("2026-09-29", "2026-10-02", 4),
                Some(&pool),
                Ok(vec![false, true]),
            ),
            (
                capacity("2026-09-29", "2026-10-02", 3),
                Some(&pool),
                Err("CAPACITY_BELOW_ALLOTTED"),
            ),
            (
                capacity("2026-10-01", "2026-10-01", 0),
                Some(&pool),
                Ok(vec![true]),
            ),
        ];
        for (change, pool, want) in cases {
            match (plan_capacity(est, 2, &change, pool, now()), want) {
                (Ok(plan), Ok(flags)) => {
                    let n = plan.changes.len();
                    assert!(matches!(
                        &plan.changes[n - 2..],
                        [Change::EstablishmentVersion { version: 3, .. }, Change::Event(e)]
                            if e.sequence == 3 && e.occurred_at == now()
                                && e.data == super::super::event::EventData::Inventory(change.event())
                    ));
                    let got: Vec<bool> = plan.changes[..n - 2]
                        .iter()
                        .map(|c| match c {
                            Change::Capacity {
                                new_bucket,
                                capacity,
                                ..
                            } => {
                                assert_eq!(*capacity, change.capacity);
                                *new_bucket
                            }
                            other => panic!("{other:?}"),
                        })
                        .collect();
                    assert_eq!(got, flags, "{change:?}");
                }
                (Err(e), Err(code)) => assert_eq!(e.code(), code),
                (got, want) => panic!("{change:?}: {got:?} vs {want:?}"),
            }
        }
        let Err(ApiError::CapacityBelowAllotted(nights)) = plan_capacity(
            est,
            0,
            &capacity("2026-09-29", "2026-10-02", 3),
            Some(&pool),
            now(),
        ) else {
            panic!()
        };
        assert_eq!(nights.len(), 1, "only 30 Sep has 4 allotted");
    }
}
