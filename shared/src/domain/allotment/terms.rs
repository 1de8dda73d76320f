//! The terms of an allotment and the bodies that set them: enums, exact amounts
//! (`Percent`, `Cents`), the commercial `Terms`, and the parsing of the create,
//! patch, confirm and reason bodies with every rule of the contract.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::dates::NightRange;
use crate::domain::error::{ApiError, FieldIssue};
use crate::domain::ids::UnitTypeId;
use crate::domain::validate::{date, integer, string, unit_type_id, uuid, Fields, Patch};

pub const MAX_PERIOD_NIGHTS: i64 = 731;
pub const MAX_UNIT_ALLOCATIONS: usize = 50;
pub const MAX_QUANTITY: i64 = 10_000;
pub const MAX_RELEASE_DAYS: i64 = 365;
pub const MAX_COMPLIMENTARY_ROOMS: i64 = 10_000;
pub const MAX_HEADCOUNT: i64 = 1_000_000;
pub const MAX_PENALTY_DIGITS: usize = 18;
/// A transaction holds at most 100 items: one pool bucket per unit type and month,
/// one grid item per month, the header, the history entry, the establishment and
/// the events.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

macro_rules! string_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// A validation rule for this enum.
            pub fn rule(v: &Value) -> Result<Self, String> {
                v.as_str()
                    .and_then(Self::parse)
                    .ok_or_else(|| format!("must be one of {}", Self::ALL.join(", ")))
            }
        }
    };
}

string_enum!(ChannelType { To = "to", Agency = "agency", Group = "group", Corporate = "corporate", Direct = "direct" });
string_enum!(AllotmentType { Allotment = "allotment", Tentative = "tentative" });
string_enum!(Currency { Eur = "EUR", Gbp = "GBP" });
string_enum!(InvoicingMode { MasterSingle = "master_single", IndividualPerSub = "individual_per_sub" });
string_enum!(Status { Active = "active", Released = "released", Cancelled = "cancelled" });

/// A percentage 0–100 with at most two decimals, kept exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent(Decimal);

impl Percent {
    pub fn rule(v: &Value) -> Result<Percent, String> {
        const ISSUE: &str = "must be a number from 0 to 100 with at most two decimals";
        let Value::Number(n) = v else {
            return Err(ISSUE.into());
        };
        let d = Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map_err(|_| ISSUE.to_string())?
            .normalize();
        if d.is_sign_negative() && !d.is_zero() || d > Decimal::from(100) || d.scale() > 2 {
            return Err(ISSUE.into());
        }
        Ok(Percent(d))
    }

    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A JSON number: 70 or 72.5, exactly as accepted.
        let n: serde_json::Number = self
            .0
            .normalize()
            .to_string()
            .parse()
            .map_err(serde::ser::Error::custom)?;
        n.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Percent::rule(&v).map_err(serde::de::Error::custom)
    }
}

/// An amount of cents: a string of 1–18 digits on input, canonical on output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(u64);

impl Cents {
    pub fn rule(v: &Value) -> Result<Cents, String> {
        const ISSUE: &str = "must be a string of 1 to 18 digits (cents)";
        match v {
            Value::String(s)
                if !s.is_empty()
                    && s.len() <= MAX_PENALTY_DIGITS
                    && s.bytes().all(|c| c.is_ascii_digit()) =>
            {
                s.parse().map(Cents).map_err(|_| ISSUE.to_string())
            }
            _ => Err(ISSUE.into()),
        }
    }

    pub fn get(&self) -> u64 {
        self.0
    }
}

impl Serialize for Cents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Cents::rule(&v).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitAllocation {
    pub unit_type_id: String,
    pub quantity: i64,
}

/// The commercial terms: everything `PATCH` may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    pub channel_external_id: Option<String>,
    pub rate_plan_id: Uuid,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    pub minimum_pickup_percent: Percent,
    pub penalty_per_room_night_cents: Option<Cents>,
    pub complimentary_rooms: i64,
    pub contractual_headcount: Option<i64>,
    pub invoicing_mode: InvoicingMode,
    pub billing_folio_id: Option<Uuid>,
}

pub(super) fn opt<T>(p: Patch<T>) -> Option<T> {
    match p {
        Patch::Value(v) => Some(v),
        _ => None,
    }
}

/// Field rules shared by creation and `PATCH`.
mod rules {
    use super::*;
    pub fn channel_external_id(v: &Value) -> Result<String, String> {
        string(1, 200)(v)
    }
    pub fn release_days(v: &Value) -> Result<i64, String> {
        integer(0, MAX_RELEASE_DAYS)(v)
    }
    pub fn complimentary_rooms(v: &Value) -> Result<i64, String> {
        integer(0, MAX_COMPLIMENTARY_ROOMS)(v)
    }
    pub fn contractual_headcount(v: &Value) -> Result<i64, String> {
        integer(1, MAX_HEADCOUNT)(v)
    }
}

/// Cross-field rules of the terms: cutoff inside the period and not in the past,
/// penalty terms for a contractual allotment. Each rule runs when its fields are known.
pub fn check_terms(
    cutoff_date: Option<NaiveDate>,
    has_penalty: bool,
    allotment_type: Option<AllotmentType>,
    period_to: Option<NaiveDate>,
    today: Option<NaiveDate>,
    issues: &mut Vec<FieldIssue>,
) {
    if let (Some(cutoff), Some(to)) = (cutoff_date, period_to) {
        if cutoff > to {
            issues.push(FieldIssue::new(
                "cutoffDate",
                "must be on or before periodTo",
            ));
        }
    }
    if let (Some(cutoff), Some(today)) = (cutoff_date, today) {
        if cutoff < today {
            issues.push(FieldIssue::new(
                "cutoffDate",
                "must not be before today in the establishment's time zone",
            ));
        }
    }
    if allotment_type == Some(AllotmentType::Allotment) && !has_penalty {
        issues.push(FieldIssue::new(
            "penaltyPerRoomNightCents",
            "is required for an allotment of type allotment",
        ));
    }
}

/// The body of `POST /v1/allotments`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAllotment {
    pub establishment_id: Uuid,
    pub channel_type: ChannelType,
    pub allotment_type: AllotmentType,
    pub currency: Currency,
    pub period: NightRange,
    pub unit_allocations: Vec<(UnitTypeId, i64)>,
    pub terms: Terms,
}

/// Reads `establishmentId` from a creation body, if it is a valid UUID (the
/// establishment decides "today" for the cutoff rule).
pub fn peek_establishment_id(obj: &Map<String, Value>) -> Option<Uuid> {
    obj.get("establishmentId").and_then(|v| uuid(v).ok())
}

impl NewAllotment {
    /// Every rule of API.md; `today` (in the establishment's zone) when known.
    pub fn parse(obj: &Map<String, Value>, today: Option<NaiveDate>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let establishment_id = f.required("establishmentId", &uuid);
        let rate_plan_id = f.required("ratePlanId", &uuid);
        let channel_type = f.required("channelType", &ChannelType::rule);
        let channel_external_id = opt(f.nullable("channelExternalId", &rules::channel_external_id));
        let allotment_type = f.required("allotmentType", &AllotmentType::rule);
        let currency = f.required("currency", &Currency::rule);
        let period_from = f.required("periodFrom", &date);
        let period_to = f.required("periodTo", &date);
        let unit_allocations = parse_unit_allocations(&mut f);
        let cutoff_date = f.required("cutoffDate", &date);
        let release_days = opt(f.nullable("releaseDays", &rules::release_days));
        let minimum_pickup_percent = f.required("minimumPickupPercent", &Percent::rule);
        let penalty = f.nullable("penaltyPerRoomNightCents", &Cents::rule);
        let complimentary_rooms = f
            .optional("complimentaryRooms", &rules::complimentary_rooms)
            .unwrap_or(0);
        let contractual_headcount =
            opt(f.nullable("contractualHeadcount", &rules::contractual_headcount));
        let invoicing_mode = f
            .optional("invoicingMode", &InvoicingMode::rule)
            .unwrap_or(InvoicingMode::MasterSingle);
        let billing_folio_id = opt(f.nullable("billingFolioId", &uuid));

        let period = match (period_from, period_to) {
            (Some(from), Some(to)) => match NightRange::new(from, to, MAX_PERIOD_NIGHTS) {
                Ok(p) => Some(p),
                Err(issue) => {
                    let issue = if to < from {
                        "must be on or after periodFrom".to_string()
                    } else {
                        issue
                    };
                    f.issue("periodTo", issue);
                    None
                }
            },
            _ => None,
        };
        let mut issues = f.into_issues();
        // A malformed penalty is reported as such, not also as missing.
        let has_penalty = matches!(penalty, Patch::Value(_) | Patch::Invalid);
        check_terms(
            cutoff_date,
            has_penalty,
            allotment_type,
            period_to.filter(|_| period.is_some()),
            today,
            &mut issues,
        );

        let (
            Some(establishment_id),
            Some(rate_plan_id),
            Some(channel_type),
            Some(allotment_type),
            Some(currency),
            Some(period),
            Some(unit_allocations),
            Some(cutoff_date),
            Some(minimum_pickup_percent),
        ) = (
            establishment_id,
            rate_plan_id,
            channel_type,
            allotment_type,
            currency,
            period,
            unit_allocations,
            cutoff_date,
            minimum_pickup_percent,
        )
        else {
            return Err(ApiError::Validation(issues));
        };
        let terms = Terms {
            channel_external_id,
            rate_plan_id,
            cutoff_date,
            release_days,
            minimum_pickup_percent,
            penalty_per_room_night_cents: opt(penalty),
            complimentary_rooms,
            contractual_headcount,
            invoicing_mode,
            billing_folio_id,
        };
        let mut n = NewAllotment {
            establishment_id,
            channel_type,
            allotment_type,
            currency,
            period,
            unit_allocations,
            terms,
        };
        n.unit_allocations.sort_by(|a, b| a.0.cmp(&b.0));
        if issues.is_empty() {
            Ok(n)
        } else {
            Err(ApiError::Validation(issues))
        }
    }
}

pub(crate) fn parse_unit_allocations(f: &mut Fields<'_>) -> Option<Vec<(UnitTypeId, i64)>> {
    let list = f.required("unitAllocations", &|v: &Value| match v {
        Value::Array(items) if (1..=MAX_UNIT_ALLOCATIONS).contains(&items.len()) => {
            Ok(items.clone())
        }
        _ => Err(format!(
            "must be a list of 1 to {MAX_UNIT_ALLOCATIONS} unit allocations"
        )),
    })?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let prefix = format!("unitAllocations[{i}]");
        let Value::Object(entry) = item else {
            f.issue(&prefix, "must be an object with unitTypeId and quantity");
            ok = false;
            continue;
        };
        let mut nested = Fields::nested(entry, &prefix);
        let unit = nested.required("unitTypeId", &unit_type_id);
        let quantity = nested.required("quantity", &integer(1, MAX_QUANTITY));
        if let Some(u) = &unit {
            if !seen.insert(u.clone()) {
                nested.issue("unitTypeId", "is repeated: each unit type appears once");
            }
        }
        let issues = nested.into_issues();
        if !issues.is_empty() {
            ok = false;
            for i in issues {
                f.issue_raw(i);
            }
            continue;
        }
        if let (Some(u), Some(q)) = (unit, quantity) {
            out.push((u, q));
        }
    }
    ok.then_some(out)
}

/// The optional body of confirm: `{"penaltyPerRoomNightCents": "..."}`.
pub fn parse_confirm(obj: &Map<String, Value>) -> Result<Option<Cents>, ApiError> {
    let mut f = Fields::new(obj);
    let penalty = f.optional("penaltyPerRoomNightCents", &Cents::rule);
    f.finish()?;
    Ok(penalty)
}

pub const MAX_REASON_CHARS: usize = 500;

/// The optional body of release and cancel: `{"reason": "..."}`.
pub fn parse_reason(obj: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let mut f = Fields::new(obj);
    let reason = opt(f.nullable("reason", &string(1, MAX_REASON_CHARS)));
    f.finish()?;
    Ok(reason)
}

impl Terms {
    /// These terms under a JSON merge patch, with every rule of creation: the
    /// allotment's type and last night decide the penalty and cutoff rules, and
    /// `today` (in the establishment's zone) is asked only when the cutoff moves.
    pub fn patched(
        &self,
        obj: &Map<String, Value>,
        allotment_type: AllotmentType,
        period_to: NaiveDate,
        today: impl FnOnce() -> NaiveDate,
    ) -> Result<Terms, ApiError> {
        let mut f = Fields::new(obj);
        let mut terms = self.clone();
        macro_rules! required {
            ($field:literal, $rule:expr, $slot:expr) => {
                match f.nullable($field, &$rule) {
                    Patch::Value(v) => $slot = v,
                    Patch::Null => f.issue($field, "must not be null"),
                    Patch::Absent | Patch::Invalid => {}
                }
            };
        }
        macro_rules! nullable {
            ($field:literal, $rule:expr, $slot:expr) => {
                match f.nullable($field, &$rule) {
                    Patch::Value(v) => $slot = Some(v),
                    Patch::Null => $slot = None,
                    Patch::Absent | Patch::Invalid => {}
                }
            };
        }
        nullable!(
            "channelExternalId",
            rules::channel_external_id,
            terms.channel_external_id
        );
        required!("ratePlanId", uuid, terms.rate_plan_id);
        required!("cutoffDate", date, terms.cutoff_date);
        nullable!("releaseDays", rules::release_days, terms.release_days);
        required!(
            "minimumPickupPercent",
            Percent::rule,
            terms.minimum_pickup_percent
        );
        nullable!(
            "penaltyPerRoomNightCents",
            Cents::rule,
            terms.penalty_per_room_night_cents
        );
        let penalty_invalid = f.has_issue("penaltyPerRoomNightCents");
        required!(
            "complimentaryRooms",
            rules::complimentary_rooms,
            terms.complimentary_rooms
        );
        nullable!(
            "contractualHeadcount",
            rules::contractual_headcount,
            terms.contractual_headcount
        );
        required!("invoicingMode", InvoicingMode::rule, terms.invoicing_mode);
        nullable!("billingFolioId", uuid, terms.billing_folio_id);
        let mut issues = f.into_issues();
        let cutoff_moved = terms.cutoff_date != self.cutoff_date;
        let today = cutoff_moved.then(today);
        check_terms(
            Some(terms.cutoff_date),
            terms.penalty_per_room_night_cents.is_some() || penalty_invalid,
            Some(allotment_type),
            Some(period_to),
            today,
            &mut issues,
        );
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        Ok(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::contract as body;
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<NewAllotment, ApiError> {
        NewAllotment::parse(
            v.as_object().unwrap(),
            crate::domain::dates::parse_date("2026-06-01"),
        )
    }

    fn fields(v: Value) -> Vec<String> {
        match parse(v) {
            Err(ApiError::Validation(issues)) => issues.into_iter().map(|i| i.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_contract_example_parses() {
        let n = parse(body()).unwrap();
        assert_eq!(n.period.nights(), 7);
        assert_eq!(n.unit_allocations[0].1, 10);
        assert_eq!(n.terms.penalty_per_room_night_cents, Some(Cents(5000)));
        assert_eq!(n.terms.release_days, Some(7));
        assert_eq!(
            serde_json::to_value(n.terms.minimum_pickup_percent).unwrap(),
            json!(70)
        );
    }

    #[test]
    fn every_violation_at_once() {
        let mut b = body();
        b["channelType"] = json!("tv");
        b["periodTo"] = json!("2026-08-31");
        b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 0}, {"unitTypeId": "dbl", "quantity": 2}, {"unitTypeId": "sgl", "quantity": "3"}]);
        b["minimumPickupPercent"] = json!(70.555);
        b["penaltyPerRoomNightCents"] = json!(5000);
        b["status"] = json!("active");
        assert_eq!(
            fields(b),
            [
                "channelType",
                "unitAllocations[0].quantity",
                "unitAllocations[1].unitTypeId",
                "unitAllocations[2].quantity",
                "minimumPickupPercent",
                "penaltyPerRoomNightCents",
                "periodTo",
                "status"
            ]
        );
    }

    #[test]
    fn penalty_is_required_for_allotments_only() {
        let mut b = body();
        b["penaltyPerRoomNightCents"] = json!(null);
        assert_eq!(fields(b.clone()), ["penaltyPerRoomNightCents"]);
        b["allotmentType"] = json!("tentative");
        assert!(parse(b).is_ok());
        let mut long = body();
        long["penaltyPerRoomNightCents"] = json!("1234567890123456789");
        assert_eq!(fields(long), ["penaltyPerRoomNightCents"]);
        let mut max = body();
        max["penaltyPerRoomNightCents"] = json!("999999999999999999");
        assert!(parse(max).is_ok());
    }

    #[test]
    fn cutoff_rules() {
        let mut b = body();
        b["cutoffDate"] = json!("2026-09-08");
        assert_eq!(fields(b), ["cutoffDate"]);
        let mut past = body();
        past["cutoffDate"] = json!("2026-05-31");
        assert_eq!(fields(past), ["cutoffDate"]);
        let mut today = body();
        today["cutoffDate"] = json!("2026-06-01");
        assert!(parse(today).is_ok());
    }

    #[test]
    fn percent_has_at_most_two_decimals() {
        for ok in [json!(0), json!(100), json!(72.5), json!(72.55), json!(0.01)] {
            assert!(Percent::rule(&ok).is_ok(), "{ok}");
        }
        for bad in [
            json!(-1),
            json!(100.01),
            json!(72.555),
            json!("70"),
            json!(null),
            json!(1e3),
        ] {
            assert!(Percent::rule(&bad).is_err(), "{bad}");
        }
        let p = Percent::rule(&json!(72.5)).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "72.5");
    }

    #[test]
    fn size_limits() {
        let mut b = body();
        b["periodFrom"] = json!("2026-09-01");
        b["periodTo"] = json!("2028-09-01");
        b["cutoffDate"] = json!("2026-08-01");
        assert_eq!(fields(b.clone()), ["periodTo"], "732 nights");
        // A year of 4 unit types fits one transaction.
        b["periodTo"] = json!("2027-08-31");
        b["unitAllocations"] = json!([
            {"unitTypeId": "a", "quantity": 1}, {"unitTypeId": "b", "quantity": 1},
            {"unitTypeId": "c", "quantity": 1}, {"unitTypeId": "d", "quantity": 1}
        ]);
        assert!(parse(b.clone()).is_ok());
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"unitTypeId": format!("u{i}"), "quantity": 1}))
            .collect();
        b["unitAllocations"] = Value::Array(many);
        assert_eq!(fields(b), ["unitAllocations"]);
    }
}
