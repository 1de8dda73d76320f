//! Pickups: `T#<t>#A#<allotment>` / `P#<pickupId>` (ids are UUIDv7, so the sort key
//! orders pickups by creation). A pickup is one transaction: the pickup item, the
//! header counters, one grid update per month (each night only if enough rooms
//! remain) and the pool's picked-up counters.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::attr::{get_s, key, n, s, Item};
use super::pool::NightDelta;
use super::{keys, Store, TxOutcome};
use crate::domain::allotment::AllotmentRecord;
use crate::domain::dates::{day_key, Month};
use crate::domain::error::ApiError;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::pickup::{NightTake, Pickup, PickupStatus};

fn build_err(what: &'static str) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> ApiError {
    move |e| ApiError::Internal(format!("{what}: {e}"))
}

pub(crate) fn pickup_item(t: &TenantId, p: &Pickup) -> Result<Item, ApiError> {
    let (pk, sk) = keys::pickup(t, p.allotment_id, p.pickup_id);
    let mut item = key(pk, sk);
    item.insert(
        "status".into(),
        s(match p.status {
            PickupStatus::Active => "active",
            PickupStatus::Cancelled => "cancelled",
        }),
    );
    let doc = serde_json::to_string(p).map_err(|e| ApiError::Internal(format!("pickup: {e}")))?;
    item.insert("doc".into(), s(doc));
    Ok(item)
}

fn parse_pickup(item: &Item) -> Result<Pickup, ApiError> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| ApiError::Internal(format!("stored pickup: {e}")))
}

/// How a pickup or its cancel changes one night of the grid.
struct GridDelta {
    date: NaiveDate,
    /// Added to `pickedUp`.
    picked_up: i64,
    /// Added to `fromGroup` (the part of `picked_up` the group supplies).
    from_group: i64,
    /// Added to `allocated`.
    allocated: i64,
}

impl GridDelta {
    /// Own rooms taken (> 0) or given back (< 0).
    fn own(&self) -> i64 {
        self.picked_up - self.from_group
    }
}

impl Store {
    /// The header counters of a pickup or its cancel: `version` always moves, so
    /// every change conditioned on the version sees it.
    fn header_counters(
        &self,
        t: &TenantId,
        allotment_id: Uuid,
        released_through: Option<NaiveDate>,
        active_pickups: i64,
        first_night: Option<NaiveDate>,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::allotment(t, allotment_id);
        let mut u = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .update_expression("ADD #v :one, #p :d")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#p", "activePickups")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":d", n(active_pickups));
        u = match first_night {
            // A pickup: the allotment is still active, contractual, and the nights unreleased.
            Some(first) => u
                .condition_expression(
                    "#status = :active AND #type = :allotment AND (attribute_not_exists(#rt) OR #rt < :first)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#type", "allotmentType")
                .expression_attribute_names("#rt", "releasedThrough")
                .expression_attribute_values(":active", s("active"))
                .expression_attribute_values(":allotment", s("allotment"))
                .expression_attribute_values(":first", s(first.to_string())),
            // A cancel: the nights released are still those that were read.
            None => match released_through {
                Some(rt) => u
                    .condition_expression("#rt = :rt")
                    .expression_attribute_names("#rt", "releasedThrough")
                    .expression_attribute_values(":rt", s(rt.to_string())),
                None => u
                    .condition_expression("attribute_exists(PK) AND attribute_not_exists(#rt)")
                    .expression_attribute_names("#rt", "releasedThrough"),
            },
        };
        Ok(TransactWriteItem::builder()
            .update(u.build().map_err(build_err("header counters"))?)
            .build())
    }

    /// Grid updates of one unit type: `pickedUp`, `allocated` and `remaining` move
    /// together; taking rooms is conditioned on `remaining` covering them.
    fn grid_counters(
        &self,
        t: &TenantId,
        allotment: Uuid,
        ut: &UnitTypeId,
        deltas: &[GridDelta],
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut per_month: BTreeMap<Month, Vec<&GridDelta>> = BTreeMap::new();
        for d in deltas {
            per_month.entry(Month::of(d.date)).or_default().push(d);
        }
        let mut items = Vec::new();
        for (month, nights) in per_month {
            let (pk, sk) = keys::allotment_grid(t, allotment, month);
            let mut names = HashMap::from([
                ("#n".to_string(), "n".to_string()),
                ("#u".to_string(), ut.to_string()),
                ("#p".to_string(), "p".to_string()),
            ]);
            let mut values = HashMap::new();
            let mut sets = Vec::new();
            let mut conditions = Vec::new();
            for d in nights {
                let dk = day_key(d.date);
                names.insert(format!("#d{dk}"), dk.clone());
                let night = format!("#n.#u.#d{dk}");
                // remaining own rooms = allocated - (pickedUp - fromGroup)
                let remaining = d.allocated - d.own();
                if d.picked_up != 0 {
                    sets.push(format!("{night}.#p = {night}.#p + :p{dk}"));
                    values.insert(format!(":p{dk}"), n(d.picked_up));
                }
                if d.from_group != 0 {
                    names.insert("#g".into(), "g".into());
                    sets.push(format!("{night}.#g = {night}.#g + :g{dk}"));
                    values.insert(format!(":g{dk}"), n(d.from_group));
                }
                if remaining != 0 {
                    names.insert("#v".into(), "v".into());
                    sets.push(format!("{night}.#v = {night}.#v + :v{dk}"));
                    values.insert(format!(":v{dk}"), n(remaining));
                }
                if d.allocated != 0 {
                    names.insert("#l".into(), "l".into());
                    sets.push(format!("{night}.#l = {night}.#l + :l{dk}"));
                    values.insert(format!(":l{dk}"), n(d.allocated));
                }
                if d.own() > 0 {
                    names.insert("#v".into(), "v".into());
                    values.insert(format!(":o{dk}"), n(d.own()));
                    conditions.push(format!("{night}.#v >= :o{dk}"));
                } else if d.picked_up < 0 {
                    values.insert(format!(":q{dk}"), n(-d.picked_up));
                    conditions.push(format!("{night}.#p >= :q{dk}"));
                } else {
                    conditions.push(format!("attribute_exists({night})"));
                }
            }
            let u = Update::builder()
                .table_name(self.table())
                .set_key(Some(key(pk, sk)))
                .condition_expression(conditions.join(" AND "))
                .update_expression(format!("SET {}", sets.join(", ")))
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(build_err("grid counters"))?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        Ok(items)
    }

    /// Takes the rooms of a planned pickup: its own first, the rest from its capacity
    /// group, all in one transaction. `Ok(false)` if a condition failed (the caller
    /// reloads and says why, or retries).
    ///
    /// Needs nothing read beforehand but the allotment's establishment (the pool's keys):
    /// every rule that keeps a room from being oversold is a condition of the transaction.
    pub async fn create_pickup(
        &self,
        t: &TenantId,
        establishment_id: Uuid,
        pickup: &Pickup,
        takes: &[NightTake],
    ) -> Result<bool, ApiError> {
        let ut = UnitTypeId::parse(&pickup.unit_type_id)
            .map_err(|_| ApiError::Internal("pickup unit".into()))?;
        let nights = pickup.nights();
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(pickup_item(t, pickup)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err("pickup"))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.header_counters(t, pickup.allotment_id, None, 1, Some(nights.from()))?,
        ];
        let deltas: Vec<GridDelta> = takes
            .iter()
            .map(|k| GridDelta {
                date: k.date,
                picked_up: k.own + k.from_group,
                from_group: k.from_group,
                allocated: 0,
            })
            .collect();
        items.extend(self.grid_counters(t, pickup.allotment_id, &ut, &deltas)?);
        if let Some(group) = pickup.capacity_group_id {
            let draws: Vec<(NaiveDate, i64, i64)> = takes
                .iter()
                .filter(|k| k.from_group > 0)
                .map(|k| (k.date, k.from_group, 0))
                .collect();
            if !draws.is_empty() {
                items.push(self.group_counters(t, group, 1)?);
                items.extend(self.group_night_updates(t, group, &ut, &draws)?);
            }
        }
        items.extend(self.pool_updates(
            t,
            establishment_id,
            nights.iter().map(|date| {
                (
                    ut.clone(),
                    NightDelta {
                        date,
                        allotted: 0,
                        picked_up: pickup.quantity,
                    },
                )
            }),
        )?);
        Ok(self.transact(items).await? == TxOutcome::Done)
    }

    /// The group header's counters: `activeDraws` and `version` move with every
    /// pickup that draws on it (or its cancel).
    fn group_counters(
        &self,
        t: &TenantId,
        group: Uuid,
        draws: i64,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::group(t, group);
        let u = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("ADD #v :one, #d :d")
            .expression_attribute_names("#v", "version")
            .expression_attribute_names("#d", "activeDraws")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":d", n(draws))
            .build()
            .map_err(build_err("group counters"))?;
        Ok(TransactWriteItem::builder().update(u).build())
    }

    /// Group nights: `(date, used delta, shared delta)`; using rooms is conditioned
    /// on the group still having them.
    fn group_night_updates(
        &self,
        t: &TenantId,
        group: Uuid,
        ut: &UnitTypeId,
        changes: &[(NaiveDate, i64, i64)],
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut per_month: BTreeMap<Month, Vec<&(NaiveDate, i64, i64)>> = BTreeMap::new();
        for c in changes {
            per_month.entry(Month::of(c.0)).or_default().push(c);
        }
        let mut items = Vec::new();
        for (month, nights) in per_month {
            let (pk, sk) = keys::group_grid(t, group, month);
            let mut names = HashMap::from([
                ("#n".to_string(), "n".to_string()),
                ("#u".to_string(), ut.to_string()),
            ]);
            let mut values = HashMap::new();
            let mut sets = Vec::new();
            let mut conditions = vec!["attribute_exists(PK)".to_string()];
            for (date, used, shared) in nights {
                let dk = day_key(*date);
                names.insert(format!("#d{dk}"), dk.clone());
                let night = format!("#n.#u.#d{dk}");
                let available = shared - used;
                if *used != 0 {
                    names.insert("#used".into(), "u".into());
                    sets.push(format!("{night}.#used = {night}.#used + :u{dk}"));
                    values.insert(format!(":u{dk}"), n(*used));
                }
                if *shared != 0 {
                    names.insert("#s".into(), "s".into());
                    sets.push(format!("{night}.#s = {night}.#s + :s{dk}"));
                    values.insert(format!(":s{dk}"), n(*shared));
                }
                if available != 0 {
                    names.insert("#av".into(), "v".into());
                    sets.push(format!("{night}.#av = {night}.#av + :a{dk}"));
                    values.insert(format!(":a{dk}"), n(available));
                }
                if *used > 0 {
                    names.insert("#av".into(), "v".into());
                    values.insert(format!(":c{dk}"), n(*used));
                    conditions.push(format!("{night}.#av >= :c{dk}"));
                }
            }
            let u = Update::builder()
                .table_name(self.table())
                .set_key(Some(key(pk, sk)))
                .condition_expression(conditions.join(" AND "))
                .update_expression(format!("SET {}", sets.join(", ")))
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(build_err("group nights"))?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        Ok(items)
    }

    /// Cancels an active pickup: each room goes back where it came from — to the
    /// allotment (or its group, for rooms the group supplied) on nights not yet released
    /// there, to the pool on released ones. `Ok(false)` if something moved meanwhile.
    pub async fn cancel_pickup(
        &self,
        t: &TenantId,
        record: &AllotmentRecord,
        pickup: &Pickup,
        group_released_through: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let ut = UnitTypeId::parse(&pickup.unit_type_id)
            .map_err(|_| ApiError::Internal("pickup unit".into()))?;
        let mut cancelled = pickup.clone();
        cancelled.status = PickupStatus::Cancelled;
        cancelled.cancelled_at = Some(now);
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(pickup_item(t, &cancelled)?))
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(build_err("pickup cancel"))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.header_counters(t, record.allotment_id, record.released_through, -1, None)?,
        ];
        let q = pickup.quantity;
        let nights = pickup.nights();
        let mut deltas = Vec::new();
        let mut pool = Vec::new();
        let mut group_changes = Vec::new();
        for date in nights.iter() {
            let drawn = pickup.drawn_on(date);
            let own = q - drawn;
            let released_here = record.is_night_released(date);
            // A released night keeps only its own picked-up rooms: those leave it.
            deltas.push(GridDelta {
                date,
                picked_up: -q,
                from_group: -drawn,
                allocated: if released_here { -own } else { 0 },
            });
            let mut to_pool = if released_here { own } else { 0 };
            if drawn > 0 {
                if group_released_through.is_some_and(|t| date <= t) {
                    // The group's night is released: its room goes to the pool.
                    group_changes.push((date, -drawn, -drawn));
                    to_pool += drawn;
                } else {
                    group_changes.push((date, -drawn, 0));
                }
            }
            pool.push((
                ut.clone(),
                NightDelta {
                    date,
                    allotted: -to_pool,
                    picked_up: -q,
                },
            ));
        }
        items.extend(self.grid_counters(t, record.allotment_id, &ut, &deltas)?);
        if let (Some(group), false) = (pickup.capacity_group_id, group_changes.is_empty()) {
            items.push(self.group_counters(t, group, -1)?);
            items.extend(self.group_night_updates(t, group, &ut, &group_changes)?);
        }
        items.extend(self.pool_updates(t, record.establishment_id, pool)?);
        Ok(self.transact(items).await? == TxOutcome::Done)
    }

    pub async fn get_pickup(
        &self,
        t: &TenantId,
        allotment: Uuid,
        pickup: Uuid,
    ) -> Result<Option<Pickup>, ApiError> {
        self.get("get_pickup", keys::pickup(t, allotment, pickup))
            .await?
            .map(|item| parse_pickup(&item))
            .transpose()
    }

    /// A page of pickups, most recent first, after the pickup id `after`.
    pub async fn list_pickups(
        &self,
        t: &TenantId,
        allotment: Uuid,
        limit: usize,
        after: Option<Uuid>,
    ) -> Result<(Vec<Pickup>, Option<Uuid>), ApiError> {
        let (pk, _) = keys::allotment(t, allotment);
        let hi = match after {
            Some(id) => keys::pickup(t, allotment, id).1,
            None => "P#~".to_string(),
        };
        let resp = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s("P#"))
            .expression_attribute_values(":hi", s(hi.clone()))
            .limit(limit as i32 + 2)
            .send()
            .await
            .map_err(|e| super::sdk_error("list_pickups", e))?;
        let mut out = Vec::new();
        for item in resp.items() {
            if get_s(item, keys::SK)? == hi {
                continue;
            }
            if out.len() == limit {
                let last: &Pickup = out.last().expect("limit >= 1");
                return Ok((out.clone(), Some(last.pickup_id)));
            }
            out.push(parse_pickup(item)?);
        }
        Ok((out, None))
    }
}
