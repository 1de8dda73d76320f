//! Random JSON into every request parser: never a panic, only the contract's 400s.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shared::domain::allotment::{parse_confirm, parse_reason, AllocationChange, NewAllotment};
use shared::domain::establishment::EstablishmentInput;
use shared::domain::group::NewGroup;
use shared::domain::inventory::{AvailabilityQuery, InventoryChange};
use shared::domain::pickup::NewPickup;
use shared::domain::validate::parse_object;
use shared::ApiError;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2026-09-01"),
            Just("2026-02-30"),
            Just("dbl"),
            Just("5000"),
            Just("EUR"),
            Just("to"),
            Just("allotment"),
            Just("2489e9ad-2ee2-8e00-8ec9-32d5f69181c0"),
            Just("Europe/Paris")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly real field names, so parsers go deep.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            Just("establishmentId"),
            Just("ratePlanId"),
            Just("channelType"),
            Just("allotmentType"),
            Just("currency"),
            Just("periodFrom"),
            Just("periodTo"),
            Just("unitAllocations"),
            Just("unitTypeId"),
            Just("quantity"),
            Just("cutoffDate"),
            Just("releaseDays"),
            Just("minimumPickupPercent"),
            Just("penaltyPerRoomNightCents"),
            Just("name"),
            Just("timeZone"),
            Just("from"),
            Just("to"),
            Just("capacity"),
            Just("arrival"),
            Just("departure"),
            Just("reservationRef"),
            Just("guestName"),
            Just("allotmentIds"),
            Just("memo"),
            Just("reason")
        ]
        .prop_map(str::to_string),
        "[a-zA-Z]{1,8}",
    ]
}

fn is_contract_error(e: &ApiError) -> bool {
    matches!(e, ApiError::Validation(issues) if !issues.is_empty())
        || matches!(e, ApiError::BadRequest(_))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_and_only_refuse_with_400s(v in value()) {
        let body = v.to_string();
        match parse_object(body.as_bytes()) {
            Err(e) => prop_assert!(is_contract_error(&e)),
            Ok(obj) => {
                let obj: &Map<String, Value> = &obj;
                let today = shared::domain::dates::parse_date("2026-06-01");
                let results: Vec<Option<ApiError>> = vec![
                    NewAllotment::parse(obj, today).err(),
                    EstablishmentInput::parse(obj).err(),
                    InventoryChange::parse(obj).err(),
                    NewPickup::parse(obj).err(),
                    AllocationChange::parse(obj).err(),
                    NewGroup::parse(obj, today).err(),
                    parse_confirm(obj).err(),
                    parse_reason(obj).err(),
                ];
                for e in results.into_iter().flatten() {
                    prop_assert!(is_contract_error(&e), "{e:?}");
                }
            }
        }
    }

    #[test]
    fn query_parsers_never_panic(pairs in prop::collection::vec((field(), "[ -~]{0,12}"), 0..6)) {
        if let Err(e) = AvailabilityQuery::parse(pairs) {
            prop_assert!(is_contract_error(&e));
        }
    }

    #[test]
    fn arbitrary_bytes_are_a_bad_request_or_an_object(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(e) = parse_object(&bytes) {
            prop_assert!(is_contract_error(&e));
        }
    }
}
