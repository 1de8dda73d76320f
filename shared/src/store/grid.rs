//! The month-grid codec shared by allotments and capacity groups.
//!
//! A grid month is one item whose map `n` holds every unit type's nights of that
//! month: `n.<unitType>.<dd>`. Allotment nights (`G#<YYYY-MM>`) are a list of numbers
//! (no names: a year of 50 unit types is 18,000 nights, and DynamoDB Local counts a
//! transaction's JSON against its 4 MB): `[k, l, p, g, r, v]` and, once released,
//! `ra` — contracted, allocated, picked up (`g` of them from the capacity group),
//! released, remaining own rooms (`l - (p - g)`, kept in step so a condition can check
//! it: conditions cannot subtract), released at (epoch seconds); see [`GRID`]. Group
//! nights (`M#<YYYY-MM>`): a map, `s` shared, `u` used, `v` available (`s - u`).
//!
//! An allotment month also carries (see `domain::plan::GridStamp`) `rev`, its revision
//! (every write adds 1; absent: 0), `closed` (true while the allotment takes no
//! pickups) and `ap`, the active pickups whose first night is in it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, NaiveDate, Utc};

use super::attr::{get_m, get_n, get_s, key, n, Item};
use super::expr::{self, Expr};
use super::keys;
use crate::domain::allotment::GridNight;
use crate::domain::dates::{day_key, Month};
use crate::domain::error::ApiError;
use crate::domain::group::GroupNight;
use crate::domain::ids::UnitTypeId;
use crate::domain::plan::{MonthWrite, Nights};

/// How one kind of night is stored.
pub(crate) trait NightCodec: Sized {
    /// The sort-key prefix of its month items (`G#`, `M#`).
    const PREFIX: &'static str;
    fn encode(&self) -> AttributeValue;
    fn decode(night: &AttributeValue) -> Result<Self, ApiError>;
}

/// The positions of an allotment night's list.
pub(crate) mod slot {
    pub const CONTRACTED: usize = 0;
    pub const ALLOCATED: usize = 1;
    pub const PICKED_UP: usize = 2;
    pub const FROM_GROUP: usize = 3;
    pub const RELEASED: usize = 4;
    pub const REMAINING: usize = 5;
    pub const RELEASED_AT: usize = 6;
}

impl NightCodec for GridNight {
    const PREFIX: &'static str = "G#";

    fn encode(&self) -> AttributeValue {
        let mut l = vec![
            n(self.contracted),
            n(self.allocated),
            n(self.picked_up),
            n(self.from_group),
            n(self.released),
            n(self.remaining()),
        ];
        if let Some(at) = self.released_at {
            l.push(n(at.timestamp()));
        }
        AttributeValue::L(l)
    }

    fn decode(night: &AttributeValue) -> Result<Self, ApiError> {
        let corrupt = || ApiError::Internal("stored grid night".into());
        let AttributeValue::L(l) = night else {
            return Err(corrupt());
        };
        let at = |i: usize| -> Result<i64, ApiError> {
            match l.get(i) {
                Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt()),
                _ => Err(corrupt()),
            }
        };
        let released_at = match l.len() {
            6 => None,
            7 => Some(
                DateTime::<Utc>::from_timestamp(at(slot::RELEASED_AT)?, 0).ok_or_else(corrupt)?,
            ),
            _ => return Err(corrupt()),
        };
        Ok(GridNight {
            contracted: at(slot::CONTRACTED)?,
            allocated: at(slot::ALLOCATED)?,
            picked_up: at(slot::PICKED_UP)?,
            from_group: at(slot::FROM_GROUP)?,
            released: at(slot::RELEASED)?,
            released_at,
        })
    }
}

impl NightCodec for GroupNight {
    const PREFIX: &'static str = "M#";

    fn encode(&self) -> AttributeValue {
        AttributeValue::M(HashMap::from([
            ("s".to_string(), n(self.shared)),
            ("u".to_string(), n(self.used)),
            ("v".to_string(), n(self.available())),
        ]))
    }

    fn decode(night: &AttributeValue) -> Result<Self, ApiError> {
        let AttributeValue::M(night) = night else {
            return Err(ApiError::Internal("stored group night".into()));
        };
        Ok(GroupNight {
            shared: get_n(night, "s")?,
            used: get_n(night, "u")?,
        })
    }
}

/// The revision (`rev`) of a month item.
pub(crate) const REVISION: &str = "rev";
/// Set (true) on the months of an allotment that takes no pickups.
pub(crate) const CLOSED: &str = "closed";
/// The active pickups counted on a month (those whose first night is in it).
pub(crate) const ACTIVE_PICKUPS: &str = "ap";

/// The month, revision and active pickups of a stored allotment month item.
pub(crate) fn month_counters(item: &Item) -> Result<(Month, i64, i64), ApiError> {
    let month = get_s(item, keys::SK)?
        .strip_prefix(GridNight::PREFIX)
        .and_then(Month::parse_key)
        .ok_or_else(|| ApiError::Internal("stored grid month: sort key".into()))?;
    let revision = match item.get(REVISION) {
        Some(_) => get_n(item, REVISION)?,
        None => 0,
    };
    let active = match item.get(ACTIVE_PICKUPS) {
        Some(_) => get_n(item, ACTIVE_PICKUPS)?,
        None => 0,
    };
    Ok((month, revision, active))
}

/// What an allotment month written whole carries: the revision read, which it must
/// still have (it moves on by one), and whether the allotment takes pickups.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MonthStamp {
    pub revision: i64,
    pub takes_pickups: bool,
}

/// Adds the nights of one stored month item to `grid`.
pub(crate) fn decode_month<N: NightCodec>(
    item: &Item,
    grid: &mut Nights<N>,
) -> Result<(), ApiError> {
    let corrupt = |what: &str| ApiError::Internal(format!("stored grid month: {what}"));
    let sk = get_s(item, keys::SK)?;
    let month = sk
        .strip_prefix(N::PREFIX)
        .and_then(Month::parse_key)
        .ok_or_else(|| corrupt("sort key"))?;
    for (ut, days) in get_m(item, "n")? {
        let ut = UnitTypeId::parse(ut).map_err(|_| corrupt("unit type"))?;
        let AttributeValue::M(days) = days else {
            return Err(corrupt("days"));
        };
        for (day, night) in days {
            let date = day
                .parse::<u32>()
                .ok()
                .and_then(|d| NaiveDate::from_ymd_opt(month.year, month.month, d))
                .ok_or_else(|| corrupt("day"))?;
            grid.insert((ut.clone(), date), N::decode(night)?);
        }
    }
    Ok(())
}

/// The transaction item of one month write: a new item `Put` whole (it must not
/// exist), or an `Update` setting each night (a unit type new to the month as a whole
/// map) of an item that exists. An allotment month carries its `stamp`.
pub(crate) fn encode_month<N: NightCodec>(
    table: &str,
    (pk, sk): (String, String),
    write: &MonthWrite<N>,
    stamp: Option<MonthStamp>,
) -> Result<TransactWriteItem, ApiError> {
    if write.new_item {
        let mut item = key(pk, sk);
        let units = write
            .units
            .iter()
            .map(|u| (u.unit.to_string(), nights_map(&u.nights)))
            .collect();
        item.insert("n".into(), AttributeValue::M(units));
        if let Some(stamp) = stamp {
            item.insert(CLOSED.into(), AttributeValue::Bool(!stamp.takes_pickups));
        }
        return expr::put_new(table, item);
    }
    let mut e = Expr::new();
    e.require("attribute_exists(PK)");
    if let Some(stamp) = stamp {
        let rev = e.name(REVISION);
        if stamp.revision == 0 {
            e.require(format!("attribute_not_exists({rev})"));
        } else {
            e.require_equal(&rev, n(stamp.revision));
        }
        e.add(&rev, 1);
        let closed = e.name(CLOSED);
        e.set_value(&closed, AttributeValue::Bool(!stamp.takes_pickups));
    }
    for u in &write.units {
        if u.new_unit {
            let path = e.path(&["n", u.unit.as_str()]);
            e.set_value(&path, nights_map(&u.nights));
            continue;
        }
        for (d, night) in &u.nights {
            let path = e.path(&["n", u.unit.as_str(), &day_key(*d)]);
            e.set_value(&path, night.encode());
        }
    }
    e.update(table, key(pk, sk))
}

fn nights_map<N: NightCodec>(nights: &[(NaiveDate, N)]) -> AttributeValue {
    AttributeValue::M(
        nights
            .iter()
            .map(|(d, night)| (day_key(*d), night.encode()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;

    #[test]
    fn nights_survive_a_round_trip() {
        let d = parse_date("2026-09-05").unwrap();
        let night = GridNight {
            contracted: 5,
            allocated: 4,
            picked_up: 3,
            from_group: 1,
            released: 1,
            released_at: Some(Utc::now().with_timezone(&Utc)),
        };
        let AttributeValue::L(l) = night.encode() else {
            panic!()
        };
        assert_eq!(l[slot::REMAINING], n(2), "remaining kept in step");
        let back = GridNight::decode(&AttributeValue::L(l)).unwrap();
        assert_eq!(back.allocated, 4);
        assert_eq!(
            back.released_at.map(|t| t.timestamp()),
            night.released_at.map(|t| t.timestamp())
        );
        let mut item = key("pk".into(), "G#2026-09".into());
        item.insert(
            "n".into(),
            AttributeValue::M(HashMap::from([(
                "dbl".to_string(),
                AttributeValue::M(HashMap::from([("05".to_string(), night.encode())])),
            )])),
        );
        let mut grid = Nights::new();
        decode_month::<GridNight>(&item, &mut grid).unwrap();
        assert_eq!(grid.len(), 1);
        assert!(grid.contains_key(&(UnitTypeId::parse("dbl").unwrap(), d)));
        // A group month is not read as an allotment month.
        let mut group = Nights::<GroupNight>::new();
        assert!(decode_month(&item, &mut group).is_err());
    }
}
