//! `POST .../confirm`: a tentative option becomes a contractual allotment.

use chrono::{DateTime, Utc};

use super::grid::Grid;
use super::planned::AllotmentPlan;
use super::record::AllotmentRecord;
use super::terms::{AllotmentType, Cents};
use crate::domain::error::ApiError;

/// Plans the confirmation of an active tentative allotment (`409 INVALID_STATE`
/// otherwise): it becomes of type `allotment`, confirmed now, with the penalty given
/// or the one it has (`400` naming `penaltyPerRoomNightCents` when it has none).
pub fn plan_confirm(
    record: &AllotmentRecord,
    grid: &Grid,
    penalty: Option<Cents>,
    now: DateTime<Utc>,
) -> Result<AllotmentPlan, ApiError> {
    record.require_active("confirm")?;
    if record.allotment_type != AllotmentType::Tentative {
        return Err(ApiError::InvalidState(
            "Only a tentative allotment can be confirmed".into(),
        ));
    }
    let penalty = penalty
        .or(record.terms.penalty_per_room_night_cents)
        .ok_or_else(|| {
            ApiError::validation(
                "penaltyPerRoomNightCents",
                "is required: the allotment has no penalty terms",
            )
        })?;
    let mut next = record.next_version(now);
    next.terms.penalty_per_room_night_cents = Some(penalty);
    next.allotment_type = AllotmentType::Allotment;
    next.confirmed_at = Some(now);
    Ok(AllotmentPlan::change(record, next, grid, Grid::new(), [])
        .announce(crate::domain::event::EventType::AllotmentConfirmed, now))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{created, now, read};
    use super::super::terms::Status;
    use super::*;
    use crate::domain::plan::{Change, Guard};
    use serde_json::json;

    fn cents(s: &str) -> Cents {
        Cents::rule(&json!(s)).unwrap()
    }

    #[test]
    fn refusals() {
        let (contractual, grid) = created(json!({}));
        let (bare, _) =
            created(json!({"allotmentType": "tentative", "penaltyPerRoomNightCents": null}));
        let mut cancelled = bare.clone();
        cancelled.status = Status::Cancelled;
        let cases = [
            (
                "already contractual",
                &contractual,
                Some(cents("1")),
                "INVALID_STATE",
            ),
            ("cancelled", &cancelled, Some(cents("1")), "INVALID_STATE"),
            ("no penalty terms", &bare, None, "VALIDATION_ERROR"),
        ];
        for (case, r, penalty, code) in cases {
            let err = plan_confirm(r, &grid, penalty, now()).unwrap_err();
            assert_eq!(err.code(), code, "{case}");
        }
    }

    #[test]
    fn a_confirmation_plans_the_contractual_next_version() {
        let (bare, grid) =
            created(json!({"allotmentType": "tentative", "penaltyPerRoomNightCents": null}));
        let (with_terms, _) =
            created(json!({"allotmentType": "tentative", "penaltyPerRoomNightCents": "1200"}));
        let cases = [
            (&bare, Some(cents("5000")), cents("5000")),
            (&with_terms, None, cents("1200")),
            (&with_terms, Some(cents("900")), cents("900")),
        ];
        for (r, penalty, kept) in cases {
            let p = plan_confirm(r, &grid, penalty, now()).unwrap();
            let (next, guard) = read::header(&p.plan).unwrap();
            assert_eq!(
                p.plan.changes.len(),
                3,
                "the header, its months (open to pickups now) and its event"
            );
            let Change::AllotmentNights { months, stamp, .. } = &p.plan.changes[1] else {
                panic!("the months second")
            };
            assert!(stamp.takes_pickups);
            assert_eq!(months.len(), 1, "September, every night as it was");
            assert!(months.iter().all(|m| m.units.is_empty() && !m.new_item));
            assert_eq!(
                read::event(&p.plan),
                Some((
                    crate::domain::event::EventType::AllotmentConfirmed,
                    2,
                    now()
                ))
            );
            assert_eq!(guard, Guard::Version(1));
            assert_eq!(next, &p.record);
            assert_eq!(next.version, 2);
            assert_eq!(next.allotment_type, AllotmentType::Allotment);
            assert_eq!(next.confirmed_at, Some(now()));
            assert_eq!(next.terms.penalty_per_room_night_cents, Some(kept));
            // No longer tentative: its release days now apply.
            assert!(!next.cutoff_rule().whole_at_cutoff);
        }
    }
}
