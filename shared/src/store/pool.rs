//! Reading the capacity pool's month buckets.
//!
//! One item per (establishment, unit type, month) holds the nights of that month in
//! the map `n`: `{"05": {"c": capacity, "a": allotted, "p": pickedUp, "v": available}}`.
//! A bucket is created by the first inventory change of its month, in that change's
//! transaction, with every day of the month present (days outside the change at zero,
//! which reads exactly like a night never set); writes to buckets are planned in the
//! domain and mapped in `apply.rs` (one conditional update checks and changes up to 31
//! nights, so a change over any range is one item per month and unit type).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use uuid::Uuid;

use super::attr::{get_m, get_n, get_s, key, s, Item};
use super::{keys, Store};
use crate::domain::dates::{Month, NightRange};
use crate::domain::error::ApiError;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::inventory::PoolNight;

/// The nights of one pool bucket, by day of month.
pub type MonthNights = BTreeMap<u32, PoolNight>;

fn parse_nights(item: &Item) -> Result<MonthNights, ApiError> {
    let map = get_m(item, "n")?;
    let mut out = MonthNights::new();
    for (day, v) in map {
        let AttributeValue::M(night) = v else {
            return Err(ApiError::Internal("pool night of the wrong type".into()));
        };
        let day: u32 = day
            .parse()
            .map_err(|_| ApiError::Internal("pool day key".into()))?;
        out.insert(
            day,
            PoolNight {
                capacity: get_n(night, "c")?,
                allotted: get_n(night, "a")?,
                picked_up: get_n(night, "p")?,
                available: get_n(night, "v")?,
            },
        );
    }
    Ok(out)
}

impl Store {
    /// The pool nights of the given unit types and months (strongly consistent), for
    /// a plan to say which nights are short. Absent buckets are absent.
    pub async fn read_pool_view(
        &self,
        t: &TenantId,
        est: Uuid,
        wanted: &[(UnitTypeId, Month)],
    ) -> Result<crate::domain::inventory::PoolView, ApiError> {
        let mut wanted = wanted.to_vec();
        wanted.sort();
        wanted.dedup();
        let mut view = crate::domain::inventory::PoolView::new();
        for ((ut, month), nights) in self.read_pool_months(t, est, &wanted).await? {
            for (day, night) in nights {
                if let Some(date) = NaiveDate::from_ymd_opt(month.year, month.month, day) {
                    view.insert((ut.clone(), date), night);
                }
            }
        }
        Ok(view)
    }

    /// Reads whole buckets (strongly consistent). Absent buckets are absent from the map.
    pub async fn read_pool_months(
        &self,
        t: &TenantId,
        est: Uuid,
        wanted: &[(UnitTypeId, Month)],
    ) -> Result<HashMap<(UnitTypeId, Month), MonthNights>, ApiError> {
        let wanted = wanted
            .iter()
            .map(|(ut, m)| {
                let (pk, sk) = keys::pool(t, est, ut, *m);
                key(pk, sk)
            })
            .collect();
        let mut out = HashMap::new();
        for item in self.batch_get("read_pool_months", wanted).await? {
            let sk = get_s(&item, keys::SK)?;
            let (ut, m) = keys::parse_pool_sk(sk)
                .ok_or_else(|| ApiError::Internal("pool sort key".into()))?;
            out.insert((ut, m), parse_nights(&item)?);
        }
        Ok(out)
    }

    /// The pool over a range of nights, ordered by unit type then date. Every night of
    /// every bucket found is returned (callers filter what they list).
    pub async fn read_pool(
        &self,
        t: &TenantId,
        est: Uuid,
        unit_type: Option<&UnitTypeId>,
        range: &NightRange,
    ) -> Result<Vec<(UnitTypeId, NaiveDate, PoolNight)>, ApiError> {
        let pk = keys::establishment_pk(t, est);
        let first = Month::of(range.from());
        let last = Month::of(range.to());
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk));
        query = match unit_type {
            Some(ut) => query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_values(":lo", s(keys::pool(t, est, ut, first).1))
                .expression_attribute_values(":hi", s(keys::pool(t, est, ut, last).1)),
            None => query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .filter_expression("#m BETWEEN :lo AND :hi")
                .expression_attribute_names("#m", "month")
                .expression_attribute_values(":prefix", s(keys::POOL_PREFIX))
                .expression_attribute_values(":lo", s(first.key()))
                .expression_attribute_values(":hi", s(last.key())),
        };
        let mut rows = Vec::new();
        for item in self.query_all("read_pool", query).await? {
            let (ut, month) = keys::parse_pool_sk(get_s(&item, keys::SK)?)
                .ok_or_else(|| ApiError::Internal("pool sort key".into()))?;
            for (day, night) in parse_nights(&item)? {
                let Some(date) = NaiveDate::from_ymd_opt(month.year, month.month, day) else {
                    continue;
                };
                if range.contains(date) {
                    rows.push((ut.clone(), date, night));
                }
            }
        }
        Ok(rows)
    }
}
