//! `PATCH /v1/allotments/{id}`: a JSON merge patch of the commercial terms.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::grid::Grid;
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use crate::domain::error::ApiError;

/// Plans a patch of the terms of an active allotment (`409 INVALID_STATE`
/// otherwise): the body is checked first, with every rule of creation (`400`, whatever
/// the version), then `If-Match` (`if_match`, the version it names): another version
/// is `412`. `after_refusal`: a write of this patch was refused because the version
/// moved, which under `If-Match` is `412` too (without it the patch applies to the
/// version read now). The next record has the new terms and the next version (its
/// cutoff, and so its release moment, follows the terms).
pub fn plan_patch(
    record: &AllotmentRecord,
    grid: &Grid,
    body: &Map<String, Value>,
    if_match: Option<i64>,
    after_refusal: bool,
    now: DateTime<Utc>,
) -> Result<AllotmentPlan, ApiError> {
    if after_refusal && if_match.is_some() {
        return Err(ApiError::PreconditionFailed);
    }
    record.require_active("change")?;
    let terms = record
        .terms
        .patched(body, record.allotment_type, record.period_to, || {
            record.today(now)
        })?;
    if if_match.is_some_and(|v| v != record.version) {
        return Err(ApiError::PreconditionFailed);
    }
    let mut next = record.next_version(now);
    next.terms = terms;
    Ok(AllotmentPlan::change(record, next, grid, Grid::new(), [])
        .announce(crate::domain::event::EventType::AllotmentUpdated, now))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{allotment, at, d, now, read};
    use super::super::terms::Status;
    use super::*;
    use crate::domain::plan::Guard;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn refusals() {
        let (record, grid) = allotment();
        let mut cancelled = record.clone();
        cancelled.status = Status::Cancelled;
        let ok = json!({"complimentaryRooms": 2});
        let cases = [
            // (case, record, body, If-Match, after a refusal, code, fields)
            (
                "cancelled",
                &cancelled,
                ok.clone(),
                None,
                false,
                "INVALID_STATE",
                vec![],
            ),
            (
                "an invalid body before the version",
                &record,
                json!({"releaseDays": {}, "status": "cancelled"}),
                Some(7),
                false,
                "VALIDATION_ERROR",
                vec!["releaseDays", "status"],
            ),
            (
                "cross-field rules",
                &record,
                json!({"cutoffDate": "2026-09-08", "penaltyPerRoomNightCents": null}),
                None,
                false,
                "VALIDATION_ERROR",
                vec!["cutoffDate", "penaltyPerRoomNightCents"],
            ),
            (
                "a cutoff moved into the past",
                &record,
                json!({"cutoffDate": "2026-05-31"}),
                None,
                false,
                "VALIDATION_ERROR",
                vec!["cutoffDate"],
            ),
            (
                "a stale If-Match",
                &record,
                ok.clone(),
                Some(2),
                false,
                "PRECONDITION_FAILED",
                vec![],
            ),
            (
                "refused under If-Match",
                &record,
                ok.clone(),
                Some(1),
                true,
                "PRECONDITION_FAILED",
                vec![],
            ),
        ];
        for (case, r, b, if_match, refused, code, fields) in cases {
            let err = plan_patch(r, &grid, &body(b), if_match, refused, now()).unwrap_err();
            assert_eq!(err.code(), code, "{case}");
            if let ApiError::Validation(issues) = err {
                let got: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
                assert_eq!(got, fields, "{case}");
            }
        }
    }

    #[test]
    fn a_patch_plans_the_next_version_with_the_new_terms() {
        let (record, grid) = allotment();
        let cases = [
            // (body, If-Match, after a refusal, check)
            (
                json!({"releaseDays": 14, "channelExternalId": null}),
                Some(1),
                false,
                (Some(14), None, d("2026-08-01")),
            ),
            (
                json!({"cutoffDate": "2026-08-15"}),
                None,
                true,
                (Some(7), Some("TUI-2026-SEPT"), d("2026-08-15")),
            ),
            // The cutoff stays where it was: no "today" rule (an old cutoff may be past).
            (
                json!({"cutoffDate": "2026-08-01"}),
                None,
                false,
                (Some(7), Some("TUI-2026-SEPT"), d("2026-08-01")),
            ),
        ];
        for (b, if_match, refused, (release_days, channel, cutoff)) in cases {
            let later = if b["cutoffDate"] == "2026-08-01" {
                at("2026-08-10T00:00:00Z")
            } else {
                now()
            };
            let p = plan_patch(&record, &grid, &body(b.clone()), if_match, refused, later).unwrap();
            let (next, guard) = read::header(&p.plan).unwrap();
            assert_eq!(p.plan.changes.len(), 2, "the header and its event");
            assert_eq!(
                read::event(&p.plan),
                Some((crate::domain::event::EventType::AllotmentUpdated, 2, later))
            );
            assert_eq!(guard, Guard::Version(1));
            assert_eq!(next, &p.record);
            assert_eq!((next.version, next.updated_at), (2, later));
            assert_eq!(next.terms.release_days, release_days, "{b}");
            assert_eq!(next.terms.channel_external_id.as_deref(), channel, "{b}");
            assert_eq!(next.terms.cutoff_date, cutoff);
            assert_eq!(
                next.terms.penalty_per_room_night_cents,
                record.terms.penalty_per_room_night_cents
            );
            assert_eq!(p.grid, grid);
        }
    }
}
