//! Pickups: rooms taken by reservations, night by night from arrival to the night
//! before departure.
//!
//! - this file: the request body, the stored pickup and its representation;
//! - [`take`]: the plan of a pickup (where each night's rooms come from);
//! - [`cancel`]: the plan of its cancel (where each night's rooms go back to).

mod cancel;
mod take;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::allotment::{MAX_PERIOD_NIGHTS, MAX_QUANTITY};
use super::dates::NightRange;
use super::error::ApiError;
use super::ids::UnitTypeId;
use super::plan::Plan;
use super::validate::{date, integer, string, unit_type_id, Fields, Patch};

pub use cancel::plan_pickup_cancel;
pub use take::{plan_pickup, NightTake, PickupState};

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
    /// The nights taken: arrival to the night before departure.
    nights: NightRange,
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
            Patch::Value(v) => Some(v),
            _ => None,
        };
        let nights = match (arrival, departure) {
            (Some(a), Some(d)) => {
                let nights = stay(a, d);
                if nights.is_none() {
                    f.issue("departure", "must be after arrival");
                }
                nights
            }
            _ => None,
        };
        f.finish()?;
        match (unit, arrival, departure, quantity, reservation_ref, nights) {
            (
                Some(unit_type_id),
                Some(arrival),
                Some(departure),
                Some(quantity),
                Some(reservation_ref),
                Some(nights),
            ) => Ok(NewPickup {
                unit_type_id,
                arrival,
                departure,
                quantity,
                reservation_ref,
                guest_name,
                nights,
            }),
            _ => Err(ApiError::Internal("validated pickup fields missing".into())),
        }
    }

    /// The nights taken: arrival to the night before departure.
    pub fn nights(&self) -> NightRange {
        self.nights
    }

    /// Whether some allotment's period could hold every night of the stay: a longer
    /// stay can only be refused, and only a read of the allotment can say which date
    /// lies outside its period.
    pub fn fits_a_period(&self) -> bool {
        self.nights.nights() <= MAX_PERIOD_NIGHTS
    }
}

/// The nights from `arrival` to the night before `departure` (`None` unless
/// `arrival < departure`).
fn stay(arrival: NaiveDate, departure: NaiveDate) -> Option<NightRange> {
    let last = departure.pred_opt()?;
    NightRange::new(arrival, last, i64::MAX).ok()
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
    /// The active pickup a request makes: `takes` say where each night's rooms come
    /// from; the nights the group supplied are recorded with the group.
    fn new(
        new: &NewPickup,
        pickup_id: Uuid,
        allotment_id: Uuid,
        group: Option<Uuid>,
        takes: &[NightTake],
        now: DateTime<Utc>,
    ) -> Pickup {
        let from_group: Vec<GroupDraw> = takes
            .iter()
            .filter(|k| k.from_group > 0)
            .map(|k| GroupDraw {
                date: k.date,
                quantity: k.from_group,
            })
            .collect();
        Pickup {
            pickup_id,
            allotment_id,
            unit_type_id: new.unit_type_id.to_string(),
            arrival: new.arrival,
            departure: new.departure,
            quantity: new.quantity,
            reservation_ref: new.reservation_ref.clone(),
            guest_name: new.guest_name.clone(),
            status: PickupStatus::Active,
            created_at: now,
            cancelled_at: None,
            capacity_group_id: group.filter(|_| !from_group.is_empty()),
            from_group,
        }
    }

    /// Rooms the group supplied on `d`.
    pub fn drawn_on(&self, d: NaiveDate) -> i64 {
        self.from_group
            .iter()
            .filter(|g| g.date == d)
            .map(|g| g.quantity)
            .sum()
    }

    /// The nights taken. A stored pickup whose departure is not after its arrival is
    /// corrupt: `INTERNAL_ERROR`.
    pub fn nights(&self) -> Result<NightRange, ApiError> {
        stay(self.arrival, self.departure).ok_or_else(|| {
            ApiError::Internal(format!(
                "stored pickup {}: departure {} is not after arrival {}",
                self.pickup_id, self.departure, self.arrival
            ))
        })
    }

    /// Its unit type. A stored pickup with an invalid one is corrupt: `INTERNAL_ERROR`.
    pub fn unit(&self) -> Result<UnitTypeId, ApiError> {
        UnitTypeId::parse(&self.unit_type_id)
            .map_err(|_| ApiError::Internal(format!("stored pickup {}: unit type", self.pickup_id)))
    }

    /// The representation of API.md.
    pub fn view(&self) -> PickupView {
        PickupView {
            pickup_id: self.pickup_id,
            allotment_id: self.allotment_id,
            unit_type_id: self.unit_type_id.clone(),
            arrival: self.arrival,
            departure: self.departure,
            quantity: self.quantity,
            reservation_ref: self.reservation_ref.clone(),
            guest_name: self.guest_name.clone(),
            status: self.status,
            created_at: self.created_at,
            cancelled_at: self.cancelled_at,
            capacity_group_id: self.capacity_group_id,
            from_group: self.from_group.clone(),
        }
    }
}

/// A pickup as the API shows it (`capacityGroupId` and `fromGroup` only when a group
/// supplied rooms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupView {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_group_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub from_group: Vec<GroupDraw>,
}

/// What a pickup or its cancel writes, and the pickup it answers with. An empty plan
/// writes nothing (a repeated cancel).
#[derive(Debug, Clone, PartialEq)]
pub struct PickupPlan {
    pub plan: Plan,
    pub pickup: Pickup,
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A 7-night allotment of 10 `dbl` (1–7 Sep 2026) and a group over it, for the
    //! plan tests.

    use super::*;
    use crate::domain::allotment::{initial_grid, AllotmentRecord, Grid, NewAllotment};
    use crate::domain::group::{GroupGrid, GroupNight, LoadedGroup, NewGroup};

    pub use crate::domain::group::fixtures::{d, now, u, ESTABLISHMENT, GROUP};

    pub const ALLOTMENT: Uuid = Uuid::from_u128(0xa);
    pub const PICKUP: Uuid = Uuid::from_u128(0x1);

    pub fn allotment() -> (AllotmentRecord, Grid) {
        let body = serde_json::json!({
            "establishmentId": ESTABLISHMENT.to_string(),
            "ratePlanId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c1",
            "channelType": "to", "allotmentType": "allotment", "currency": "EUR",
            "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
            "unitAllocations": [{"unitTypeId": "dbl", "quantity": 10}],
            "cutoffDate": "2026-08-01", "minimumPickupPercent": 70,
            "penaltyPerRoomNightCents": "5000"
        });
        let new = NewAllotment::parse(body.as_object().unwrap(), None).unwrap();
        let record = AllotmentRecord::create(&new, ALLOTMENT, chrono_tz::Europe::Paris, now());
        let grid = initial_grid(&new.period, &new.unit_allocations);
        (record, grid)
    }

    /// A group of `shared` dbl per night over the allotment's period, with `used` of
    /// them in use on each night.
    pub fn group(shared: i64, used: i64) -> LoadedGroup {
        let body = serde_json::json!({"establishmentId": ESTABLISHMENT.to_string(), "name": "Pool",
            "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
            "unitAllocations": [{"unitTypeId": "dbl", "quantity": shared}],
            "cutoffDate": "2026-08-15", "allotmentIds": [ALLOTMENT.to_string()]});
        let new = NewGroup::parse(body.as_object().unwrap(), None).unwrap();
        let record =
            crate::domain::group::GroupRecord::create(&new, GROUP, chrono_tz::Europe::Paris, now());
        let grid: GroupGrid = new
            .period
            .iter()
            .map(|d| ((u("dbl"), d), GroupNight { shared, used }))
            .collect();
        LoadedGroup {
            record,
            grid,
            active_draws: i64::from(used > 0),
        }
    }

    pub fn body(unit: &str, arrival: &str, departure: &str, quantity: i64) -> NewPickup {
        let v = serde_json::json!({"unitTypeId": unit, "arrival": arrival, "departure": departure,
            "quantity": quantity, "reservationRef": "PMS-1"});
        NewPickup::parse(v.as_object().unwrap()).unwrap()
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
        assert!(p.fits_a_period());
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
        let endless = json!({"unitTypeId": "dbl", "arrival": "2026-09-02", "departure": "5292-04-20",
                             "quantity": 1, "reservationRef": "R"});
        assert!(!NewPickup::parse(endless.as_object().unwrap())
            .unwrap()
            .fits_a_period());
    }

    #[test]
    fn a_corrupt_stored_pickup_is_an_internal_error_not_a_panic() {
        let new = fixtures::body("dbl", "2026-09-02", "2026-09-04", 1);
        let mut p = Pickup::new(
            &new,
            fixtures::PICKUP,
            fixtures::ALLOTMENT,
            None,
            &[],
            fixtures::now(),
        );
        assert_eq!(p.nights().unwrap().nights(), 2);
        p.departure = p.arrival;
        assert_eq!(p.nights().unwrap_err().code(), "INTERNAL_ERROR");
        p.unit_type_id = "not a unit".into();
        assert_eq!(p.unit().unwrap_err().code(), "INTERNAL_ERROR");
    }

    #[test]
    fn the_view_shows_the_group_only_when_it_supplied_rooms() {
        let new = fixtures::body("dbl", "2026-09-02", "2026-09-04", 2);
        let own = Pickup::new(
            &new,
            fixtures::PICKUP,
            fixtures::ALLOTMENT,
            Some(fixtures::GROUP),
            &[],
            fixtures::now(),
        );
        let v = serde_json::to_value(own.view()).unwrap();
        assert!(v.get("capacityGroupId").is_none() && v.get("fromGroup").is_none());
        assert_eq!(v["createdAt"], "2026-06-01T10:00:00Z");
        assert_eq!(v["cancelledAt"], json!(null));
        assert_eq!(v["status"], "active");
        let takes = [NightTake {
            date: fixtures::d("2026-09-03"),
            own: 1,
            from_group: 1,
        }];
        let drew = Pickup::new(
            &new,
            fixtures::PICKUP,
            fixtures::ALLOTMENT,
            Some(fixtures::GROUP),
            &takes,
            fixtures::now(),
        );
        let v = serde_json::to_value(drew.view()).unwrap();
        assert_eq!(v["capacityGroupId"], fixtures::GROUP.to_string());
        assert_eq!(
            v["fromGroup"],
            json!([{"date": "2026-09-03", "quantity": 1}])
        );
        // The stored document and the view agree field for field.
        assert_eq!(v, serde_json::to_value(&drew).unwrap());
    }
}
