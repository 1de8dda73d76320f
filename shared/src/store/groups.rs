//! Capacity groups: header, night grid (`n.<unit>.<dd>` = `{s shared, u used,
//! v available, r released, ra}`), a name item that makes names unique per
//! establishment, and one membership item per member allotment.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::NaiveDate;
use uuid::Uuid;

use super::attr::{get_n, get_s, key, n, s, Item};
use super::pool::NightDelta;
use super::{keys, Store, TxOutcome};
use crate::domain::allotment::MAX_TRANSACTION_ITEMS;
use crate::domain::dates::{day_key, Month};
use crate::domain::error::{ApiError, FieldIssue};
use crate::domain::group::{GroupNight, GroupRecord};
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::inventory::NightHold;

/// A group's nights, by unit type then date.
pub type GroupGrid = BTreeMap<(UnitTypeId, NaiveDate), GroupNight>;

fn build_err(what: &'static str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> ApiError {
    move |e| ApiError::Internal(format!("{what}: {e}"))
}

fn put(item: Item, condition: Option<&str>, table: &str) -> Result<TransactWriteItem, ApiError> {
    let p = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_string))
        .build()
        .map_err(build_err("put"))?;
    Ok(TransactWriteItem::builder().put(p).build())
}

pub(crate) fn header_item(
    t: &TenantId,
    g: &GroupRecord,
    active_draws: i64,
) -> Result<Item, ApiError> {
    let (pk, sk) = keys::group(t, g.capacity_group_id);
    let (gpk, gsk) = keys::group_index(t, g.establishment_id, &g.name, g.capacity_group_id);
    let mut item = key(pk, sk);
    item.insert(keys::GSI1PK.into(), s(gpk));
    item.insert(keys::GSI1SK.into(), s(gsk));
    item.insert("version".into(), n(g.version));
    item.insert("activeDraws".into(), n(active_draws));
    let doc = serde_json::to_string(g).map_err(|e| ApiError::Internal(format!("group: {e}")))?;
    item.insert("doc".into(), s(doc));
    if let Some((rpk, rsk)) = super::releases::group_index_keys(g) {
        item.insert(super::releases::GSI2PK.into(), s(rpk));
        item.insert(super::releases::GSI2SK.into(), s(rsk));
    }
    Ok(item)
}

fn parse_header(item: &Item) -> Result<(GroupRecord, i64), ApiError> {
    let mut g: GroupRecord = serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| ApiError::Internal(format!("stored group: {e}")))?;
    g.version = get_n(item, "version")?;
    Ok((g, get_n(item, "activeDraws").unwrap_or(0)))
}

/// A loaded group: record, nights, and how many active pickups draw on it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedGroup {
    pub record: GroupRecord,
    pub grid: GroupGrid,
    pub active_draws: i64,
}

impl Store {
    fn group_grid_puts(
        &self,
        t: &TenantId,
        id: Uuid,
        grid: &GroupGrid,
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut months: BTreeMap<Month, HashMap<String, HashMap<String, AttributeValue>>> =
            BTreeMap::new();
        for ((ut, d), night) in grid {
            months
                .entry(Month::of(*d))
                .or_default()
                .entry(ut.to_string())
                .or_default()
                .insert(day_key(*d), super::grid::NightCodec::encode(night));
        }
        months
            .into_iter()
            .map(|(month, units)| {
                let (pk, sk) = keys::group_grid(t, id, month);
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
                put(item, None, self.table())
            })
            .collect()
    }

    fn membership_put(
        &self,
        t: &TenantId,
        allotment: Uuid,
        group: Uuid,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::membership(t, allotment);
        let mut item = key(pk, sk);
        item.insert("groupId".into(), s(group.to_string()));
        put(item, Some("attribute_not_exists(PK)"), self.table())
    }

    /// Creates a group: its rooms from the pool, its name, its members' claims, all in
    /// one transaction. `NAME_TAKEN`, `INSUFFICIENT_CAPACITY` (every short night), or a
    /// `VALIDATION_ERROR` naming a member another group claimed meanwhile.
    pub async fn create_group(
        &self,
        t: &TenantId,
        g: &GroupRecord,
        grid: &GroupGrid,
    ) -> Result<(), ApiError> {
        let holds: Vec<NightHold> = grid
            .iter()
            .map(|((ut, d), n)| NightHold {
                unit_type_id: ut.clone(),
                date: *d,
                quantity: n.shared,
            })
            .collect();
        let mut items = vec![
            put(
                header_item(t, g, 0)?,
                Some("attribute_not_exists(PK)"),
                self.table(),
            )?,
            {
                let (pk, sk) = keys::group_name(t, g.establishment_id, &g.name);
                let mut item = key(pk, sk);
                item.insert("groupId".into(), s(g.capacity_group_id.to_string()));
                put(item, Some("attribute_not_exists(PK)"), self.table())?
            },
        ];
        items.extend(self.group_grid_puts(t, g.capacity_group_id, grid)?);
        items.push(self.establishment_holds(t, g.establishment_id, 1)?);
        for a in &g.allotment_ids {
            items.push(self.membership_put(t, *a, g.capacity_group_id)?);
        }
        items.extend(self.pool_updates(
            t,
            g.establishment_id,
            holds.iter().map(|h| {
                (
                    h.unit_type_id.clone(),
                    NightDelta::allot(h.date, h.quantity),
                )
            }),
        )?);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::validation(
                "allotmentIds",
                "this group (its unit types × months and its members) does not fit one transaction; add members with PATCH",
            ));
        }
        match self.transact(items).await? {
            TxOutcome::Done => Ok(()),
            TxOutcome::ConditionFailed => {
                if self
                    .get(
                        "group_name",
                        keys::group_name(t, g.establishment_id, &g.name),
                    )
                    .await?
                    .is_some()
                {
                    return Err(ApiError::NameTaken);
                }
                let short = self.short_nights(t, g.establishment_id, &holds).await?;
                if !short.is_empty() {
                    return Err(ApiError::InsufficientCapacity(short));
                }
                let mut issues = Vec::new();
                for (i, a) in g.allotment_ids.iter().enumerate() {
                    if self
                        .get("membership", keys::membership(t, *a))
                        .await?
                        .is_some()
                    {
                        issues.push(FieldIssue::new(
                            format!("allotmentIds[{i}]"),
                            "already belongs to a capacity group",
                        ));
                    }
                }
                if issues.is_empty() {
                    Err(ApiError::Unavailable("create_group: contention".into()))
                } else {
                    Err(ApiError::Validation(issues))
                }
            }
        }
    }

    pub async fn load_group(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<LoadedGroup>, ApiError> {
        let (pk, _) = keys::group(t, id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(pk));
        let mut header = None;
        let mut grid = GroupGrid::new();
        for item in self.query_all("load_group", query).await? {
            match get_s(&item, keys::SK)? {
                "G" => header = Some(parse_header(&item)?),
                sk if sk.starts_with("M#") => super::grid::decode_month(&item, &mut grid)?,
                _ => {}
            }
        }
        Ok(header.map(|(record, active_draws)| LoadedGroup {
            record,
            grid,
            active_draws,
        }))
    }

    pub async fn require_group(&self, t: &TenantId, id: Uuid) -> Result<LoadedGroup, ApiError> {
        self.load_group(t, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such capacity group".into()))
    }

    /// The group an allotment belongs to, if any.
    pub async fn group_of(&self, t: &TenantId, allotment: Uuid) -> Result<Option<Uuid>, ApiError> {
        let item = self
            .get("membership", keys::membership(t, allotment))
            .await?;
        Ok(item.and_then(|i| {
            i.get("groupId")
                .and_then(|v| v.as_s().ok())
                .and_then(|g| Uuid::parse_str(g).ok())
        }))
    }

    /// Deletes a group no pickup draws on: unused rooms back to the pool, its name,
    /// nights and member claims removed. `Ok(false)` if it changed meanwhile.
    pub async fn delete_group(&self, t: &TenantId, g: &LoadedGroup) -> Result<bool, ApiError> {
        let id = g.record.capacity_group_id;
        let del = |pk: String,
                   sk: String,
                   condition: Option<(&str, i64)>|
         -> Result<TransactWriteItem, ApiError> {
            let mut d = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key(pk, sk)));
            if let Some((expr, v)) = condition {
                d = d
                    .condition_expression(expr)
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_names("#d", "activeDraws")
                    .expression_attribute_values(":v", n(v))
                    .expression_attribute_values(":zero", n(0));
            }
            Ok(TransactWriteItem::builder()
                .delete(d.build().map_err(build_err("delete"))?)
                .build())
        };
        let (pk, sk) = keys::group(t, id);
        let mut items = vec![del(
            pk,
            sk,
            Some(("#v = :v AND #d = :zero", g.record.version)),
        )?];
        let (npk, nsk) = keys::group_name(t, g.record.establishment_id, &g.record.name);
        items.push(del(npk, nsk, None)?);
        let months: std::collections::BTreeSet<Month> =
            g.grid.keys().map(|(_, d)| Month::of(*d)).collect();
        for m in months {
            let (mpk, msk) = keys::group_grid(t, id, m);
            items.push(del(mpk, msk, None)?);
        }
        for a in &g.record.allotment_ids {
            let (apk, ask) = keys::membership(t, *a);
            items.push(del(apk, ask, None)?);
        }
        items.push(self.establishment_holds(t, g.record.establishment_id, -1)?);
        items.extend(
            self.pool_updates(
                t,
                g.record.establishment_id,
                g.grid
                    .iter()
                    .map(|((ut, d), n)| (ut.clone(), NightDelta::allot(*d, -n.available()))),
            )?,
        );
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal("group delete over 100 items".into()));
        }
        Ok(self.transact(items).await? == TxOutcome::Done)
    }

    /// Releases the group's nights up to `through`: each night keeps only its used
    /// rooms, the unused go back to the pool. `Ok(false)` if it changed meanwhile.
    pub async fn release_group(
        &self,
        t: &TenantId,
        g: &LoadedGroup,
        through: NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, ApiError> {
        let mut next = g.record.clone();
        next.version += 1;
        next.updated_at = now;
        next.released_through = Some(
            through
                .min(next.period_to)
                .max(g.record.released_through.unwrap_or(through)),
        );
        let mut released = GroupGrid::new();
        let mut returns = Vec::new();
        for ((ut, d), night) in &g.grid {
            if *d > through || g.record.released_through.is_some_and(|r| *d <= r) {
                continue;
            }
            released.insert(
                (ut.clone(), *d),
                GroupNight {
                    shared: night.used,
                    used: night.used,
                },
            );
            returns.push((ut.clone(), NightDelta::allot(*d, -night.available())));
        }
        let header = Put::builder()
            .table_name(self.table())
            .set_item(Some(header_item(t, &next, g.active_draws)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(g.record.version))
            .build()
            .map_err(build_err("group header"))?;
        let mut items = vec![TransactWriteItem::builder().put(header).build()];
        // Whole months are rewritten from what was read (the version guards them).
        let mut merged = g.grid.clone();
        merged.extend(released);
        let months: std::collections::BTreeSet<Month> =
            returns.iter().map(|(_, d)| Month::of(d.date)).collect();
        let touched: GroupGrid = merged
            .into_iter()
            .filter(|((_, d), _)| months.contains(&Month::of(*d)))
            .collect();
        items.extend(self.group_grid_puts(t, next.capacity_group_id, &touched)?);
        items.extend(self.pool_updates(t, next.establishment_id, returns)?);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal("group release over 100 items".into()));
        }
        Ok(self.transact(items).await? == TxOutcome::Done)
    }

    /// A page of an establishment's groups ordered by name, after the position `after`.
    pub async fn list_groups(
        &self,
        t: &TenantId,
        est: Uuid,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Uuid>, Option<String>), ApiError> {
        let (gpk, _) = keys::group_index(t, est, "", Uuid::nil());
        let mut q = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", s(gpk))
            .limit(limit as i32 + 1);
        q = match after {
            Some(pos) => q
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":after", s(pos)),
            None => q.key_condition_expression("#pk = :pk"),
        };
        let resp = q
            .send()
            .await
            .map_err(|e| super::sdk_error("list_groups", e))?;
        let mut out = Vec::new();
        let mut last = None;
        for item in resp.items() {
            if out.len() == limit {
                return Ok((out, last));
            }
            let sk = get_s(item, keys::GSI1SK)?;
            let id = sk
                .rsplit_once('#')
                .and_then(|(_, id)| Uuid::parse_str(id).ok())
                .ok_or_else(|| ApiError::Internal("group index key".into()))?;
            out.push(id);
            last = Some(sk.to_string());
        }
        Ok((out, None))
    }
}

impl Store {
    /// Applies a planned group change in one transaction: header (version), name
    /// items, resized nights with their pool rooms, member claims. `Ok(false)` if the
    /// group changed meanwhile; `NAME_TAKEN`, `INSUFFICIENT_CAPACITY` or a
    /// `VALIDATION_ERROR` naming a member claimed elsewhere when that is why.
    pub async fn update_group(
        &self,
        t: &TenantId,
        g: &LoadedGroup,
        change: &crate::domain::group::GroupChange,
    ) -> Result<bool, ApiError> {
        let id = g.record.capacity_group_id;
        let est = g.record.establishment_id;
        let header = Put::builder()
            .table_name(self.table())
            .set_item(Some(header_item(t, &change.next, g.active_draws)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(g.record.version))
            .build()
            .map_err(build_err("group header"))?;
        let mut items = vec![TransactWriteItem::builder().put(header).build()];
        let renamed = change.next.name != g.record.name;
        if renamed {
            let (opk, osk) = keys::group_name(t, est, &g.record.name);
            let d = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key(opk, osk)))
                .build()
                .map_err(build_err("name"))?;
            items.push(TransactWriteItem::builder().delete(d).build());
            let (npk, nsk) = keys::group_name(t, est, &change.next.name);
            let mut item = key(npk, nsk);
            item.insert("groupId".into(), s(id.to_string()));
            items.push(put(item, Some("attribute_not_exists(PK)"), self.table())?);
        }
        if !change.nights.is_empty() {
            // Whole months are rewritten from what was read (the version guards them).
            let months: std::collections::BTreeSet<Month> =
                change.nights.keys().map(|(_, d)| Month::of(*d)).collect();
            let mut merged = g.grid.clone();
            merged.extend(change.nights.iter().map(|(k, v)| (k.clone(), *v)));
            let touched: GroupGrid = merged
                .into_iter()
                .filter(|((_, d), _)| months.contains(&Month::of(*d)))
                .collect();
            items.extend(self.group_grid_puts(t, id, &touched)?);
            items.extend(
                self.pool_updates(
                    t,
                    est,
                    change
                        .pool
                        .iter()
                        .map(|(ut, d, q)| (ut.clone(), NightDelta::allot(*d, *q))),
                )?,
            );
        }
        for a in &change.added {
            items.push(self.membership_put(t, *a, id)?);
        }
        for a in &change.removed {
            let (pk, sk) = keys::membership(t, *a);
            let d = Delete::builder()
                .table_name(self.table())
                .set_key(Some(key(pk, sk)))
                .condition_expression("groupId = :g")
                .expression_attribute_values(":g", s(id.to_string()))
                .build()
                .map_err(build_err("membership"))?;
            items.push(TransactWriteItem::builder().delete(d).build());
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::validation(
                "allotmentIds",
                "this change does not fit one transaction: change fewer members or unit types at a time",
            ));
        }
        match self.transact(items).await? {
            TxOutcome::Done => Ok(true),
            TxOutcome::ConditionFailed => {
                let current = self.load_group(t, id).await?;
                if current.as_ref().map(|c| c.record.version) != Some(g.record.version) {
                    return Ok(false);
                }
                if renamed
                    && self
                        .get("group_name", keys::group_name(t, est, &change.next.name))
                        .await?
                        .is_some()
                {
                    return Err(ApiError::NameTaken);
                }
                let holds: Vec<NightHold> = change
                    .pool
                    .iter()
                    .map(|(ut, d, q)| NightHold {
                        unit_type_id: ut.clone(),
                        date: *d,
                        quantity: *q,
                    })
                    .collect();
                let short = self.short_nights(t, est, &holds).await?;
                if !short.is_empty() {
                    return Err(ApiError::InsufficientCapacity(short));
                }
                let mut issues = Vec::new();
                for (i, a) in change.next.allotment_ids.iter().enumerate() {
                    if change.added.contains(a)
                        && self
                            .get("membership", keys::membership(t, *a))
                            .await?
                            .is_some()
                    {
                        issues.push(FieldIssue::new(
                            format!("allotmentIds[{i}]"),
                            "already belongs to a capacity group",
                        ));
                    }
                }
                if issues.is_empty() {
                    Ok(false)
                } else {
                    Err(ApiError::Validation(issues))
                }
            }
        }
    }
}
