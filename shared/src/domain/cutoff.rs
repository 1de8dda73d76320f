//! Release moments: when each night of an allotment gives its unpicked rooms back.
//!
//! - fixed cutoff: every night at 00:00 local on the day after `cutoffDate`;
//! - rolling (`releaseDays = N`): night `d` also at 00:00 local on `d - N`;
//!   a night releases at whichever comes first;
//! - a tentative allotment expires whole at the fixed cutoff.
//!
//! Local midnight is computed in the establishment's IANA zone. Where a zone skips
//! 00:00 (a DST gap at midnight) the moment is the first instant that exists after it;
//! where 00:00 happens twice, the first one.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant of 00:00 local time on `day` in `tz`.
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    // A gap is at most a few hours; step minute by minute to its end.
    for minutes in 0..=24 * 60 {
        let local = midnight + Duration::minutes(minutes);
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // No zone skips a whole day at midnight; fall back to the UTC reading.
    Utc.from_utc_datetime(&midnight)
}

/// The cutoff rules of an allotment or capacity group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutoffRule {
    pub time_zone: Tz,
    pub cutoff_date: NaiveDate,
    pub release_days: Option<i64>,
    /// Tentative allotments ignore rolling release and expire whole at the cutoff.
    pub whole_at_cutoff: bool,
}

impl CutoffRule {
    /// 00:00 local on the day after the cutoff date.
    pub fn fixed_moment(&self) -> DateTime<Utc> {
        local_midnight(self.time_zone, self.cutoff_date + Duration::days(1))
    }

    /// When `night` is released: the earlier of the fixed and the rolling moment.
    /// Never decreasing with the night, so released nights always form a prefix.
    pub fn night_moment(&self, night: NaiveDate) -> DateTime<Utc> {
        let fixed = self.fixed_moment();
        match self.release_days {
            Some(n) if !self.whole_at_cutoff => {
                fixed.min(local_midnight(self.time_zone, night - Duration::days(n)))
            }
            _ => fixed,
        }
    }
}

impl CutoffRule {
    /// The first night of `[from, to]` after `released_through`, if any.
    fn first_pending(
        from: NaiveDate,
        to: NaiveDate,
        released_through: Option<NaiveDate>,
    ) -> Option<NaiveDate> {
        let first = match released_through {
            None => from,
            Some(t) => t.succ_opt()?.max(from),
        };
        (first <= to).then_some(first)
    }

    /// When the next unreleased night of `[from, to]` is due.
    pub fn next_release(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        released_through: Option<NaiveDate>,
    ) -> Option<DateTime<Utc>> {
        Self::first_pending(from, to, released_through).map(|n| self.night_moment(n))
    }

    /// The last night of `[from, to]` due at `now` (nights release in date order).
    pub fn due_through(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        released_through: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Option<NaiveDate> {
        let first = Self::first_pending(from, to, released_through)?;
        let mut through = None;
        for night in first.iter_days().take_while(|d| *d <= to) {
            if self.night_moment(night) > now {
                break;
            }
            through = Some(night);
        }
        through
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_midnights_across_zones_and_dst() {
        let cases = [
            (
                chrono_tz::Europe::Paris,
                "2026-01-15",
                "2026-01-14T23:00:00Z",
            ),
            (
                chrono_tz::Europe::Paris,
                "2026-07-15",
                "2026-07-14T22:00:00Z",
            ),
            // DST starts 29 Mar 2026 at 02:00: midnight is still winter time.
            (
                chrono_tz::Europe::Paris,
                "2026-03-29",
                "2026-03-28T23:00:00Z",
            ),
            (
                chrono_tz::Europe::Paris,
                "2026-03-30",
                "2026-03-29T22:00:00Z",
            ),
            // DST ends 25 Oct 2026 at 03:00.
            (
                chrono_tz::Europe::Paris,
                "2026-10-25",
                "2026-10-24T22:00:00Z",
            ),
            (
                chrono_tz::Europe::Paris,
                "2026-10-26",
                "2026-10-25T23:00:00Z",
            ),
            (
                chrono_tz::America::New_York,
                "2026-03-08",
                "2026-03-08T05:00:00Z",
            ),
            (
                chrono_tz::America::New_York,
                "2026-03-09",
                "2026-03-09T04:00:00Z",
            ),
            (
                chrono_tz::America::New_York,
                "2026-11-01",
                "2026-11-01T04:00:00Z",
            ),
            (
                chrono_tz::America::New_York,
                "2026-11-02",
                "2026-11-02T05:00:00Z",
            ),
            (
                chrono_tz::Asia::Kolkata,
                "2026-08-02",
                "2026-08-01T18:30:00Z",
            ),
            (chrono_tz::UTC, "2026-08-02", "2026-08-02T00:00:00Z"),
        ];
        for (tz, day, want) in cases {
            assert_eq!(local_midnight(tz, d(day)), utc(want), "{tz} {day}");
        }
    }

    #[test]
    fn a_skipped_midnight_is_the_first_instant_after_it() {
        // America/Santiago springs forward at 24:00 on the first Saturday of
        // September 2026: 6 Sep 00:00 does not exist, the day starts at 01:00 (-03).
        let t = local_midnight(chrono_tz::America::Santiago, d("2026-09-06"));
        assert_eq!(t, utc("2026-09-06T04:00:00Z"));
        // Asia/Beirut springs forward at 00:00 on the last Sunday of March.
        let t = local_midnight(chrono_tz::Asia::Beirut, d("2026-03-29"));
        assert_eq!(t, utc("2026-03-28T22:00:00Z"));
    }

    #[test]
    fn fixed_and_rolling_moments() {
        let rule = CutoffRule {
            time_zone: chrono_tz::Europe::Paris,
            cutoff_date: d("2026-08-01"),
            release_days: Some(7),
            whole_at_cutoff: false,
        };
        assert_eq!(rule.fixed_moment(), utc("2026-08-01T22:00:00Z"));
        // 5 Aug - 7 days = 29 Jul, before the fixed cutoff.
        assert_eq!(
            rule.night_moment(d("2026-08-05")),
            utc("2026-07-28T22:00:00Z")
        );
        // 1 Sep - 7 days = 25 Aug, after it: the fixed cutoff wins.
        assert_eq!(
            rule.night_moment(d("2026-09-01")),
            utc("2026-08-01T22:00:00Z")
        );
        let tentative = CutoffRule {
            whole_at_cutoff: true,
            ..rule
        };
        assert_eq!(
            tentative.night_moment(d("2026-08-05")),
            utc("2026-08-01T22:00:00Z")
        );
        let fixed_only = CutoffRule {
            release_days: None,
            ..rule
        };
        assert_eq!(
            fixed_only.night_moment(d("2026-08-05")),
            utc("2026-08-01T22:00:00Z")
        );
    }

    #[test]
    fn moments_never_decrease_with_the_night() {
        let rule = CutoffRule {
            time_zone: chrono_tz::America::New_York,
            cutoff_date: d("2026-12-31"),
            release_days: Some(3),
            whole_at_cutoff: false,
        };
        let mut last = None;
        for night in d("2026-01-01").iter_days().take(400) {
            let m = rule.night_moment(night);
            if let Some(prev) = last {
                assert!(m >= prev, "{night}");
            }
            last = Some(m);
        }
    }
}
