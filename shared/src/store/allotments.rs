//! Allotments: header, night grid and history, changed together with the pool in
//! one transaction.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | header | `T#<t>#A#<id>` | `A` (GSI1: `T#<t>#E#<est>#A` / `<periodFrom>#<id>`) |
//! | grid month | `T#<t>#A#<id>` | `G#<YYYY-MM>`: `n.<unitType>.<dd>` = `{k, l, p, r, v, ra}` |
//! | history | `T#<t>#A#<id>` | `H#<version>`: the entries one change wrote |
//!
//! Grid night fields: `k` contracted, `l` allocated, `p` picked up (`g` of them from the
//! capacity group), `r` released, `v` remaining own rooms (`l - (p - g)`, kept in step so
//! conditions can check it), `ra` released at.
//!
//! The header carries a `version`; every change of an allotment is conditioned on
//! it (optimistic concurrency), so two changes never interleave.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::attr::{get_n, get_s, key, n, s, Item};
use super::pool::NightDelta;
use super::{keys, sdk_error, Store, TxOutcome};
use crate::domain::allotment::{
    plan_release, AllocationEntry, AllotmentRecord, Grid, GridNight, NightChange, ReleaseReason,
    Status, MAX_TRANSACTION_ITEMS,
};
use crate::domain::dates::{day_key, Month};
use crate::domain::error::ApiError;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::inventory::NightHold;

/// What the header write requires of the stored header.
#[derive(Debug, Clone, Copy)]
enum HeaderCondition {
    New,
    Version(i64),
    VersionWithoutPickups(i64),
}

fn internal(what: &str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> ApiError + '_ {
    move |e| ApiError::Internal(format!("{what}: {e}"))
}

pub(crate) fn header_item(t: &TenantId, r: &AllotmentRecord) -> Result<Item, ApiError> {
    let (pk, sk) = keys::allotment(t, r.allotment_id);
    let (gpk, gsk) = keys::allotment_index(t, r.establishment_id, r.period_from, r.allotment_id);
    let doc = serde_json::to_string(r).map_err(|e| ApiError::Internal(format!("record: {e}")))?;
    let mut item = key(pk, sk);
    item.insert(keys::GSI1PK.into(), s(gpk));
    item.insert(keys::GSI1SK.into(), s(gsk));
    item.insert("status".into(), s(r.status.as_str()));
    item.insert("allotmentType".into(), s(r.allotment_type.as_str()));
    item.insert("channelType".into(), s(r.channel_type.as_str()));
    item.insert("periodFrom".into(), s(r.period_from.to_string()));
    item.insert("periodTo".into(), s(r.period_to.to_string()));
    item.insert("version".into(), n(r.version));
    item.insert("activePickups".into(), n(r.active_pickups));
    if let Some(through) = r.released_through {
        item.insert("releasedThrough".into(), s(through.to_string()));
    }
    // The sparse release index: present while nights remain to release.
    if let Some((rpk, rsk)) = super::releases::index_keys(r) {
        item.insert(super::releases::GSI2PK.into(), s(rpk));
        item.insert(super::releases::GSI2SK.into(), s(rsk));
    }
    item.insert("doc".into(), s(doc));
    Ok(item)
}

pub(crate) fn parse_header(item: &Item) -> Result<AllotmentRecord, ApiError> {
    let mut r: AllotmentRecord = serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| ApiError::Internal(format!("stored allotment: {e}")))?;
    // Counters kept as attributes (changed by pickups without rewriting the doc).
    r.version = get_n(item, "version")?;
    r.active_pickups = get_n(item, "activePickups").unwrap_or(0);
    Ok(r)
}

/// Groups grid nights by month.
fn by_month(grid: &Grid) -> BTreeMap<Month, Vec<(&UnitTypeId, NaiveDate, &GridNight)>> {
    let mut out: BTreeMap<Month, Vec<_>> = BTreeMap::new();
    for ((ut, d), night) in grid {
        out.entry(Month::of(*d)).or_default().push((ut, *d, night));
    }
    out
}

impl Store {
    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, ApiError> {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(internal("put"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The header: created new, or replaced only if its version is still the one read.
    fn header_put(
        &self,
        t: &TenantId,
        r: &AllotmentRecord,
        expected: HeaderCondition,
    ) -> Result<TransactWriteItem, ApiError> {
        let item = header_item(t, r)?;
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = match expected {
            HeaderCondition::New => put.condition_expression("attribute_not_exists(PK)"),
            HeaderCondition::Version(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(v)),
            HeaderCondition::VersionWithoutPickups(v) => put
                .condition_expression("#v = :v AND #p = :zero")
                .expression_attribute_names("#v", "version")
                .expression_attribute_names("#p", "activePickups")
                .expression_attribute_values(":v", n(v))
                .expression_attribute_values(":zero", n(0)),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(internal("header"))?)
            .build())
    }

    fn history_put(
        &self,
        t: &TenantId,
        r: &AllotmentRecord,
        entries: &[AllocationEntry],
    ) -> Result<Option<TransactWriteItem>, ApiError> {
        if entries.is_empty() {
            return Ok(None);
        }
        let (pk, sk) = keys::allotment_history(t, r.allotment_id, r.version);
        let mut item = key(pk, sk);
        let doc = serde_json::to_string(entries)
            .map_err(|e| ApiError::Internal(format!("history: {e}")))?;
        item.insert("doc".into(), s(doc));
        self.put(item, Some("attribute_not_exists(PK)")).map(Some)
    }

    /// Changes the establishment's count of active holdings (allotments, groups),
    /// which freezes its time zone; also checks that it exists.
    pub(crate) fn establishment_holds(
        &self,
        t: &TenantId,
        est: Uuid,
        delta: i64,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::establishment(t, est);
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("ADD activeHolds :d")
            .expression_attribute_values(":d", n(delta))
            .build()
            .map_err(internal("establishment holds"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn grid_puts(
        &self,
        t: &TenantId,
        id: Uuid,
        grid: &Grid,
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut out = Vec::new();
        for (month, nights) in by_month(grid) {
            let (pk, sk) = keys::allotment_grid(t, id, month);
            let mut units: HashMap<String, HashMap<String, AttributeValue>> = HashMap::new();
            for (ut, d, night) in nights {
                units
                    .entry(ut.to_string())
                    .or_default()
                    .insert(day_key(d), super::grid::NightCodec::encode(night));
            }
            let mut item = key(pk, sk);
            item.insert(
                "n".into(),
                AttributeValue::M(
                    units
                        .into_iter()
                        .map(|(k, v)| (k, AttributeValue::M(v)))
                        .collect(),
                ),
            );
            out.push(self.put(item, None)?);
        }
        Ok(out)
    }

    /// Creates an allotment with its grid and initial history, taking its rooms from
    /// the pool: one transaction, so a refusal holds nothing.
    pub async fn create_allotment(
        &self,
        t: &TenantId,
        record: &AllotmentRecord,
        grid: &Grid,
        entries: &[AllocationEntry],
    ) -> Result<(), ApiError> {
        let holds: Vec<NightHold> = grid
            .iter()
            .map(|((ut, d), n)| NightHold {
                unit_type_id: ut.clone(),
                date: *d,
                quantity: n.allocated,
            })
            .collect();
        for _ in 0..4 {
            let mut items = vec![self.header_put(t, record, HeaderCondition::New)?];
            items.extend(self.grid_puts(t, record.allotment_id, grid)?);
            items.extend(self.history_put(t, record, entries)?);
            items.push(self.establishment_holds(t, record.establishment_id, 1)?);
            items.extend(self.pool_updates(
                t,
                record.establishment_id,
                holds.iter().map(|h| {
                    (
                        h.unit_type_id.clone(),
                        NightDelta::allot(h.date, h.quantity),
                    )
                }),
            )?);
            if items.len() > MAX_TRANSACTION_ITEMS {
                return Err(ApiError::Internal(
                    "allotment creation over 100 items".into(),
                ));
            }
            match self.transact(items).await? {
                TxOutcome::Done => return Ok(()),
                TxOutcome::ConditionFailed => {
                    let conflicts = self
                        .short_nights(t, record.establishment_id, &holds)
                        .await?;
                    if !conflicts.is_empty() {
                        return Err(ApiError::InsufficientCapacity(conflicts));
                    }
                    if self
                        .get_establishment(t, record.establishment_id)
                        .await?
                        .is_none()
                    {
                        return Err(ApiError::NotFound("No such establishment".into()));
                    }
                }
            }
        }
        Err(ApiError::Unavailable("create_allotment: contention".into()))
    }

    /// The header and grid of an allotment of this tenant (`None` otherwise).
    pub async fn load_allotment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<(AllotmentRecord, Grid)>, ApiError> {
        let (pk, _) = keys::allotment(t, id);
        let mut header = None;
        let mut group = None;
        let mut grid = Grid::new();
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND #sk < :h")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":h", s("H"));
        for item in self.query_all("load_allotment", query).await? {
            match get_s(&item, keys::SK)? {
                "A" => header = Some(parse_header(&item)?),
                "GROUP" => {
                    group = item
                        .get("groupId")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|g| Uuid::parse_str(g).ok())
                }
                sk if sk.starts_with("G#") => super::grid::decode_month(&item, &mut grid)?,
                _ => {}
            }
        }
        if let Some(h) = &header {
            self.remember_establishment(t, id, h.establishment_id);
        }
        Ok(header.map(|mut h| {
            h.group_id = group;
            (h, grid)
        }))
    }

    /// Like [`Self::load_allotment`], `NOT_FOUND` when absent.
    pub async fn require_allotment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<(AllotmentRecord, Grid), ApiError> {
        self.load_allotment(t, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such allotment".into()))
    }

    /// Replaces the header if its version is still `expected` (`false` if it moved on).
    pub async fn replace_allotment_header(
        &self,
        t: &TenantId,
        record: &AllotmentRecord,
        expected: i64,
    ) -> Result<bool, ApiError> {
        let item = self.header_put(t, record, HeaderCondition::Version(expected))?;
        match self.transact(vec![item]).await? {
            TxOutcome::Done => Ok(true),
            TxOutcome::ConditionFailed => Ok(false),
        }
    }

    /// Releases every unreleased night up to `through` (the whole rest of the period
    /// for a manual release): unpicked rooms back to the pool, `released` on the
    /// nights, a history entry per unit type; `released` status when no night is left.
    /// `false` if the allotment changed meanwhile (reload and retry).
    pub async fn release_allotment(
        &self,
        t: &TenantId,
        record: &AllotmentRecord,
        grid: &Grid,
        through: NaiveDate,
        reason: &ReleaseReason,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let (changes, entries) = plan_release(record, grid, through, reason, now);
        let mut next = record.clone();
        next.version += 1;
        next.updated_at = now;
        let through = through.min(record.period_to);
        next.released_through = Some(match record.released_through {
            Some(prev) => prev.max(through),
            None => through,
        });
        let finished = next.released_through == Some(record.period_to);
        if finished {
            next.status = Status::Released;
        }
        if let ReleaseReason::Manual(_) = reason {
            next.manually_released_at = Some(now);
        }

        let mut items =
            vec![self.header_put(t, &next, HeaderCondition::Version(record.version))?];
        items.extend(self.history_put(t, &next, &entries)?);
        if finished {
            items.push(self.establishment_holds(t, record.establishment_id, -1)?);
        }
        // Grid: each released night takes its new values, if nothing was picked up meanwhile
        // (the header version condition already guarantees it; this is belt and braces).
        let mut per_month: BTreeMap<Month, Vec<&crate::domain::allotment::NightRelease>> =
            BTreeMap::new();
        for c in &changes {
            per_month.entry(Month::of(c.date)).or_default().push(c);
        }
        for (month, nights) in &per_month {
            items.push(self.grid_night_update(
                t,
                record.allotment_id,
                *month,
                nights.iter().map(|c| (&c.unit_type_id, c.date, &c.night)),
            )?);
        }
        let returns = changes.iter().map(|c| {
            (
                c.unit_type_id.clone(),
                NightDelta::allot(c.date, -c.returned),
            )
        });
        items.extend(self.pool_updates(t, record.establishment_id, returns)?);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal("release over 100 items".into()));
        }
        Ok(self.transact(items).await? == TxOutcome::Done)
    }

    /// Sets some nights of one grid month to new values.
    fn grid_night_update<'a>(
        &self,
        t: &TenantId,
        id: Uuid,
        month: Month,
        nights: impl Iterator<Item = (&'a UnitTypeId, NaiveDate, &'a GridNight)>,
    ) -> Result<TransactWriteItem, ApiError> {
        self.grid_update(t, id, month, nights, None)
    }

    /// Sets nights of one grid month; the nights of `new_unit` (a unit type this
    /// month does not hold yet) are written as a whole new map.
    fn grid_update<'a>(
        &self,
        t: &TenantId,
        id: Uuid,
        month: Month,
        nights: impl Iterator<Item = (&'a UnitTypeId, NaiveDate, &'a GridNight)>,
        new_unit: Option<&UnitTypeId>,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::allotment_grid(t, id, month);
        let mut names = HashMap::from([("#n".to_string(), "n".to_string())]);
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        let mut units: Vec<&UnitTypeId> = Vec::new();
        let mut whole: HashMap<String, AttributeValue> = HashMap::new();
        for (ut, d, night) in nights {
            if Some(ut) == new_unit {
                whole.insert(day_key(d), super::grid::NightCodec::encode(night));
                continue;
            }
            let ui = match units.iter().position(|u| *u == ut) {
                Some(i) => i,
                None => {
                    units.push(ut);
                    names.insert(format!("#u{}", units.len() - 1), ut.to_string());
                    units.len() - 1
                }
            };
            let dk = day_key(d);
            names.insert(format!("#d{dk}"), dk.clone());
            let v = format!(":u{ui}d{dk}");
            sets.push(format!("#n.#u{ui}.#d{dk} = {v}"));
            values.insert(v, super::grid::NightCodec::encode(night));
        }
        if let Some(ut) = new_unit.filter(|_| !whole.is_empty()) {
            names.insert("#new".into(), ut.to_string());
            sets.push("#n.#new = :new".into());
            values.insert(":new".into(), AttributeValue::M(whole));
        }
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(internal("grid update"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Cancels an allotment: every held room back to the pool, `allocated` 0 on
    /// every night, status `cancelled`. `false` if it changed meanwhile.
    /// Refused (`ALLOTMENT_HAS_PICKUPS`) while pickups are active.
    pub async fn cancel_allotment(
        &self,
        t: &TenantId,
        record: &AllotmentRecord,
        grid: &Grid,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let mut next = record.clone();
        next.version += 1;
        next.updated_at = now;
        next.status = Status::Cancelled;
        next.cancelled_at = Some(now);
        let header = self.header_put(
            t,
            &next,
            HeaderCondition::VersionWithoutPickups(record.version),
        )?;
        let mut items = vec![
            header,
            self.establishment_holds(t, record.establishment_id, -1)?,
        ];
        let mut zeroed = Grid::new();
        let mut returns = Vec::new();
        for ((ut, d), night) in grid {
            zeroed.insert(
                (ut.clone(), *d),
                GridNight {
                    allocated: 0,
                    ..night.clone()
                },
            );
            returns.push((ut.clone(), NightDelta::allot(*d, -night.allocated)));
        }
        for (month, nights) in by_month(&zeroed) {
            items.push(self.grid_night_update(
                t,
                record.allotment_id,
                month,
                nights.into_iter(),
            )?);
        }
        items.extend(self.pool_updates(t, record.establishment_id, returns)?);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal("cancel over 100 items".into()));
        }
        match self.transact(items).await? {
            TxOutcome::Done => Ok(true),
            TxOutcome::ConditionFailed => {
                let fresh = self.load_allotment(t, record.allotment_id).await?;
                if fresh
                    .as_ref()
                    .is_some_and(|(r, _)| r.version == record.version && r.active_pickups > 0)
                {
                    return Err(ApiError::AllotmentHasPickups);
                }
                Ok(false)
            }
        }
    }

    /// History entries, newest first: `(entries, sort key of the item they came from)`.
    pub async fn allocation_history(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Vec<AllocationEntry>, ApiError> {
        let (pk, _) = keys::allotment(t, id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :h)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":h", s("H#"));
        let mut out = Vec::new();
        for item in self.query_all("allocation_history", query).await? {
            let entries: Vec<AllocationEntry> = serde_json::from_str(get_s(&item, "doc")?)
                .map_err(|e| ApiError::Internal(format!("stored history: {e}")))?;
            out.extend(entries);
        }
        Ok(out)
    }
}

impl Store {
    /// A page of the allocation history, newest first. `after` is the position a
    /// previous page ended at (`<history sort key>|<entries already taken from it>`).
    pub async fn allocation_history_page(
        &self,
        t: &TenantId,
        id: Uuid,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<AllocationEntry>, Option<String>), ApiError> {
        let invalid = || ApiError::validation("cursor", "is not a cursor issued for this query");
        let (hi, skip) = match after {
            Some(p) => {
                let (sk, idx) = p.split_once('|').ok_or_else(invalid)?;
                (sk.to_string(), idx.parse::<usize>().map_err(|_| invalid())?)
            }
            None => ("H#~".to_string(), 0),
        };
        let (pk, _) = keys::allotment(t, id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s("H#"))
            .expression_attribute_values(":hi", s(hi.clone()));
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = query
                .clone()
                .limit(25)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("allocation_history", e))?;
            for item in resp.items() {
                let sk = get_s(item, keys::SK)?;
                let entries: Vec<AllocationEntry> = serde_json::from_str(get_s(item, "doc")?)
                    .map_err(|e| ApiError::Internal(format!("stored history: {e}")))?;
                let first = if sk == hi { skip } else { 0 };
                for (i, e) in entries.into_iter().enumerate().skip(first) {
                    if out.len() == limit {
                        return Ok((out, Some(format!("{sk}|{i}"))));
                    }
                    out.push(e);
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((out, None)),
            }
        }
    }
}

/// The initial history: one entry per unit type over the whole period.
pub fn initial_entries(record: &AllotmentRecord, grid: &Grid) -> Vec<AllocationEntry> {
    let mut by_unit: BTreeMap<&UnitTypeId, Vec<NightChange>> = BTreeMap::new();
    for ((ut, d), night) in grid {
        by_unit.entry(ut).or_default().push(NightChange {
            date: *d,
            previous_quantity: 0,
            quantity: night.allocated,
        });
    }
    by_unit
        .into_iter()
        .filter_map(|(ut, nights)| {
            AllocationEntry::new(
                record.allotment_id,
                ut,
                nights,
                Some("initial allocation".into()),
                record.created_at,
            )
        })
        .collect()
}

/// Filters of `GET /v1/allotments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllotmentFilter {
    pub status: Option<Status>,
    pub allotment_type: Option<crate::domain::allotment::AllotmentType>,
    pub channel_type: Option<crate::domain::allotment::ChannelType>,
    /// Keep allotments whose period overlaps `[from, to]`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Store {
    /// A page of an establishment's allotments ordered by `periodFrom`, then id,
    /// starting after `after` (the GSI1 sort key of the last one seen). Returns the
    /// page and, when more may follow, the position to continue from.
    pub async fn list_allotments(
        &self,
        t: &TenantId,
        est: Uuid,
        filter: &AllotmentFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<AllotmentRecord>, Option<String>), ApiError> {
        let (gpk, _) = keys::allotment_index(t, est, NaiveDate::MIN, Uuid::nil());
        let mut conditions = Vec::new();
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", s(gpk.clone()));
        let mut key_condition = "#pk = :pk".to_string();
        if let Some(to) = filter.to {
            // periodFrom <= to: sort keys start with periodFrom.
            let bound = to.succ_opt().unwrap_or(to).to_string();
            key_condition.push_str(" AND #sk < :hi");
            query = query
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":hi", s(bound));
        }
        if let Some(st) = filter.status {
            conditions.push("#status = :status");
            query = query
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(st.as_str()));
        }
        if let Some(ty) = filter.allotment_type {
            conditions.push("#type = :type");
            query = query
                .expression_attribute_names("#type", "allotmentType")
                .expression_attribute_values(":type", s(ty.as_str()));
        }
        if let Some(ch) = filter.channel_type {
            conditions.push("#channel = :channel");
            query = query
                .expression_attribute_names("#channel", "channelType")
                .expression_attribute_values(":channel", s(ch.as_str()));
        }
        if let Some(from) = filter.from {
            conditions.push("#periodTo >= :from");
            query = query
                .expression_attribute_names("#periodTo", "periodTo")
                .expression_attribute_values(":from", s(from.to_string()));
        }
        query = query.key_condition_expression(key_condition);
        if !conditions.is_empty() {
            query = query.filter_expression(conditions.join(" AND "));
        }
        let mut start = match after {
            Some(position) => {
                let id = position
                    .rsplit_once('#')
                    .and_then(|(_, id)| Uuid::parse_str(id).ok())
                    .ok_or_else(|| {
                        ApiError::validation("cursor", "is not a cursor issued for this query")
                    })?;
                let (pk, sk) = keys::allotment(t, id);
                let mut k = key(pk, sk);
                k.insert(keys::GSI1PK.into(), s(gpk.clone()));
                k.insert(keys::GSI1SK.into(), s(position));
                Some(k)
            }
            None => None,
        };
        let mut out = Vec::new();
        // Bounded work per request: at most 10 index pages of 100 items.
        for _ in 0..10 {
            let resp = query
                .clone()
                .limit(100)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("list_allotments", e))?;
            for item in resp.items() {
                if out.len() == limit {
                    let last: &AllotmentRecord = out.last().expect("limit >= 1");
                    return Ok((
                        out.clone(),
                        Some(keys::allotment_index(t, est, last.period_from, last.allotment_id).1),
                    ));
                }
                out.push(parse_header(item)?);
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((out, None)),
            }
        }
        // Filters skipped many items: hand back a position to continue from.
        let position = match out.last() {
            Some(last) => keys::allotment_index(t, est, last.period_from, last.allotment_id).1,
            None => match &start {
                Some(k) => get_s(k, keys::GSI1SK)?.to_string(),
                None => return Ok((out, None)),
            },
        };
        Ok((out, Some(position)))
    }
}
