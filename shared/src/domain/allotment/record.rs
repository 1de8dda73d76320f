//! The stored allotment: its header record (the nights live in the grid) and what
//! follows from it alone (release moments, state checks, the next version).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::terms::{
    AllotmentType, ChannelType, Currency, NewAllotment, Status, Terms, UnitAllocation,
};
use crate::domain::cutoff::CutoffRule;
use crate::domain::dates::{Month, NightRange};
use crate::domain::error::ApiError;

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
    /// The establishment's zone when the allotment was created (frozen while it is
    /// held). Stored as its IANA name; a stored name that is no zone is refused when
    /// the record is read, never replaced by another zone.
    #[serde(with = "crate::domain::establishment::zone_name")]
    pub time_zone: Tz,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Every night up to this one is released.
    pub released_through: Option<NaiveDate>,
    /// When a manual release ("wash") released the remaining nights.
    pub manually_released_at: Option<DateTime<Utc>>,
    /// Active pickups (cancel is refused while any exist): counted on the grid months
    /// (each pickup on the month of its first night), summed when read.
    #[serde(skip)]
    pub active_pickups: i64,
    /// The revision of each grid month read (see `plan::GridStamp`): a month written
    /// whole must still have it.
    #[serde(skip)]
    pub grid_revisions: std::collections::BTreeMap<Month, i64>,
    /// The capacity group it belongs to (kept in its own membership item).
    #[serde(skip)]
    pub group_id: Option<Uuid>,
}

impl AllotmentRecord {
    /// A new active allotment, version 1.
    pub fn create(
        new: &NewAllotment,
        allotment_id: Uuid,
        time_zone: Tz,
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
            time_zone,
            created_at: now,
            updated_at: now,
            confirmed_at: None,
            cancelled_at: None,
            released_through: None,
            manually_released_at: None,
            active_pickups: 0,
            grid_revisions: Default::default(),
            group_id: None,
        }
    }

    /// The nights of the period; `INTERNAL_ERROR` for a stored period that holds none
    /// (no allotment is ever written so).
    pub fn period(&self) -> Result<NightRange, ApiError> {
        NightRange::new(self.period_from, self.period_to, i64::MAX).map_err(|e| {
            ApiError::Internal(format!(
                "stored allotment {}: period {}..{}: {e}",
                self.allotment_id, self.period_from, self.period_to
            ))
        })
    }

    /// Checks what the type system cannot of a record read from the store (its time
    /// zone is checked when it is decoded): a bad stored value is `INTERNAL_ERROR`.
    pub fn check_stored(&self) -> Result<(), ApiError> {
        self.period().map(|_| ())
    }

    pub fn tz(&self) -> Tz {
        self.time_zone
    }

    pub fn cutoff_rule(&self) -> CutoffRule {
        CutoffRule {
            time_zone: self.tz(),
            cutoff_date: self.terms.cutoff_date,
            release_days: self.terms.release_days,
            whole_at_cutoff: self.allotment_type == AllotmentType::Tentative,
        }
    }

    /// Active and contractual: what a pickup requires of it (its grid months say so,
    /// see `plan::GridStamp`).
    pub fn takes_pickups(&self) -> bool {
        self.status == Status::Active && self.allotment_type == AllotmentType::Allotment
    }

    pub fn is_night_released(&self, night: NaiveDate) -> bool {
        self.released_through.is_some_and(|t| night <= t)
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

    /// The grid months holding the nights due at `now` (what a cutoff release reads of
    /// the grid: [`super::plan_cutoff_release`] on those months plans what it would on
    /// the whole grid). Empty when nothing is due.
    pub fn due_months(&self, now: DateTime<Utc>) -> Vec<Month> {
        let Some(through) = self.due_through(now) else {
            return Vec::new();
        };
        let first = self
            .released_through
            .and_then(|t| t.succ_opt())
            .map_or(self.period_from, |n| n.max(self.period_from));
        Month::range(first, through).collect()
    }

    /// When the next unreleased night is due (`None` once nothing is left).
    pub fn next_release_at(&self) -> Option<DateTime<Utc>> {
        if self.status != Status::Active {
            return None;
        }
        self.cutoff_rule()
            .next_release(self.period_from, self.period_to, self.released_through)
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
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{at, contract, d, now};
    use super::*;
    use serde_json::json;

    #[test]
    fn due_nights_form_a_prefix_and_never_come_early() {
        let mut b = contract();
        b["cutoffDate"] = json!("2026-08-20");
        b["releaseDays"] = json!(20); // 1 Sep - 20 = 12 Aug, before the fixed cutoff
        let n = NewAllotment::parse(b.as_object().unwrap(), None).unwrap();
        let mut r = AllotmentRecord::create(&n, Uuid::nil(), chrono_tz::Europe::Paris, now());
        // Night 1 Sep is due at 00:00 Paris on 12 Aug = 11 Aug 22:00Z.
        let cases = [
            ("2026-08-11T21:59:00Z", None),
            ("2026-08-11T22:00:00Z", Some("2026-09-01")),
            ("2026-08-13T22:01:00Z", Some("2026-09-03")),
            // The fixed cutoff (21 Aug 00:00 Paris) releases the rest.
            ("2026-08-20T22:00:00Z", Some("2026-09-07")),
        ];
        for (time, through) in cases {
            assert_eq!(r.due_through(at(time)), through.map(d), "{time}");
        }
        let months = |r: &AllotmentRecord, time| {
            r.due_months(at(time))
                .iter()
                .map(|m| m.key())
                .collect::<Vec<_>>()
        };
        assert!(months(&r, "2026-08-11T21:59:00Z").is_empty(), "nothing due");
        assert_eq!(months(&r, "2026-08-20T22:00:00Z"), ["2026-09"]);
        let mut across = r.clone();
        across.period_from = d("2026-08-30");
        across.released_through = Some(d("2026-08-31"));
        assert_eq!(
            months(&across, "2026-08-20T22:00:00Z"),
            ["2026-09"],
            "only the months of unreleased nights"
        );
        across.released_through = None;
        assert_eq!(
            months(&across, "2026-08-20T22:00:00Z"),
            ["2026-08", "2026-09"]
        );
        r.released_through = Some(d("2026-09-03"));
        assert_eq!(r.next_release_at(), Some(at("2026-08-14T22:00:00Z")));
        r.status = Status::Cancelled;
        assert_eq!(r.due_through(at("2026-09-30T00:00:00Z")), None);
        assert_eq!(r.next_release_at(), None);
    }

    #[test]
    fn stored_values_that_no_write_makes_are_errors_not_fallbacks() {
        let n = NewAllotment::parse(contract().as_object().unwrap(), None).unwrap();
        let r = AllotmentRecord::create(&n, Uuid::nil(), chrono_tz::Europe::Paris, now());
        let mut doc = serde_json::to_value(&r).unwrap();
        assert_eq!(doc["timeZone"], "Europe/Paris");
        let back: AllotmentRecord = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(back, r, "a round trip");
        assert!(back.check_stored().is_ok());

        doc["timeZone"] = json!("Mars/Olympus");
        let err = serde_json::from_value::<AllotmentRecord>(doc).unwrap_err();
        assert!(err.to_string().contains("unknown time zone"), "{err}");

        let mut reversed = r.clone();
        reversed.period_to = d("2026-08-31");
        assert_eq!(
            reversed.check_stored().unwrap_err().code(),
            "INTERNAL_ERROR"
        );
        assert_eq!(reversed.period().unwrap_err().status(), 500);
    }
}
