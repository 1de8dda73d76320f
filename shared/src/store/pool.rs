//! Reading the capacity pool's month buckets.
//!
//! One item per (establishment, unit type, month) holds the nights of that month in
//! the map `n`: `{"05": {"c": capacity, "a": allotted, "p": pickedUp, "v": available}}`.
//! A bucket is created by the first inventory change of its month, in that change's
//! transaction, with every day of the month present (days outside the change at zero,
//! which reads exactly like a night never set); writes to buckets are planned in the
//! domain and mapped in `apply.rs` (one conditional update checks and changes up to 31
//! nights, so a change over any range is one item per month and unit type).
//!
//! **`pickedUp` is summed on read, never written by a pickup.** A pickup writes only
//! items of its own allotment (no item shared by a hotel's allotments, which would
//! make every pickup of a hotel-month conflict with every other on the real service),
//! so a bucket's stored `p` is not maintained. Each bucket lists in `al` (a string
//! set) every allotment that took rooms in it (added by its creation or an allocation
//! change, never removed); [`Store::read_pool`] reads those allotments' grid months
//! (strongly consistent, 100 a request) and sums their `pickedUp` per night, which is
//! exactly Σ active pickups (the grids' invariant), at the same instant as the
//! buckets' other counters up to the reads in between.

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

/// The attribute of a bucket listing the allotments holding rooms in it.
pub(crate) const HOLDERS: &str = "al";

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

/// The allotments a bucket lists (none before the first took rooms in it).
fn parse_holders(item: &Item) -> Result<Vec<Uuid>, ApiError> {
    match item.get(HOLDERS) {
        None => Ok(Vec::new()),
        Some(AttributeValue::Ss(ids)) => ids
            .iter()
            .map(|id| Uuid::parse_str(id).map_err(|_| ApiError::Internal("pool holder id".into())))
            .collect(),
        Some(_) => Err(ApiError::Internal("pool holders of the wrong type".into())),
    }
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
        let mut holders: BTreeMap<(UnitTypeId, Month), Vec<Uuid>> = BTreeMap::new();
        for item in self.query_all("read_pool", query).await? {
            let (ut, month) = keys::parse_pool_sk(get_s(&item, keys::SK)?)
                .ok_or_else(|| ApiError::Internal("pool sort key".into()))?;
            holders.insert((ut.clone(), month), parse_holders(&item)?);
            for (day, night) in parse_nights(&item)? {
                let Some(date) = NaiveDate::from_ymd_opt(month.year, month.month, day) else {
                    continue;
                };
                if range.contains(date) {
                    rows.push((ut.clone(), date, night));
                }
            }
        }
        let picked = self.picked_up(t, &holders).await?;
        for (ut, date, night) in &mut rows {
            night.picked_up = picked.get(&(ut.clone(), *date)).copied().unwrap_or(0);
        }
        Ok(rows)
    }

    /// `pickedUp` per unit type and night: the sum over the grid months of the
    /// allotments each bucket lists (one strongly consistent read per allotment and
    /// month, 100 a request).
    async fn picked_up(
        &self,
        t: &TenantId,
        holders: &BTreeMap<(UnitTypeId, Month), Vec<Uuid>>,
    ) -> Result<BTreeMap<(UnitTypeId, NaiveDate), i64>, ApiError> {
        let grids: std::collections::BTreeSet<(Uuid, Month)> = holders
            .iter()
            .flat_map(|((_, m), ids)| ids.iter().map(move |id| (*id, *m)))
            .collect();
        let wanted = grids
            .iter()
            .map(|(id, m)| {
                let (pk, sk) = keys::allotment_grid(t, *id, *m);
                key(pk, sk)
            })
            .collect();
        let mut sums = BTreeMap::new();
        for item in self.batch_get("read_pool_grids", wanted).await? {
            let id = keys::parse_allotment_pk(get_s(&item, keys::PK)?)
                .ok_or_else(|| ApiError::Internal("grid partition key".into()))?;
            let mut grid = crate::domain::allotment::Grid::new();
            super::grid::decode_month(&item, &mut grid)?;
            for ((ut, date), night) in grid {
                let listed = holders
                    .get(&(ut.clone(), Month::of(date)))
                    .is_some_and(|ids| ids.contains(&id));
                if listed {
                    *sums.entry((ut, date)).or_default() += night.picked_up;
                }
            }
        }
        Ok(sums)
    }
}
