//! Nights, ranges of nights and months.
//!
//! A hotel night is named by its date. A [`NightRange`] is inclusive on both ends
//! and never empty.

use chrono::{Datelike, Duration, NaiveDate};

/// Parses a strict `YYYY-MM-DD` date (no other widths, no time part).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

pub fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A calendar month, the unit of the store's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(d: NaiveDate) -> Self {
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The months from the one of `from` to the one of `to` (none if `to < from`).
    pub fn range(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = Month> {
        let last = Month::of(to);
        let mut next = (from <= to).then(|| Month::of(from));
        std::iter::from_fn(move || {
            let m = next?;
            next = (m < last).then(|| m.next());
            Some(m)
        })
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day() - Duration::days(1)
    }

    pub fn days(self) -> u32 {
        self.last_day().day()
    }

    /// `2026-09`: sorts like the month itself.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn parse_key(s: &str) -> Option<Self> {
        let d = parse_date(&format!("{s}-01"))?;
        Some(Month::of(d))
    }
}

/// Two-digit day of month, the key of a night inside a month bucket.
pub fn day_key(d: NaiveDate) -> String {
    format!("{:02}", d.day())
}

/// An inclusive, non-empty range of nights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl NightRange {
    /// `from ≤ to` and at most `max_nights` nights; the error says which rule broke.
    pub fn new(from: NaiveDate, to: NaiveDate, max_nights: i64) -> Result<Self, String> {
        if to < from {
            return Err("must be on or after the start of the range".into());
        }
        let n = (to - from).num_days() + 1;
        if n > max_nights {
            return Err(format!(
                "the range is {n} nights; at most {max_nights} are allowed"
            ));
        }
        Ok(NightRange { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn nights(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    pub fn iter(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }

    /// The months the range touches, each with the part of the range inside it.
    pub fn by_month(&self) -> Vec<(Month, NightRange)> {
        let mut out = Vec::new();
        let mut m = Month::of(self.from);
        loop {
            let start = self.from.max(m.first_day());
            let end = self.to.min(m.last_day());
            out.push((
                m,
                NightRange {
                    from: start,
                    to: end,
                },
            ));
            if end == self.to {
                return out;
            }
            m = m.next();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn parses_only_strict_dates() {
        assert_eq!(
            parse_date("2026-09-01"),
            NaiveDate::from_ymd_opt(2026, 9, 1)
        );
        for bad in [
            "2026-9-01",
            "2026-09-1",
            "2026-02-30",
            "2026-13-01",
            "20260901",
            "2026-09-01T00:00:00Z",
            "+026-09-01",
            "",
            "２０２６-09-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(
            parse_date("2028-02-29"),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
    }

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let r = NightRange::new(d("2026-09-01"), d("2026-09-07"), 731).unwrap();
        assert_eq!(r.nights(), 7);
        assert_eq!(r.iter().count(), 7);
        assert!(NightRange::new(d("2026-09-02"), d("2026-09-01"), 731).is_err());
        assert!(NightRange::new(d("2026-01-01"), d("2028-01-01"), 731).is_ok());
        assert!(NightRange::new(d("2026-01-01"), d("2028-01-02"), 731).is_err());
        assert_eq!(
            NightRange::new(d("2026-09-01"), d("2026-09-01"), 1)
                .unwrap()
                .nights(),
            1
        );
    }

    #[test]
    fn splits_by_month() {
        let r = NightRange::new(d("2026-01-30"), d("2026-03-02"), 731).unwrap();
        let parts = r.by_month();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].0.key(), "2026-01");
        assert_eq!(
            (parts[0].1.from(), parts[0].1.to()),
            (d("2026-01-30"), d("2026-01-31"))
        );
        assert_eq!(parts[1].1.nights(), 28);
        assert_eq!(
            (parts[2].1.from(), parts[2].1.to()),
            (d("2026-03-01"), d("2026-03-02"))
        );
        let total: i64 = parts.iter().map(|(_, r)| r.nights()).sum();
        assert_eq!(total, r.nights());
        let year = NightRange::new(d("2026-12-15"), d("2027-12-14"), 731).unwrap();
        assert_eq!(year.by_month().len(), 13);
    }

    #[test]
    fn months_know_their_days() {
        assert_eq!(Month::of(d("2028-02-10")).days(), 29);
        assert_eq!(Month::of(d("2026-02-10")).days(), 28);
        assert_eq!(Month::of(d("2026-12-31")).next().key(), "2027-01");
        assert_eq!(
            Month::parse_key("2026-09"),
            Some(Month::of(d("2026-09-30")))
        );
        assert_eq!(day_key(d("2026-09-05")), "05");
    }
}
