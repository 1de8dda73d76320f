//! Pickups: rooms taken by reservations, night by night from arrival to the night
//! before departure.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::allotment::{AllotmentRecord, AllotmentType, Grid, MAX_QUANTITY};
use super::dates::NightRange;
use super::error::{ApiError, FieldIssue, NightConflict};
use super::ids::UnitTypeId;
use super::validate::{date, integer, string, unit_type_id, Fields};

pub const MAX_REFERENCE_CHARS: usize = 100;
pub const MAX_GUEST_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PickupStatus {
    Active,
    Cancelled,
}

/// The body of `POST .../pickups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPickup {
    pub unit_type_id: UnitTypeId,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub quantity: i64,
    pub reservation_ref: String,
    pub guest_name: Option<String>,
}

impl NewPickup {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let unit = f.required("unitTypeId", &unit_type_id);
        let arrival = f.required("arrival", &date);
        let departure = f.required("departure", &date);
        let quantity = f.required("quantity", &integer(1, MAX_QUANTITY));
        let reservation_ref = f.required("reservationRef", &string(1, MAX_REFERENCE_CHARS));
        let guest_name = match f.nullable("guestName", &string(1, MAX_GUEST_NAME_CHARS)) {
            super::validate::Patch::Value(v) => Some(v),
            _ => None,
        };
        if let (Some(a), Some(d)) = (arrival, departure) {
            if d <= a {
                f.issue("departure", "must be after arrival");
            }
        }
        f.finish()?;
        match (unit, arrival, departure, quantity, reservation_ref) {
            (
                Some(unit_type_id),
                Some(arrival),
                Some(departure),
                Some(quantity),
                Some(reservation_ref),
            ) => Ok(NewPickup {
                unit_type_id,
                arrival,
                departure,
                quantity,
                reservation_ref,
                guest_name,
            }),
            _ => Err(ApiError::Internal("validated pickup fields missing".into())),
        }
    }

    /// The nights taken: arrival to the night before departure.
    pub fn nights(&self) -> NightRange {
        NightRange::new(
            self.arrival,
            self.departure.pred_opt().unwrap_or(self.arrival),
            i64::MAX,
        )
        .expect("departure is after arrival")
    }

    /// Checks the pickup against the allotment and plans where each night's rooms
    /// come from: nights inside the period and a unit type it holds (`400`), an active
    /// contractual allotment and no released night (`409 INVALID_STATE`), and enough
    /// rooms on every night, its own first, then its capacity group's (`409
    /// ALLOTMENT_EXHAUSTED` with every short night; `remaining` counts the group too).
    pub fn plan(
        &self,
        record: &AllotmentRecord,
        grid: &Grid,
        group: Option<&GroupView<'_>>,
    ) -> Result<Vec<NightTake>, ApiError> {
        let nights = self.nights();
        let mut issues = Vec::new();
        if nights.from() < record.period_from || nights.to() > record.period_to {
            issues.push(FieldIssue::new("arrival", "the nights from arrival to the night before departure must lie inside the allotment's period"));
        }
        if !grid.keys().any(|(u, _)| u == &self.unit_type_id) {
            issues.push(FieldIssue::new(
                "unitTypeId",
                "the allotment holds no rooms of this unit type",
            ));
        }
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        record.require_active("pick up on")?;
        if record.allotment_type == AllotmentType::Tentative {
            return Err(ApiError::InvalidState(
                "A tentative allotment takes no pickups until confirmed".into(),
            ));
        }
        if nights.iter().any(|d| record.is_night_released(d)) {
            return Err(ApiError::InvalidState(
                "Some of these nights are already released".into(),
            ));
        }
        let mut takes = Vec::new();
        let mut short = Vec::new();
        for d in nights.iter() {
            let own_left = grid
                .get(&(self.unit_type_id.clone(), d))
                .map(|n| n.remaining())
                .unwrap_or(0)
                .max(0);
            let group_left = group
                .map(|g| g.available(&self.unit_type_id, d))
                .unwrap_or(0);
            if own_left + group_left < self.quantity {
                short.push(NightConflict {
                    unit_type_id: self.unit_type_id.to_string(),
                    date: d,
                    requested: self.quantity,
                    actual: own_left + group_left,
                });
                continue;
            }
            let own = self.quantity.min(own_left);
            takes.push(NightTake {
                date: d,
                own,
                from_group: self.quantity - own,
            });
        }
        if short.is_empty() {
            Ok(takes)
        } else {
            Err(ApiError::AllotmentExhausted(short))
        }
    }
}

/// Where one night's rooms of a pickup come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NightTake {
    pub date: NaiveDate,
    pub own: i64,
    pub from_group: i64,
}

/// What a pickup may draw from the member's capacity group.
pub struct GroupView<'a> {
    pub nights: &'a std::collections::BTreeMap<(UnitTypeId, NaiveDate), super::group::GroupNight>,
    pub released_through: Option<NaiveDate>,
}

impl GroupView<'_> {
    /// Rooms the group can still supply on a night (none once the night is released).
    pub fn available(&self, ut: &UnitTypeId, d: NaiveDate) -> i64 {
        if self.released_through.is_some_and(|t| d <= t) {
            return 0;
        }
        self.nights
            .get(&(ut.clone(), d))
            .map(|n| n.available())
            .unwrap_or(0)
            .max(0)
    }
}

/// A stored pickup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pickup {
    pub pickup_id: Uuid,
    pub allotment_id: Uuid,
    pub unit_type_id: String,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub quantity: i64,
    pub reservation_ref: String,
    pub guest_name: Option<String>,
    pub status: PickupStatus,
    #[serde(serialize_with = "super::establishment::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::allotment::opt_instant")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The capacity group that supplied some of the rooms, and how many per night.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_group_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_group: Vec<GroupDraw>,
}

/// Rooms a pickup took from the capacity group on one night.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDraw {
    pub date: NaiveDate,
    pub quantity: i64,
}

impl Pickup {
    /// Rooms the group supplied on `d`.
    pub fn drawn_on(&self, d: NaiveDate) -> i64 {
        self.from_group
            .iter()
            .filter(|g| g.date == d)
            .map(|g| g.quantity)
            .sum()
    }
}

impl Pickup {
    pub fn nights(&self) -> NightRange {
        NightRange::new(
            self.arrival,
            self.departure.pred_opt().unwrap_or(self.arrival),
            i64::MAX,
        )
        .expect("stored pickups have departure after arrival")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_names_every_bad_field() {
        let ok = json!({"unitTypeId": "dbl", "arrival": "2026-09-02", "departure": "2026-09-05", "quantity": 2,
                        "reservationRef": "PMS-48213", "guestName": "Group TUI room 1"});
        let p = NewPickup::parse(ok.as_object().unwrap()).unwrap();
        assert_eq!(p.nights().nights(), 3);
        assert_eq!(p.nights().to().to_string(), "2026-09-04");
        let bad = json!({"unitTypeId": "dbl", "arrival": "2026-09-05", "departure": "2026-09-05", "quantity": 0,
                         "reservationRef": "", "guestName": "x".repeat(201), "status": "active"});
        let Err(ApiError::Validation(issues)) = NewPickup::parse(bad.as_object().unwrap()) else {
            panic!()
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "quantity",
                "reservationRef",
                "guestName",
                "departure",
                "status"
            ]
        );
    }
}
