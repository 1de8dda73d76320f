//! Attrition: what the client owes for rooms it did not pick up. Exact arithmetic.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::allotment::{AllotmentRecord, AllotmentType, Cents, Currency, Grid, Percent, Status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    pub allotment_id: Uuid,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub currency: Currency,
    pub contracted_room_nights: i64,
    pub picked_up_room_nights: i64,
    pub minimum_pickup_percent: Percent,
    pub required_room_nights: i64,
    pub shortfall_room_nights: i64,
    pub penalty_per_room_night_cents: Option<Cents>,
    /// An exact integer as a string (may exceed 18 digits).
    pub penalty_cents: String,
    pub complimentary_rooms: i64,
}

/// `ceil(contracted × percent / 100)`, exactly.
pub fn required_room_nights(contracted: i64, percent: Percent) -> i64 {
    let exact = Decimal::from(contracted) * percent.value() / Decimal::from(100);
    exact.ceil().to_i64().unwrap_or(i64::MAX)
}

/// `shortfall × penalty` as an exact integer string (u128 holds any product of an
/// i64 shortfall and an 18-digit penalty).
pub fn penalty_cents(shortfall: i64, per_room_night: Option<Cents>) -> String {
    let per = per_room_night.map(|c| c.get() as u128).unwrap_or(0);
    (shortfall.max(0) as u128 * per).to_string()
}

pub fn settle(record: &AllotmentRecord, grid: &Grid) -> Settlement {
    let contracted: i64 = grid.values().map(|n| n.contracted).sum();
    let picked_up: i64 = grid.values().map(|n| n.picked_up).sum();
    let pct = record.terms.minimum_pickup_percent;
    let required = required_room_nights(contracted, pct);
    let shortfall = (required - picked_up).max(0);
    let owes =
        record.allotment_type == AllotmentType::Allotment && record.status != Status::Cancelled;
    Settlement {
        allotment_id: record.allotment_id,
        is_final: record.status == Status::Released,
        currency: record.currency,
        contracted_room_nights: contracted,
        picked_up_room_nights: picked_up,
        minimum_pickup_percent: pct,
        required_room_nights: required,
        shortfall_room_nights: shortfall,
        penalty_per_room_night_cents: record.terms.penalty_per_room_night_cents,
        penalty_cents: if owes {
            penalty_cents(shortfall, record.terms.penalty_per_room_night_cents)
        } else {
            "0".into()
        },
        complimentary_rooms: record.terms.complimentary_rooms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pct(v: serde_json::Value) -> Percent {
        Percent::rule(&v).unwrap()
    }

    #[test]
    fn required_room_nights_table() {
        let cases = [
            (70, json!(70), 49),
            (70, json!(0), 0),
            (70, json!(100), 70),
            (7, json!(72.5), 6),   // 5.075 → 6
            (40, json!(72.5), 29), // 29.0 exactly
            (0, json!(72.5), 0),
            (3, json!(33.33), 1), // 0.9999 → 1
            (10000, json!(0.01), 1),
            (1, json!(0.01), 1),
        ];
        for (contracted, p, want) in cases {
            assert_eq!(
                required_room_nights(contracted, pct(p.clone())),
                want,
                "{contracted} × {p}"
            );
        }
    }

    #[test]
    fn penalties_are_exact_strings() {
        assert_eq!(penalty_cents(9, Cents::rule(&json!("5000")).ok()), "45000");
        assert_eq!(penalty_cents(0, Cents::rule(&json!("5000")).ok()), "0");
        assert_eq!(penalty_cents(5, None), "0");
        let max = Cents::rule(&json!("999999999999999999")).ok();
        assert_eq!(
            penalty_cents(365_500_000, max),
            "365499999999999999634500000"
        );
        assert_eq!(
            penalty_cents(i64::MAX, max),
            (i64::MAX as u128 * 999_999_999_999_999_999u128).to_string()
        );
    }
}
