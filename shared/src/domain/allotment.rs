//! Allotments: what a request may create or change, and the stored record.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::cutoff::CutoffRule;
use super::dates::NightRange;
use super::error::{ApiError, FieldIssue, NightConflict};
use super::ids::UnitTypeId;
use super::inventory::PoolView;
use super::plan::{month_writes, Change, Guard, Plan, PoolDelta};
use super::validate::{date, integer, string, unit_type_id, uuid, Fields, Patch};

pub const MAX_PERIOD_NIGHTS: i64 = 731;
pub const MAX_UNIT_ALLOCATIONS: usize = 50;
pub const MAX_QUANTITY: i64 = 10_000;
pub const MAX_RELEASE_DAYS: i64 = 365;
pub const MAX_COMPLIMENTARY_ROOMS: i64 = 10_000;
pub const MAX_HEADCOUNT: i64 = 1_000_000;
pub const MAX_PENALTY_DIGITS: usize = 18;
/// A transaction holds at most 100 items: one pool bucket per unit type and month,
/// one grid item per month, the header, the history entry and the establishment.
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

fn opt<T>(p: Patch<T>) -> Option<T> {
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
        if let Err(issue) = n.check_size() {
            issues.push(issue);
        }
        n.unit_allocations.sort_by(|a, b| a.0.cmp(&b.0));
        if issues.is_empty() {
            Ok(n)
        } else {
            Err(ApiError::Validation(issues))
        }
    }

    /// The whole hold must fit one transaction (all-or-nothing, never half a hold).
    fn check_size(&self) -> Result<(), FieldIssue> {
        let units = self.unit_allocations.len();
        let needed = transaction_items(units, &self.period);
        if needed > MAX_TRANSACTION_ITEMS {
            let months = self.period.by_month().len();
            let max_units = (MAX_TRANSACTION_ITEMS - 3 - months) / months;
            return Err(FieldIssue::new(
                "unitAllocations",
                format!(
                    "a period over {months} calendar months can hold at most {max_units} unit types in one allotment"
                ),
            ));
        }
        Ok(())
    }
}

/// Items of the transaction that creates, releases or cancels an allotment.
pub fn transaction_items(unit_types: usize, period: &NightRange) -> usize {
    let months = period.by_month().len();
    unit_types * months + months + 3
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

/// The stored allotment (without its nights, which live in the grid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentRecord {
    pub allotment_id: Uuid,
    pub establishment_id: Uuid,
    pub channel_type: ChannelType,
    pub allotment_type: AllotmentType,
    pub currency: Currency,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub unit_allocations: Vec<UnitAllocation>,
    #[serde(flatten)]
    pub terms: Terms,
    pub status: Status,
    pub version: i64,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Every night up to this one is released.
    pub released_through: Option<NaiveDate>,
    /// When a manual release ("wash") released the remaining nights.
    pub manually_released_at: Option<DateTime<Utc>>,
    /// Active pickups (cancel is refused while any exist).
    #[serde(default)]
    pub active_pickups: i64,
    /// The capacity group it belongs to (kept in its own membership item).
    #[serde(skip)]
    pub group_id: Option<Uuid>,
}

impl AllotmentRecord {
    pub fn period(&self) -> NightRange {
        NightRange::new(self.period_from, self.period_to, i64::MAX).expect("stored period is valid")
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn cutoff_rule(&self) -> CutoffRule {
        CutoffRule {
            time_zone: self.tz(),
            cutoff_date: self.terms.cutoff_date,
            release_days: self.terms.release_days,
            whole_at_cutoff: self.allotment_type == AllotmentType::Tentative,
        }
    }

    pub fn is_night_released(&self, night: NaiveDate) -> bool {
        self.released_through.is_some_and(|t| night <= t)
    }

    /// The first night not yet released, if any.
    pub fn first_unreleased(&self) -> Option<NaiveDate> {
        let first = match self.released_through {
            None => self.period_from,
            Some(t) => t.succ_opt()?,
        };
        (first <= self.period_to).then_some(first)
    }

    /// The last night due for release at `now` (nights release in date order), if
    /// any unreleased night is due. `None` unless active.
    pub fn due_through(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        if self.status != Status::Active {
            return None;
        }
        self.cutoff_rule()
            .due_through(self.period_from, self.period_to, self.released_through, now)
    }

    /// When the next unreleased night is due (`None` once nothing is left).
    pub fn next_release_at(&self) -> Option<DateTime<Utc>> {
        if self.status != Status::Active {
            return None;
        }
        self.cutoff_rule()
            .next_release(self.period_from, self.period_to, self.released_through)
    }

    /// `cutoff` of the representation.
    pub fn cutoff_view(&self) -> CutoffView {
        let rule = self.cutoff_rule();
        let next = self.next_release_at();
        let final_release = self
            .manually_released_at
            .unwrap_or_else(|| rule.night_moment(self.period_to));
        CutoffView {
            cutoff_date: self.terms.cutoff_date,
            release_days: self.terms.release_days,
            next_release_at: next,
            final_release_at: final_release,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CutoffView {
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    #[serde(serialize_with = "opt_instant")]
    pub next_release_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::establishment::instant")]
    pub final_release_at: DateTime<Utc>,
}

pub fn opt_instant<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => super::establishment::instant(t, s),
        None => s.serialize_none(),
    }
}

/// One night of one unit type of an allotment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridNight {
    pub contracted: i64,
    pub allocated: i64,
    pub picked_up: i64,
    /// Of `picked_up`, the rooms a capacity group supplied.
    pub from_group: i64,
    pub released: i64,
    pub released_at: Option<DateTime<Utc>>,
}

impl GridNight {
    /// Rooms picked up from the allotment's own allocation.
    pub fn own_picked_up(&self) -> i64 {
        self.picked_up - self.from_group
    }

    /// Rooms of its own allocation still free for pickups.
    pub fn remaining(&self) -> i64 {
        self.allocated - self.own_picked_up()
    }
}

/// Totals of one unit type, in room-nights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UnitTotals {
    pub unit_type_id: String,
    pub contracted_room_nights: i64,
    pub allocated_room_nights: i64,
    pub picked_up_room_nights: i64,
    /// Of the picked-up room-nights, those a capacity group supplied.
    pub picked_up_from_group_room_nights: i64,
    pub released_room_nights: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "establishmentId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0",
            "ratePlanId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c1",
            "channelType": "to",
            "channelExternalId": "TUI-2026-SEPT",
            "allotmentType": "allotment",
            "currency": "EUR",
            "periodFrom": "2026-09-01",
            "periodTo": "2026-09-07",
            "unitAllocations": [{"unitTypeId": "dbl", "quantity": 10}],
            "cutoffDate": "2026-08-01",
            "releaseDays": 7,
            "minimumPickupPercent": 70,
            "penaltyPerRoomNightCents": "5000",
            "complimentaryRooms": 1,
            "contractualHeadcount": 20,
            "invoicingMode": "master_single",
            "billingFolioId": null
        })
    }

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
    fn due_nights_form_a_prefix_and_never_come_early() {
        let mut b = body();
        b["cutoffDate"] = json!("2026-08-20");
        b["releaseDays"] = json!(20); // 1 Sep - 20 = 12 Aug, before the fixed cutoff
        let n = parse(b).unwrap();
        let mut r = AllotmentRecord::create(&n, Uuid::nil(), chrono_tz::Europe::Paris, Utc::now());
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Night 1 Sep is due at 00:00 Paris on 12 Aug = 11 Aug 22:00Z.
        assert_eq!(r.due_through(at("2026-08-11T21:59:00Z")), None);
        assert_eq!(
            r.due_through(at("2026-08-11T22:00:00Z"))
                .map(|d| d.to_string()),
            Some("2026-09-01".into())
        );
        assert_eq!(
            r.due_through(at("2026-08-13T22:01:00Z"))
                .map(|d| d.to_string()),
            Some("2026-09-03".into())
        );
        // The fixed cutoff (21 Aug 00:00 Paris) releases the rest.
        assert_eq!(
            r.due_through(at("2026-08-20T22:00:00Z"))
                .map(|d| d.to_string()),
            Some("2026-09-07".into())
        );
        r.released_through = crate::domain::dates::parse_date("2026-09-03");
        assert_eq!(r.next_release_at(), Some(at("2026-08-14T22:00:00Z")));
        r.status = Status::Cancelled;
        assert_eq!(r.due_through(at("2026-09-30T00:00:00Z")), None);
        assert_eq!(r.next_release_at(), None);
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

/// The nights of an allotment, by unit type then date.
pub type Grid = std::collections::BTreeMap<(UnitTypeId, NaiveDate), GridNight>;

/// The grid of a new allotment: every night of the period at the agreed quantity.
pub fn initial_grid(period: &NightRange, allocations: &[(UnitTypeId, i64)]) -> Grid {
    let mut grid = Grid::new();
    for (ut, q) in allocations {
        for night in period.iter() {
            grid.insert(
                (ut.clone(), night),
                GridNight {
                    contracted: *q,
                    allocated: *q,
                    ..GridNight::default()
                },
            );
        }
    }
    grid
}

/// Totals per unit type, in unit type order.
pub fn totals(grid: &Grid) -> Vec<UnitTotals> {
    let mut out: Vec<UnitTotals> = Vec::new();
    for ((ut, _), n) in grid {
        if out.last().map(|t| t.unit_type_id.as_str()) != Some(ut.as_str()) {
            out.push(UnitTotals {
                unit_type_id: ut.to_string(),
                ..UnitTotals::default()
            });
        }
        let t = out.last_mut().expect("pushed above");
        t.contracted_room_nights += n.contracted;
        t.allocated_room_nights += n.allocated;
        t.picked_up_room_nights += n.picked_up;
        t.picked_up_from_group_room_nights += n.from_group;
        t.released_room_nights += n.released;
    }
    out
}

/// One night's change in an allocation history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NightChange {
    pub date: NaiveDate,
    pub previous_quantity: i64,
    pub quantity: i64,
}

/// An allocation history entry: immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationEntry {
    pub allocation_id: Uuid,
    pub allotment_id: Uuid,
    pub unit_type_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub quantity: Option<i64>,
    pub previous_quantity: Option<i64>,
    pub memo: Option<String>,
    #[serde(serialize_with = "super::establishment::instant")]
    pub timestamp: DateTime<Utc>,
    pub nights: Vec<NightChange>,
}

impl AllocationEntry {
    /// An entry over some nights of one unit type; `quantity`/`previousQuantity` are
    /// set when uniform over those nights, else `None`.
    pub fn new(
        allotment_id: Uuid,
        unit_type_id: &UnitTypeId,
        nights: Vec<NightChange>,
        memo: Option<String>,
        timestamp: DateTime<Utc>,
    ) -> Option<Self> {
        let first = nights.first()?;
        let last = nights.last()?;
        let uniform = |f: fn(&NightChange) -> i64| {
            let v = f(first);
            nights.iter().all(|n| f(n) == v).then_some(v)
        };
        Some(AllocationEntry {
            allocation_id: Uuid::new_v4(),
            allotment_id,
            unit_type_id: unit_type_id.to_string(),
            from: first.date,
            to: last.date,
            quantity: uniform(|n| n.quantity),
            previous_quantity: uniform(|n| n.previous_quantity),
            memo,
            timestamp,
            nights,
        })
    }
}

/// Why nights are released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseReason {
    Cutoff,
    Manual(Option<String>),
}

impl ReleaseReason {
    pub fn memo(&self) -> String {
        match self {
            ReleaseReason::Cutoff => "released at cutoff".into(),
            ReleaseReason::Manual(None) => "released manually".into(),
            ReleaseReason::Manual(Some(r)) => format!("released manually: {r}"),
        }
    }
}

/// What releasing nights does to one night of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightRelease {
    pub unit_type_id: UnitTypeId,
    pub date: NaiveDate,
    /// Rooms given back to the pool (`allocated - pickedUp`).
    pub returned: i64,
    pub night: GridNight,
}

/// Releases every unreleased night up to `through`: `allocated` becomes `pickedUp`,
/// the difference returns to the pool, `released = contracted - allocated`.
/// Returns the per-night changes and one history entry per unit type.
pub fn plan_release(
    record: &AllotmentRecord,
    grid: &Grid,
    through: NaiveDate,
    reason: &ReleaseReason,
    now: DateTime<Utc>,
) -> (Vec<NightRelease>, Vec<AllocationEntry>) {
    let mut changes = Vec::new();
    let mut by_unit: std::collections::BTreeMap<UnitTypeId, Vec<NightChange>> = Default::default();
    for ((ut, date), n) in grid {
        if *date > through || record.is_night_released(*date) {
            continue;
        }
        // At cutoff a night is released at its own moment, whenever the run happens,
        // so a late or repeated delivery writes exactly what a timely one would.
        let released_at = match reason {
            ReleaseReason::Cutoff => record.cutoff_rule().night_moment(*date),
            ReleaseReason::Manual(_) => now,
        };
        // The allotment keeps the rooms picked up from its own allocation; rooms a
        // group supplied stay the group's.
        let kept = n.own_picked_up();
        let night = GridNight {
            allocated: kept,
            released: n.contracted - kept,
            released_at: Some(released_at),
            ..n.clone()
        };
        by_unit.entry(ut.clone()).or_default().push(NightChange {
            date: *date,
            previous_quantity: n.allocated,
            quantity: kept,
        });
        changes.push(NightRelease {
            unit_type_id: ut.clone(),
            date: *date,
            returned: n.allocated - kept,
            night,
        });
    }
    let entries = by_unit
        .into_iter()
        .filter_map(|(ut, nights)| {
            AllocationEntry::new(record.allotment_id, &ut, nights, Some(reason.memo()), now)
        })
        .collect();
    (changes, entries)
}

impl AllotmentRecord {
    /// The representation of API.md: the record's public fields, `cutoff`, `totals`.
    pub fn view(&self, grid: &Grid) -> Value {
        use super::establishment::format_instant;
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            for internal in [
                "timeZone",
                "releasedThrough",
                "manuallyReleasedAt",
                "activePickups",
            ] {
                m.remove(internal);
            }
            let fmt = |t: &Option<DateTime<Utc>>| {
                t.as_ref()
                    .map(format_instant)
                    .map(Value::String)
                    .unwrap_or(Value::Null)
            };
            m.insert(
                "createdAt".into(),
                Value::String(format_instant(&self.created_at)),
            );
            m.insert(
                "updatedAt".into(),
                Value::String(format_instant(&self.updated_at)),
            );
            m.insert("confirmedAt".into(), fmt(&self.confirmed_at));
            m.insert("cancelledAt".into(), fmt(&self.cancelled_at));
            m.insert(
                "cutoff".into(),
                serde_json::to_value(self.cutoff_view()).unwrap_or(Value::Null),
            );
            m.insert(
                "totals".into(),
                serde_json::to_value(totals(grid)).unwrap_or(Value::Null),
            );
        }
        v
    }
}

impl AllotmentRecord {
    /// A new active allotment, version 1.
    pub fn create(
        new: &NewAllotment,
        allotment_id: Uuid,
        time_zone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Self {
        AllotmentRecord {
            allotment_id,
            establishment_id: new.establishment_id,
            channel_type: new.channel_type,
            allotment_type: new.allotment_type,
            currency: new.currency,
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
            terms: new.terms.clone(),
            status: Status::Active,
            version: 1,
            time_zone: time_zone.name().to_string(),
            created_at: now,
            updated_at: now,
            confirmed_at: None,
            cancelled_at: None,
            released_through: None,
            manually_released_at: None,
            active_pickups: 0,
            group_id: None,
        }
    }

    /// The record as the next change leaves it: `version + 1`, updated now.
    pub fn next_version(&self, now: DateTime<Utc>) -> AllotmentRecord {
        AllotmentRecord {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// `"<version>"`
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// The allotment's `today` (in its establishment's zone).
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.tz()).date_naive()
    }

    /// `409 INVALID_STATE` unless active.
    pub fn require_active(&self, action: &str) -> Result<(), ApiError> {
        if self.status == Status::Active {
            Ok(())
        } else {
            Err(ApiError::InvalidState(format!(
                "Cannot {action} an allotment that is {}",
                self.status.as_str()
            )))
        }
    }

    /// Applies a JSON merge patch of the commercial terms (all rules of creation).
    pub fn patched(
        &self,
        obj: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<AllotmentRecord, ApiError> {
        let mut f = Fields::new(obj);
        let mut terms = self.terms.clone();
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
        let cutoff_moved = terms.cutoff_date != self.terms.cutoff_date;
        let today = cutoff_moved.then(|| self.today(now));
        check_terms(
            Some(terms.cutoff_date),
            terms.penalty_per_room_night_cents.is_some() || penalty_invalid,
            Some(self.allotment_type),
            Some(self.period_to),
            today,
            &mut issues,
        );
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        let mut next = self.clone();
        next.terms = terms;
        next.version += 1;
        next.updated_at = now;
        Ok(next)
    }
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

pub const MAX_MEMO_CHARS: usize = 500;

/// The body of `POST .../allocations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationChange {
    pub unit_type_id: UnitTypeId,
    pub quantity: i64,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub memo: Option<String>,
}

impl AllocationChange {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let unit = f.required("unitTypeId", &unit_type_id);
        let quantity = f.required("quantity", &integer(0, MAX_QUANTITY));
        let from = opt(f.nullable("from", &date));
        let to = opt(f.nullable("to", &date));
        let memo = opt(f.nullable("memo", &string(1, MAX_MEMO_CHARS)));
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                f.issue("to", "must be on or after from");
            }
        }
        f.finish()?;
        match (unit, quantity) {
            (Some(unit_type_id), Some(quantity)) => Ok(AllocationChange {
                unit_type_id,
                quantity,
                from,
                to,
                memo,
            }),
            _ => Err(ApiError::Internal(
                "validated allocation fields missing".into(),
            )),
        }
    }
}

/// What an allocation change does: the plan (header, history entry, grid nights,
/// pool rooms) and the history entry it records (the answer).
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationPlan {
    pub plan: Plan,
    pub entry: AllocationEntry,
}

/// Checks and plans an allocation change: range inside the period (`400`), an
/// active allotment and unreleased nights (`409 INVALID_STATE`), never below the
/// rooms picked up (`409 BELOW_PICKED_UP`, every such night), and — when the pool
/// nights were read (after a refused attempt) — enough free rooms for an increase
/// (`409 INSUFFICIENT_CAPACITY`, every short night).
pub fn plan_allocation(
    record: &AllotmentRecord,
    grid: &Grid,
    change: &AllocationChange,
    pool: Option<&PoolView>,
    now: DateTime<Utc>,
) -> Result<AllocationPlan, ApiError> {
    let from = change.from.unwrap_or(record.period_from);
    let to = change.to.unwrap_or(record.period_to);
    let mut issues = Vec::new();
    if from < record.period_from || from > record.period_to {
        issues.push(FieldIssue::new(
            "from",
            "must lie inside the allotment's period",
        ));
    }
    if to < record.period_from || to > record.period_to {
        issues.push(FieldIssue::new(
            "to",
            "must lie inside the allotment's period",
        ));
    }
    if to < from && issues.is_empty() {
        issues.push(FieldIssue::new("to", "must be on or after from"));
    }
    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }
    record.require_active("change the allocation of")?;
    let range = NightRange::new(from, to, i64::MAX).map_err(|e| ApiError::validation("to", e))?;
    if range.iter().any(|d| record.is_night_released(d)) {
        return Err(ApiError::InvalidState(
            "Some of these nights are already released".into(),
        ));
    }
    let ut = &change.unit_type_id;
    let mut nights = Grid::new();
    let mut pool_deltas = Vec::new();
    let mut changes = Vec::new();
    let mut below = Vec::new();
    for d in range.iter() {
        let old = grid.get(&(ut.clone(), d)).cloned().unwrap_or_default();
        if change.quantity < old.own_picked_up() {
            below.push(NightConflict {
                unit_type_id: ut.to_string(),
                date: d,
                requested: change.quantity,
                actual: old.own_picked_up(),
            });
            continue;
        }
        changes.push(NightChange {
            date: d,
            previous_quantity: old.allocated,
            quantity: change.quantity,
        });
        pool_deltas.push(PoolDelta::allot(ut, d, change.quantity - old.allocated));
        nights.insert(
            (ut.clone(), d),
            GridNight {
                contracted: change.quantity,
                allocated: change.quantity,
                ..old
            },
        );
    }
    if !below.is_empty() {
        return Err(ApiError::BelowPickedUp(below));
    }
    if let Some(pool) = pool {
        let short = super::inventory::pool_conflicts(pool, &pool_deltas);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
    }
    let entry = AllocationEntry::new(record.allotment_id, ut, changes, change.memo.clone(), now)
        .ok_or_else(|| ApiError::Internal("empty allocation change".into()))?;
    let next = record.next_version(now);
    let mut plan = Plan::new();
    plan.push(Change::History {
        allotment_id: record.allotment_id,
        version: next.version,
        entries: vec![entry.clone()],
    });
    plan.push(Change::AllotmentNights {
        allotment_id: record.allotment_id,
        months: month_writes(grid, &nights),
    });
    plan.push(Change::Pool {
        establishment_id: record.establishment_id,
        nights: pool_deltas,
    });
    plan.push(Change::Allotment {
        record: Box::new(next),
        guard: Guard::Version(record.version),
    });
    Ok(AllocationPlan { plan, entry })
}

#[cfg(test)]
mod allocation_plan_tests {
    use super::*;
    use crate::domain::dates::parse_date;
    use crate::domain::inventory::PoolNight;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn u(s: &str) -> UnitTypeId {
        UnitTypeId::parse(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A 7-night allotment of 10 `dbl` (1–7 Sep), 3 picked up on 2 Sep.
    fn allotment() -> (AllotmentRecord, Grid) {
        let body = serde_json::json!({
            "establishmentId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0",
            "ratePlanId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c1",
            "channelType": "to", "allotmentType": "allotment", "currency": "EUR",
            "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
            "unitAllocations": [{"unitTypeId": "dbl", "quantity": 10}],
            "cutoffDate": "2026-08-01", "minimumPickupPercent": 70,
            "penaltyPerRoomNightCents": "5000"
        });
        let new = NewAllotment::parse(body.as_object().unwrap(), None).unwrap();
        let record = AllotmentRecord::create(&new, Uuid::nil(), chrono_tz::Europe::Paris, now());
        let mut grid = initial_grid(&new.period, &new.unit_allocations);
        grid.get_mut(&(u("dbl"), d("2026-09-02")))
            .unwrap()
            .picked_up = 3;
        (record, grid)
    }

    fn change(unit: &str, quantity: i64, from: &str, to: &str) -> AllocationChange {
        AllocationChange {
            unit_type_id: u(unit),
            quantity,
            from: parse_date(from),
            to: parse_date(to),
            memo: None,
        }
    }

    fn pool(available: i64) -> PoolView {
        let mut view = PoolView::new();
        for day in 1..=7 {
            let date = NaiveDate::from_ymd_opt(2026, 9, day).unwrap();
            let night = PoolNight {
                capacity: 10 + available,
                allotted: 10,
                picked_up: 0,
                available,
            };
            view.insert((u("dbl"), date), night);
            view.insert((u("sgl"), date), night);
        }
        view
    }

    #[test]
    fn refusals() {
        let (record, grid) = allotment();
        let mut released = record.clone();
        released.released_through = parse_date("2026-09-01");
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let cases: Vec<(
            &str,
            &AllotmentRecord,
            AllocationChange,
            Option<PoolView>,
            &str,
        )> = vec![
            (
                "outside the period",
                &record,
                change("dbl", 5, "2026-08-31", "2026-09-02"),
                None,
                "VALIDATION_ERROR",
            ),
            (
                "cancelled",
                &cancelled,
                change("dbl", 5, "2026-09-01", "2026-09-02"),
                None,
                "INVALID_STATE",
            ),
            (
                "a released night",
                &released,
                change("dbl", 5, "2026-09-01", "2026-09-02"),
                None,
                "INVALID_STATE",
            ),
            (
                "below the pickups",
                &record,
                change("dbl", 2, "2026-09-01", "2026-09-03"),
                None,
                "BELOW_PICKED_UP",
            ),
            (
                "the pool is short",
                &record,
                change("dbl", 12, "2026-09-01", "2026-09-03"),
                Some(pool(1)),
                "INSUFFICIENT_CAPACITY",
            ),
        ];
        for (case, record, change, pool, code) in cases {
            let err = plan_allocation(record, &grid, &change, pool.as_ref(), now()).unwrap_err();
            assert_eq!(err.code(), code, "{case}");
        }
        let Err(ApiError::BelowPickedUp(nights)) = plan_allocation(
            &record,
            &grid,
            &change("dbl", 2, "2026-09-01", "2026-09-03"),
            None,
            now(),
        ) else {
            panic!()
        };
        assert_eq!(nights.len(), 1, "only 2 Sep is below: {nights:?}");
        let Err(ApiError::InsufficientCapacity(short)) = plan_allocation(
            &record,
            &grid,
            &change("dbl", 12, "2026-09-01", "2026-09-03"),
            Some(&pool(1)),
            now(),
        ) else {
            panic!()
        };
        assert_eq!(short.len(), 3, "every short night");
        assert_eq!((short[0].requested, short[0].actual), (2, 1));
    }

    #[test]
    fn a_change_plans_header_history_grid_and_pool() {
        let (record, grid) = allotment();
        let cases = [
            // (change, pool deltas, new unit)
            (
                change("dbl", 12, "2026-09-02", "2026-09-03"),
                vec![2, 2],
                false,
            ),
            (
                change("dbl", 4, "2026-09-06", "2026-09-07"),
                vec![-6, -6],
                false,
            ),
            (change("sgl", 3, "2026-09-07", "2026-09-07"), vec![3], true),
        ];
        for (c, deltas, new_unit) in cases {
            // With enough free rooms read, or without the pool read: the same plan.
            for pool in [None, Some(pool(5))] {
                let p = plan_allocation(&record, &grid, &c, pool.as_ref(), now()).unwrap();
                assert_eq!(p.entry.quantity, Some(c.quantity));
                let [Change::History {
                    version, entries, ..
                }, Change::AllotmentNights { months, .. }, Change::Pool { nights, .. }, Change::Allotment {
                    record: next,
                    guard,
                }] = &p.plan.changes[..]
                else {
                    panic!("unexpected plan {:?}", p.plan)
                };
                assert_eq!(*guard, Guard::Version(1));
                assert_eq!(
                    (next.version, *version),
                    (2, 2),
                    "history under the next version"
                );
                assert_eq!(entries, &vec![p.entry.clone()]);
                assert_eq!(
                    nights.iter().map(|n| n.allotted).collect::<Vec<_>>(),
                    deltas
                );
                assert_eq!(months.len(), 1);
                assert!(!months[0].new_item);
                assert_eq!(months[0].units[0].new_unit, new_unit);
                assert!(months[0].units[0]
                    .nights
                    .iter()
                    .all(|(_, n)| n.allocated == c.quantity && n.contracted == c.quantity));
            }
        }
    }
}
