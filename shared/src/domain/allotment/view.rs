//! The representations of an allotment, each a struct built field by field from the
//! record (an internal field of the record can never appear in a response).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::grid::{totals, Grid, GridNight, UnitTotals};
use super::record::AllotmentRecord;
use super::terms::{
    AllotmentType, Cents, ChannelType, Currency, InvoicingMode, Percent, Status, UnitAllocation,
};
use crate::domain::establishment::instant;
use crate::domain::ids::UnitTypeId;

/// An optional instant as RFC 3339 UTC with whole seconds, or `null`.
pub fn opt_instant<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => instant(t, s),
        None => s.serialize_none(),
    }
}

/// `cutoff` of the representation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CutoffView {
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    #[serde(serialize_with = "opt_instant")]
    pub next_release_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "instant")]
    pub final_release_at: DateTime<Utc>,
}

/// An allotment as lists show it: every field of the representation but `totals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentSummary {
    pub allotment_id: Uuid,
    pub establishment_id: Uuid,
    pub channel_type: ChannelType,
    pub channel_external_id: Option<String>,
    pub allotment_type: AllotmentType,
    pub currency: Currency,
    pub rate_plan_id: Uuid,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// The allocation agreed at creation.
    pub unit_allocations: Vec<UnitAllocation>,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    pub minimum_pickup_percent: Percent,
    pub penalty_per_room_night_cents: Option<Cents>,
    pub complimentary_rooms: i64,
    pub contractual_headcount: Option<i64>,
    pub invoicing_mode: InvoicingMode,
    pub billing_folio_id: Option<Uuid>,
    pub status: Status,
    pub version: i64,
    #[serde(serialize_with = "instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "opt_instant")]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_instant")]
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cutoff: CutoffView,
}

/// The representation of one allotment: the summary and the `totals` of its nights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllotmentView {
    #[serde(flatten)]
    pub summary: AllotmentSummary,
    pub totals: Vec<UnitTotals>,
}

/// One row of `GET /v1/allotments/{id}/nights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NightView {
    pub date: NaiveDate,
    pub unit_type_id: String,
    pub contracted: i64,
    pub allocated: i64,
    pub picked_up: i64,
    pub picked_up_from_group: i64,
    pub released: i64,
    #[serde(serialize_with = "opt_instant")]
    pub released_at: Option<DateTime<Utc>>,
}

impl NightView {
    pub fn new(unit: &UnitTypeId, date: NaiveDate, n: &GridNight) -> Self {
        NightView {
            date,
            unit_type_id: unit.to_string(),
            contracted: n.contracted,
            allocated: n.allocated,
            picked_up: n.picked_up,
            picked_up_from_group: n.from_group,
            released: n.released,
            released_at: n.released_at,
        }
    }
}

/// The nights of a grid, ordered by unit type then date (of one unit type if named).
pub fn nights_view(grid: &Grid, unit: Option<&UnitTypeId>) -> Vec<NightView> {
    grid.iter()
        .filter(|((ut, _), _)| unit.is_none_or(|u| u == ut))
        .map(|((ut, date), n)| NightView::new(ut, *date, n))
        .collect()
}

impl AllotmentRecord {
    /// `cutoff` of the representation.
    pub fn cutoff_view(&self) -> CutoffView {
        let rule = self.cutoff_rule();
        let final_release = self
            .manually_released_at
            .unwrap_or_else(|| rule.night_moment(self.period_to));
        CutoffView {
            cutoff_date: self.terms.cutoff_date,
            release_days: self.terms.release_days,
            next_release_at: self.next_release_at(),
            final_release_at: final_release,
        }
    }

    /// The list item of this allotment.
    pub fn summary(&self) -> AllotmentSummary {
        let t = &self.terms;
        AllotmentSummary {
            allotment_id: self.allotment_id,
            establishment_id: self.establishment_id,
            channel_type: self.channel_type,
            channel_external_id: t.channel_external_id.clone(),
            allotment_type: self.allotment_type,
            currency: self.currency,
            rate_plan_id: t.rate_plan_id,
            period_from: self.period_from,
            period_to: self.period_to,
            unit_allocations: self.unit_allocations.clone(),
            cutoff_date: t.cutoff_date,
            release_days: t.release_days,
            minimum_pickup_percent: t.minimum_pickup_percent,
            penalty_per_room_night_cents: t.penalty_per_room_night_cents,
            complimentary_rooms: t.complimentary_rooms,
            contractual_headcount: t.contractual_headcount,
            invoicing_mode: t.invoicing_mode,
            billing_folio_id: t.billing_folio_id,
            status: self.status,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            confirmed_at: self.confirmed_at,
            cancelled_at: self.cancelled_at,
            cutoff: self.cutoff_view(),
        }
    }

    /// The representation of API.md: the summary and the totals of `grid`.
    pub fn representation(&self, grid: &Grid) -> AllotmentView {
        AllotmentView {
            summary: self.summary(),
            totals: totals(grid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{allotment, at, d, u};
    use super::*;
    use serde_json::json;

    #[test]
    fn the_representation_holds_the_contract_fields_only() {
        let (mut record, grid) = allotment();
        record.released_through = Some(d("2026-09-01"));
        record.manually_released_at = Some(at("2026-06-02T08:00:00.5Z"));
        record.confirmed_at = Some(at("2026-06-02T08:00:00.25Z"));
        let v = serde_json::to_value(record.representation(&grid)).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec![
            "allotmentId",
            "allotmentType",
            "billingFolioId",
            "cancelledAt",
            "channelExternalId",
            "channelType",
            "complimentaryRooms",
            "confirmedAt",
            "contractualHeadcount",
            "createdAt",
            "currency",
            "cutoff",
            "cutoffDate",
            "establishmentId",
            "invoicingMode",
            "minimumPickupPercent",
            "penaltyPerRoomNightCents",
            "periodFrom",
            "periodTo",
            "ratePlanId",
            "releaseDays",
            "status",
            "totals",
            "unitAllocations",
            "updatedAt",
            "version",
        ];
        keys.sort();
        want.sort();
        assert_eq!(
            keys, want,
            "no internal field (timeZone, releasedThrough, ...)"
        );
        assert_eq!(v["confirmedAt"], "2026-06-02T08:00:00Z", "whole seconds");
        assert_eq!(v["cancelledAt"], json!(null));
        assert_eq!(v["penaltyPerRoomNightCents"], "5000");
        assert_eq!(v["minimumPickupPercent"], 70);
        assert_eq!(
            v["cutoff"],
            json!({"cutoffDate": "2026-08-01", "releaseDays": 7,
                   "nextReleaseAt": "2026-08-01T22:00:00Z",
                   "finalReleaseAt": "2026-06-02T08:00:00Z"})
        );
        assert_eq!(v["totals"][0]["pickedUpRoomNights"], 3);
        let summary = serde_json::to_value(record.summary()).unwrap();
        assert!(summary.get("totals").is_none());
        assert_eq!(summary.as_object().unwrap().len(), want.len() - 1);
    }

    #[test]
    fn nights_are_listed_by_unit_type_then_date() {
        let (_, mut grid) = allotment();
        grid.insert(
            (u("sgl"), d("2026-09-01")),
            GridNight {
                released_at: Some(at("2026-08-01T22:00:00Z")),
                ..GridNight::default()
            },
        );
        let all = nights_view(&grid, None);
        assert_eq!(all.len(), 8);
        assert_eq!(all[1].picked_up, 3);
        let sgl = nights_view(&grid, Some(&u("sgl")));
        assert_eq!(
            serde_json::to_value(&sgl).unwrap(),
            json!([{"date": "2026-09-01", "unitTypeId": "sgl", "contracted": 0,
                    "allocated": 0, "pickedUp": 0, "pickedUpFromGroup": 0, "released": 0,
                    "releasedAt": "2026-08-01T22:00:00Z"}])
        );
    }
}
