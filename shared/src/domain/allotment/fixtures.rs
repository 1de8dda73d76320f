//! Values the allotment plan tests share (no store).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::grid::{initial_grid, Grid};
use super::record::AllotmentRecord;
use super::terms::NewAllotment;
use crate::domain::dates::parse_date;
use crate::domain::ids::UnitTypeId;

pub fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

pub fn u(s: &str) -> UnitTypeId {
    UnitTypeId::parse(s).unwrap()
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The tests' clock: 1 Jun 2026, 10:00Z.
pub fn now() -> DateTime<Utc> {
    at("2026-06-01T10:00:00Z")
}

/// The contract's example body: 10 `dbl` over 1–7 Sep 2026, cutoff 1 Aug, 7 release
/// days, penalty 5000 (the sample event's body as a contractual allotment).
pub fn contract() -> Value {
    let event: Value =
        serde_json::from_str(include_str!("../../../../events/create-allotment.json")).unwrap();
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    let contract = json!({"allotmentType": "allotment", "cutoffDate": "2026-08-01",
                          "penaltyPerRoomNightCents": "5000"});
    if let (Value::Object(b), Value::Object(c)) = (&mut body, contract) {
        b.extend(c);
    }
    body
}

/// A creation body: the contract's example with some fields replaced.
pub fn new_allotment(changes: Value) -> NewAllotment {
    let mut body = contract();
    if let (Value::Object(b), Value::Object(c)) = (&mut body, changes) {
        b.extend(c);
    }
    NewAllotment::parse(body.as_object().unwrap(), None).unwrap()
}

/// A new allotment of `changes` (over the contract's example) in Paris, version 1.
pub fn created(changes: Value) -> (AllotmentRecord, Grid) {
    let new = new_allotment(changes);
    let record = AllotmentRecord::create(&new, Uuid::nil(), chrono_tz::Europe::Paris, now());
    let grid = initial_grid(&new.period, &new.unit_allocations);
    (record, grid)
}

/// The contract's allotment (10 `dbl`, 1–7 Sep) with 3 rooms picked up on 2 Sep.
pub fn allotment() -> (AllotmentRecord, Grid) {
    let (mut record, mut grid) = created(json!({}));
    if let Some(night) = grid.get_mut(&(u("dbl"), d("2026-09-02"))) {
        night.picked_up = 3;
    }
    record.active_pickups = 1;
    (record, grid)
}

/// What a plan says, read back change by change for the tests' assertions.
pub mod read {
    use chrono::NaiveDate;

    use crate::domain::allotment::{AllocationEntry, AllotmentRecord, GridNight};
    use crate::domain::plan::{Change, Guard, MonthWrite, Plan};

    /// The allotment header written and its guard.
    pub fn header(plan: &Plan) -> Option<(&AllotmentRecord, Guard)> {
        plan.changes.iter().find_map(|c| match c {
            Change::Allotment { record, guard } => Some((record.as_ref(), *guard)),
            _ => None,
        })
    }

    /// The event written: its type, sequence and instant.
    pub fn event(
        plan: &Plan,
    ) -> Option<(
        crate::domain::event::EventType,
        i64,
        chrono::DateTime<chrono::Utc>,
    )> {
        let mut events = plan.events();
        let e = events.next()?;
        assert!(events.next().is_none(), "one event per command");
        Some((e.event_type, e.sequence, e.occurred_at))
    }

    /// The history item written: its version and entries.
    pub fn history(plan: &Plan) -> Option<(i64, &[AllocationEntry])> {
        plan.changes.iter().find_map(|c| match c {
            Change::History {
                version, entries, ..
            } => Some((*version, entries.as_slice())),
            _ => None,
        })
    }

    /// The month writes of the allotment's grid.
    pub fn months(plan: &Plan) -> &[MonthWrite<GridNight>] {
        plan.changes
            .iter()
            .find_map(|c| match c {
                Change::AllotmentNights { months, .. } => Some(months.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// Every grid night written: `(unit type, date, night)`.
    pub fn nights(plan: &Plan) -> Vec<(String, NaiveDate, GridNight)> {
        months(plan)
            .iter()
            .flat_map(|m| &m.units)
            .flat_map(|u| {
                u.nights
                    .iter()
                    .map(move |(d, n)| (u.unit.to_string(), *d, n.clone()))
            })
            .collect()
    }

    /// The grid nights written that change what `grid` holds (each unit type of a
    /// month is written whole).
    pub fn changed_nights(plan: &Plan, grid: &super::Grid) -> Vec<(String, NaiveDate, GridNight)> {
        nights(plan)
            .into_iter()
            .filter(|(u, d, n)| {
                let unit = super::UnitTypeId::parse(u).unwrap();
                grid.get(&(unit, *d)) != Some(n)
            })
            .collect()
    }

    /// Every pool night moved: `(unit type, date, allotted delta)`.
    pub fn pool(plan: &Plan) -> Vec<(String, NaiveDate, i64)> {
        plan.changes
            .iter()
            .filter_map(|c| match c {
                Change::Pool { nights, .. } => Some(nights),
                _ => None,
            })
            .flatten()
            .filter(|n| n.allotted != 0)
            .map(|n| (n.unit.to_string(), n.date, n.allotted))
            .collect()
    }

    /// The change of the establishment's holds, if any.
    pub fn holds(plan: &Plan) -> Option<i64> {
        plan.changes.iter().find_map(|c| match c {
            Change::EstablishmentHolds { delta, .. } => Some(*delta),
            _ => None,
        })
    }
}
