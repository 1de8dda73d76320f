//! The capacity pool in month buckets.
//!
//! One item per (establishment, unit type, month) holds every night of the month in
//! the map `n`: `{"05": {"c": capacity, "a": allotted, "p": pickedUp, "v": available}}`.
//! A single conditional update checks and changes up to 31 nights, so a change over
//! any range is one transaction of at most one item per month and unit type.
//! Buckets are created whole (every day at zero, which reads exactly like a night
//! that was never set) the first time an inventory change touches them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::attr::{get_m, get_n, get_s, key, n, s, Item};
use super::{keys, sdk_error, Store};
use crate::domain::dates::{day_key, Month, NightRange};
use crate::domain::error::ApiError;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::inventory::{hold_conflicts, NightHold, PoolNight};

/// A change of one pool night: rooms allotted (+ taken, - returned) and picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightDelta {
    pub date: NaiveDate,
    pub allotted: i64,
    pub picked_up: i64,
}

impl NightDelta {
    pub fn allot(date: NaiveDate, allotted: i64) -> Self {
        NightDelta {
            date,
            allotted,
            picked_up: 0,
        }
    }
}

/// The nights of one pool bucket, by day of month.
pub type MonthNights = BTreeMap<u32, PoolNight>;

/// Expression names of a pool update: the map `#n`, the counters it uses
/// (`c`, `a`, `p`, `v` as `#c`...) and one `#dDD` per day.
fn names(counters: &[&str], days: impl IntoIterator<Item = u32>) -> HashMap<String, String> {
    let mut names = HashMap::from([("#n".to_string(), "n".to_string())]);
    for c in counters {
        names.insert(format!("#{c}"), c.to_string());
    }
    for d in days {
        names.insert(format!("#d{d:02}"), format!("{d:02}"));
    }
    names
}

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
    /// One conditional update of a pool bucket. Per night: `allotted` rooms taken
    /// (> 0, only if `available` covers them) or returned (< 0), and `pickedUp`
    /// changed by `picked_up`.
    pub(crate) fn pool_delta_update(
        &self,
        t: &TenantId,
        est: Uuid,
        ut: &UnitTypeId,
        month: Month,
        deltas: &[NightDelta],
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::pool(t, est, ut, month);
        let mut conditions = Vec::new();
        let mut sets = Vec::new();
        let mut values = HashMap::new();
        let mut counters = vec![];
        for d in deltas {
            let day = day_key(d.date);
            let night = format!("#n.#d{day}");
            if d.allotted != 0 {
                if d.allotted > 0 {
                    conditions.push(format!("{night}.#v >= :q{day}"));
                } else {
                    conditions.push(format!("{night}.#a >= :r{day}"));
                    values.insert(format!(":r{day}"), n(-d.allotted));
                }
                sets.push(format!("{night}.#v = {night}.#v - :q{day}"));
                sets.push(format!("{night}.#a = {night}.#a + :q{day}"));
                values.insert(format!(":q{day}"), n(d.allotted));
                counters.extend(["a", "v"]);
            }
            if d.picked_up != 0 {
                sets.push(format!("{night}.#p = {night}.#p + :p{day}"));
                values.insert(format!(":p{day}"), n(d.picked_up));
                counters.push("p");
            }
        }
        counters.sort();
        counters.dedup();
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names(
                &counters,
                deltas.iter().map(|d| d.date.day()),
            )))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = if conditions.is_empty() {
            update.condition_expression("attribute_exists(#n)")
        } else {
            update.condition_expression(conditions.join(" AND "))
        };
        let update = update
            .build()
            .map_err(|e| ApiError::Internal(format!("pool update: {e}")))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The conditional bucket updates of many pool changes, one per unit type and month.
    pub(crate) fn pool_updates(
        &self,
        t: &TenantId,
        est: Uuid,
        changes: impl IntoIterator<Item = (UnitTypeId, NightDelta)>,
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut groups: BTreeMap<(UnitTypeId, Month), Vec<NightDelta>> = BTreeMap::new();
        for (ut, d) in changes {
            if d.allotted != 0 || d.picked_up != 0 {
                groups.entry((ut, Month::of(d.date))).or_default().push(d);
            }
        }
        groups
            .iter()
            .map(|((ut, m), deltas)| self.pool_delta_update(t, est, ut, *m, deltas))
            .collect()
    }

    /// The nights the pool cannot cover now (`available < quantity`), read strongly
    /// consistent after a refused transaction to say why.
    pub(crate) async fn short_nights(
        &self,
        t: &TenantId,
        est: Uuid,
        holds: &[NightHold],
    ) -> Result<Vec<crate::domain::error::NightConflict>, ApiError> {
        let mut wanted: Vec<_> = holds
            .iter()
            .filter(|h| h.quantity > 0)
            .map(|h| (h.unit_type_id.clone(), Month::of(h.date)))
            .collect();
        wanted.sort();
        wanted.dedup();
        let buckets = self.read_pool_months(t, est, &wanted).await?;
        Ok(hold_conflicts(holds, |ut, date| {
            buckets
                .get(&(ut.clone(), Month::of(date)))
                .and_then(|b| b.get(&date.day()).copied())
                .unwrap_or_default()
        }))
    }

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
