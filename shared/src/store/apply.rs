//! Plans to transactions: every [`Change`] of a [`Plan`] becomes its item(s) — one
//! per record, one per grid month, one per pool bucket (unit type × month) — and the
//! whole plan is ONE `TransactWriteItems`, checked here against the 100-item limit.
//! The mapping decides nothing: the guards and deltas are the plan's; the conditions
//! are what those guards and deltas mean (see `domain::plan`).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::Datelike;
use uuid::Uuid;

use super::attr::{key, n, s};
use super::expr::{self, Expr};
use super::{grid, keys, Store, TxResult};
use crate::domain::dates::{day_key, Month};
use crate::domain::error::ApiError;
use crate::domain::establishment::format_instant;
use crate::domain::idempotency::Recorded;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::plan::{
    Change, EstablishmentGuard, GridDelta, GridStamp, GroupDelta, Guard, PickupGuard, Plan,
    PoolDelta,
};

/// At most this many items in one transaction (DynamoDB's limit).
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// How applying a plan ended (a store failure is an `Err`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Every change committed.
    Done,
    /// A condition was false: nothing was written.
    Refused,
    /// The plan's idempotency key is taken: nothing was written; this is its record.
    KeyTaken(Recorded),
}

/// How applying a merged plan of several parts ended (see [`Store::apply_merged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliedParts {
    Done,
    /// A condition was false: nothing was written. The positions of the plan's changes
    /// whose condition DynamoDB named (its `CancellationReasons`).
    Refused(Vec<usize>),
}

impl Store {
    /// Applies a plan merged of several parts (`domain::plan::merge`) as one
    /// conditional transaction, saying which changes were refused, so the caller can
    /// tell the parts that moved from those that did not.
    pub async fn apply_merged(&self, t: &TenantId, plan: &Plan) -> Result<AppliedParts, ApiError> {
        let item = crate::domain::event::new_item_id();
        let (items, changes) = self.items(t, plan, item)?;
        check_size(items.len())?;
        if items.is_empty() {
            return Ok(AppliedParts::Done);
        }
        Ok(match self.transact(items).await? {
            TxResult::Done => AppliedParts::Done,
            TxResult::ConditionFailed(failed) => {
                let mut refused: Vec<usize> = failed
                    .iter()
                    .filter_map(|(item, _)| changes.get(*item).copied())
                    .collect();
                refused.dedup();
                AppliedParts::Refused(refused)
            }
        })
    }

    /// Applies a plan as one conditional transaction: all of it, or (on a false
    /// condition) nothing.
    pub async fn apply(&self, t: &TenantId, plan: &Plan) -> Result<Applied, ApiError> {
        self.apply_with_item_id(t, plan, crate::domain::event::new_item_id())
            .await
    }

    /// [`Self::apply`], its events written under the item id `item` (a UUIDv7 of now:
    /// the feed's order; a test backdates it to play a transaction that commits late).
    pub async fn apply_with_item_id(
        &self,
        t: &TenantId,
        plan: &Plan,
        item: Uuid,
    ) -> Result<Applied, ApiError> {
        if let Some(steps) = crate::domain::steps::split(plan, MAX_TRANSACTION_ITEMS)? {
            return self.apply_steps(t, plan, steps, item).await;
        }
        let items = self.plan_items(t, plan, item)?;
        if items.is_empty() {
            return Ok(Applied::Done);
        }
        let last = items.len() - 1;
        let failed = match self.transact(items).await? {
            TxResult::Done => return Ok(Applied::Done),
            TxResult::ConditionFailed(failed) => failed,
        };
        self.refused(t, plan, last, failed).await
    }

    /// What a refused transaction means for `plan`: `KeyTaken` when its idempotency
    /// record (the plan's last change, the transaction's item `last`) was refused, else
    /// `Refused`.
    pub(crate) async fn refused(
        &self,
        t: &TenantId,
        plan: &Plan,
        last: usize,
        failed: Vec<(usize, Option<super::attr::Item>)>,
    ) -> Result<Applied, ApiError> {
        let Some(Change::Idempotency { intent, .. }) = plan.changes.last() else {
            return Ok(Applied::Refused);
        };
        let Some((_, old)) = failed.into_iter().find(|(i, _)| *i == last) else {
            return Ok(Applied::Refused);
        };
        let recorded = match old {
            Some(item) => Some(super::idempotency::parse_record(&item)?),
            None => self.idempotency_record(t, &intent.key).await?,
        };
        Ok(match recorded {
            Some(r) => Applied::KeyTaken(r),
            // Gone since (expired and swept): the next attempt takes the key.
            None => Applied::Refused,
        })
    }

    /// How many items a plan's transaction holds.
    #[cfg(test)]
    fn plan_size(&self, t: &TenantId, plan: &Plan) -> Result<usize, ApiError> {
        let item = crate::domain::event::new_item_id();
        Ok(self.items(t, plan, item)?.0.len())
    }

    fn plan_items(
        &self,
        t: &TenantId,
        plan: &Plan,
        item: Uuid,
    ) -> Result<Vec<TransactWriteItem>, ApiError> {
        let (items, _) = self.items(t, plan, item)?;
        check_size(items.len())?;
        Ok(items)
    }

    /// The items of a plan, and for each the position of the change it came from.
    /// The events of each establishment go in one item, where its first event is
    /// (the first establishment's under `event_item`, the others under new ids).
    pub(crate) fn items(
        &self,
        t: &TenantId,
        plan: &Plan,
        event_item: Uuid,
    ) -> Result<(Vec<TransactWriteItem>, Vec<usize>), ApiError> {
        let table = self.table();
        let mut items = Vec::new();
        let mut changes = Vec::new();
        let mut feeds: Vec<Uuid> = Vec::new();
        for (position, change) in plan.changes.iter().enumerate() {
            changes.resize(items.len(), position.saturating_sub(1));
            match change {
                Change::Event(e) if !feeds.contains(&e.establishment_id) => {
                    let est = e.establishment_id;
                    let events: Vec<_> = plan
                        .events()
                        .filter(|e| e.establishment_id == est)
                        .collect();
                    let id = match feeds.is_empty() {
                        true => event_item,
                        false => crate::domain::event::new_item_id(),
                    };
                    items.push(super::events::events_item(table, t, &events, id)?);
                    feeds.push(est);
                }
                Change::Event(_) => {}
                Change::Allotment { record, guard } => {
                    let item = super::allotments::header_item(t, record)?;
                    items.push(guarded_put(table, item, *guard)?);
                }
                Change::AllotmentNights {
                    allotment_id,
                    months,
                    stamp,
                } => {
                    let at = |m| keys::allotment_grid(t, *allotment_id, m);
                    items.extend(month_items(table, months, at, Some(stamp))?);
                }
                Change::AllotmentNightDeltas {
                    allotment_id,
                    unit,
                    nights,
                    active_pickups,
                } => {
                    let at = |m| keys::allotment_grid(t, *allotment_id, m);
                    let by_month = per_month(nights, |d| d.date);
                    let first = by_month.keys().next().copied();
                    items.extend(delta_items(table, by_month, at, |month, d| {
                        let counted = (Some(month) == first).then_some(*active_pickups);
                        grid_deltas(unit, d, counted)
                    })?);
                }
                Change::History {
                    allotment_id,
                    version,
                    part,
                    entries,
                } => {
                    let (pk, sk) = keys::allotment_history_part(t, *allotment_id, *version, *part);
                    let mut item = key(pk, sk);
                    let doc = super::allotments::history_doc(entries)?;
                    item.insert("doc".into(), s(doc));
                    items.push(expr::put_new(table, item)?);
                }
                Change::Pool {
                    establishment_id,
                    holder,
                    nights,
                } => {
                    let mut buckets: BTreeMap<(&UnitTypeId, Month), Vec<&PoolDelta>> =
                        BTreeMap::new();
                    for d in nights {
                        if d.allotted != 0 || d.picked_up != 0 {
                            buckets
                                .entry((&d.unit, Month::of(d.date)))
                                .or_default()
                                .push(d);
                        }
                    }
                    for ((unit, month), deltas) in buckets {
                        let (pk, sk) = keys::pool(t, *establishment_id, unit, month);
                        let mut e = pool_deltas(&deltas);
                        if let Some(holder) =
                            holder.filter(|_| deltas.iter().any(|d| d.allotted > 0))
                        {
                            let al = e.name(super::pool::HOLDERS);
                            e.add_member(&al, &holder.to_string());
                        }
                        items.push(e.update(table, key(pk, sk))?);
                    }
                }
                Change::Capacity {
                    establishment_id,
                    unit,
                    month,
                    nights,
                    capacity,
                    new_bucket,
                } => {
                    let (pk, sk) = keys::pool(t, *establishment_id, unit, *month);
                    items.push(if *new_bucket {
                        expr::put_new(
                            table,
                            new_bucket_item(pk, sk, unit, *month, nights, *capacity),
                        )?
                    } else {
                        capacity_update(nights, *capacity).update(table, key(pk, sk))?
                    });
                }
                Change::Establishment {
                    record,
                    guard,
                    version,
                } => {
                    let (pk, sk) = keys::establishment(t, record.establishment_id);
                    let mut e = Expr::new();
                    for (name, value) in [
                        ("name", s(&record.name)),
                        ("timeZone", s(record.time_zone.name())),
                        ("updatedAt", s(format_instant(&record.updated_at))),
                    ] {
                        let p = e.name(name);
                        e.set_value(&p, value);
                    }
                    let created = e.name("createdAt");
                    let at = e.value(s(format_instant(&record.created_at)));
                    e.set(&created, &format!("if_not_exists({created}, {at})"));
                    establishment_version(&mut e, *version);
                    match guard {
                        EstablishmentGuard::New => e.require("attribute_not_exists(PK)"),
                        EstablishmentGuard::Exists => e.require("attribute_exists(PK)"),
                        EstablishmentGuard::ExistsWithoutHolds => {
                            let holds = e.name("activeHolds");
                            let zero = e.value(n(0));
                            e.require(format!(
                                "attribute_exists(PK) AND (attribute_not_exists({holds}) OR {holds} <= {zero})"
                            ));
                        }
                    }
                    items.push(e.update(table, key(pk, sk))?);
                }
                Change::EstablishmentHolds {
                    establishment_id,
                    delta,
                } => items.push(establishment_holds(table, t, *establishment_id, *delta)?),
                Change::EstablishmentVersion {
                    establishment_id,
                    version,
                } => {
                    let (pk, sk) = keys::establishment(t, *establishment_id);
                    let mut e = Expr::new();
                    e.require("attribute_exists(PK)");
                    establishment_version(&mut e, *version);
                    items.push(e.update(table, key(pk, sk))?);
                }
                Change::Pickup { pickup, guard } => {
                    let item = super::pickups::pickup_item(t, pickup)?;
                    let mut e = Expr::new();
                    match guard {
                        PickupGuard::New => e.require("attribute_not_exists(PK)"),
                        PickupGuard::Active => {
                            let status = e.name("status");
                            e.require_equal(&status, s("active"));
                        }
                    }
                    items.push(e.put(table, item)?);
                }
                Change::Group {
                    record,
                    active_draws,
                    guard,
                } => {
                    let item = super::groups::header_item(t, record, *active_draws)?;
                    items.push(guarded_put(table, item, *guard)?);
                }
                Change::GroupCounters {
                    group_id,
                    draws,
                    member,
                } => {
                    let (pk, sk) = keys::group(t, *group_id);
                    let mut e = Expr::new();
                    e.require("attribute_exists(PK)");
                    if let Some(member) = member {
                        let members = e.name(super::groups::MEMBERS);
                        let m = e.value(s(member.to_string()));
                        e.require(format!("contains({members}, {m})"));
                    }
                    let version = e.name("version");
                    e.add(&version, 1);
                    let active = e.name("activeDraws");
                    e.add(&active, *draws);
                    items.push(e.update(table, key(pk, sk))?);
                }
                Change::GroupNights { group_id, months } => {
                    items.extend(month_items(
                        table,
                        months,
                        |m| keys::group_grid(t, *group_id, m),
                        None,
                    )?);
                }
                Change::GroupNightDeltas {
                    group_id,
                    unit,
                    nights,
                } => items.extend(delta_items(
                    table,
                    per_month(nights, |d| d.date),
                    |m| keys::group_grid(t, *group_id, m),
                    |_, d| group_deltas(unit, d),
                )?),
                Change::GroupName {
                    establishment_id,
                    name,
                    taken_by,
                } => {
                    let (pk, sk) = keys::group_name(t, *establishment_id, name);
                    items.push(match taken_by {
                        Some(group) => {
                            let mut item = key(pk, sk);
                            item.insert("groupId".into(), s(group.to_string()));
                            expr::put_new(table, item)?
                        }
                        None => Expr::new().delete(table, key(pk, sk))?,
                    });
                }
                Change::Membership {
                    allotment_id,
                    group_id,
                    claim,
                } => {
                    let (pk, sk) = keys::membership(t, *allotment_id);
                    items.push(if *claim {
                        let mut item = key(pk, sk);
                        item.insert("groupId".into(), s(group_id.to_string()));
                        expr::put_new(table, item)?
                    } else {
                        let mut e = Expr::new();
                        let g = e.name("groupId");
                        e.require_equal(&g, s(group_id.to_string()));
                        e.delete(table, key(pk, sk))?
                    });
                }
                Change::Idempotency { intent, response } => {
                    items.push(self.idempotency_item(t, intent, response)?);
                }
                Change::DeleteGroup { group_id, version } => {
                    let (pk, sk) = keys::group(t, *group_id);
                    let mut e = Expr::new();
                    expr::require_version(&mut e, *version);
                    items.push(e.delete(table, key(pk, sk))?);
                }
                Change::GroupNightsGone { group_id, months } => {
                    for m in months {
                        let (pk, sk) = keys::group_grid(t, *group_id, *m);
                        items.push(Expr::new().delete(table, key(pk, sk))?);
                    }
                }
            }
        }
        changes.resize(items.len(), plan.changes.len().saturating_sub(1));
        Ok((items, changes))
    }
}

/// The one check of DynamoDB's limit on the items of a transaction.
fn check_size(items: usize) -> Result<(), ApiError> {
    if items > MAX_TRANSACTION_ITEMS {
        return Err(ApiError::Internal(format!(
            "a plan of {items} items does not fit one transaction"
        )));
    }
    Ok(())
}

/// The establishment's count of active holds moved by `delta` (it must exist).
pub(super) fn establishment_holds(
    table: &str,
    t: &TenantId,
    establishment_id: Uuid,
    delta: i64,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::establishment(t, establishment_id);
    let mut e = Expr::new();
    e.require("attribute_exists(PK)");
    let holds = e.name("activeHolds");
    e.add(&holds, delta);
    e.update(table, key(pk, sk))
}

/// Sets an establishment's `version` to `version`, requiring the one before
/// (none stored reads as 0).
fn establishment_version(e: &mut Expr, version: i64) {
    let v = e.name("version");
    if version <= 1 {
        e.require(format!("attribute_not_exists({v})"));
    } else {
        e.require_equal(&v, n(version - 1));
    }
    e.set_value(&v, n(version));
}

/// A record written whole under its guard.
fn guarded_put(
    table: &str,
    item: super::attr::Item,
    guard: Guard,
) -> Result<TransactWriteItem, ApiError> {
    match guard {
        Guard::New => expr::put_new(table, item),
        Guard::Version(v) => {
            let mut e = Expr::new();
            expr::require_version(&mut e, v);
            e.put(table, item)
        }
    }
}

fn per_month<T: Copy>(
    items: &[T],
    date: impl Fn(&T) -> chrono::NaiveDate,
) -> BTreeMap<Month, Vec<T>> {
    let mut out: BTreeMap<Month, Vec<T>> = BTreeMap::new();
    for i in items {
        out.entry(Month::of(date(i))).or_default().push(*i);
    }
    out
}

/// The month items of a grid (allotment or group), each under `at(month)`.
fn month_items<N: grid::NightCodec>(
    table: &str,
    months: &[crate::domain::plan::MonthWrite<N>],
    at: impl Fn(Month) -> (String, String),
    stamp: Option<&GridStamp>,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    months
        .iter()
        .map(|m| {
            let stamp = stamp.map(|s| grid::MonthStamp {
                revision: s.revisions.get(&m.month).copied().unwrap_or(0),
                takes_pickups: s.takes_pickups,
            });
            grid::encode_month(table, at(m.month), m, stamp)
        })
        .collect()
}

/// One update per month of night deltas, each under `at(month)`, of the expression
/// `deltas` builds.
fn delta_items<D>(
    table: &str,
    by_month: BTreeMap<Month, Vec<D>>,
    at: impl Fn(Month) -> (String, String),
    deltas: impl Fn(Month, &[D]) -> Expr,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    by_month
        .into_iter()
        .map(|(month, nights)| {
            let (pk, sk) = at(month);
            deltas(month, &nights).update(table, key(pk, sk))
        })
        .collect()
}

/// Grid counters of one unit type in one month: `pickedUp`, `fromGroup`, `allocated`
/// and `remaining` move together; taking own rooms requires `remaining` to cover them,
/// giving rooms back requires them to be picked up. What the allotment's header used
/// to check, the month checks (see `domain::plan::GridStamp`): taking rooms requires
/// the month open to pickups, every night not read released must still be
/// unreleased; the revision moves, and `active` (the month of the first night) counts
/// the pickup.
fn grid_deltas(unit: &UnitTypeId, deltas: &[GridDelta], active: Option<i64>) -> Expr {
    let mut e = Expr::new();
    let rev = e.name(grid::REVISION);
    e.add(&rev, 1);
    if let Some(active) = active.filter(|a| *a != 0) {
        let ap = e.name(grid::ACTIVE_PICKUPS);
        e.add(&ap, active);
        if active < 0 {
            e.require_at_least(&ap, -active);
        }
    }
    if deltas.iter().any(|d| d.picked_up > 0) {
        let closed = e.name(grid::CLOSED);
        let open = e.value(AttributeValue::Bool(false));
        e.require(format!("({closed} = {open})"));
    }
    for d in deltas {
        let day = day_key(d.date);
        let night = ["n", unit.as_str(), day.as_str()];
        let at = |e: &mut Expr, slot: usize| format!("{}[{slot}]", e.path(&night));
        use grid::slot;
        let (p, g, l, v) = (
            at(&mut e, slot::PICKED_UP),
            at(&mut e, slot::FROM_GROUP),
            at(&mut e, slot::ALLOCATED),
            at(&mut e, slot::REMAINING),
        );
        e.add_to(&p, d.picked_up);
        e.add_to(&g, d.from_group);
        e.add_to(&l, d.allocated);
        e.add_to(&v, d.remaining());
        if d.own() > 0 {
            e.require_at_least(&v, d.own());
        } else if d.picked_up < 0 {
            e.require_at_least(&p, -d.picked_up);
        } else {
            let whole = e.path(&night);
            e.require(format!("attribute_exists({whole})"));
        }
        if !d.released {
            let ra = at(&mut e, slot::RELEASED_AT);
            e.require(format!("attribute_not_exists({ra})"));
        }
    }
    e
}

/// Group counters of one unit type in one month: using rooms requires the group to
/// still have them available.
fn group_deltas(unit: &UnitTypeId, deltas: &[GroupDelta]) -> Expr {
    let mut e = Expr::new();
    e.require("attribute_exists(PK)");
    for d in deltas {
        let day = day_key(d.date);
        let u = e.path(&["n", unit.as_str(), &day, "u"]);
        let sh = e.path(&["n", unit.as_str(), &day, "s"]);
        let v = e.path(&["n", unit.as_str(), &day, "v"]);
        e.add_to(&u, d.used);
        e.add_to(&sh, d.shared);
        e.add_to(&v, d.shared - d.used);
        if d.used > 0 {
            e.require_at_least(&v, d.used);
        }
    }
    e
}

/// Pool counters of one bucket: taking rooms requires `available` to cover them,
/// returning requires them to be allotted.
fn pool_deltas(deltas: &[&PoolDelta]) -> Expr {
    let mut e = Expr::new();
    let mut checked = false;
    for d in deltas {
        let day = day_key(d.date);
        let (a, v, p) = (
            e.path(&["n", &day, "a"]),
            e.path(&["n", &day, "v"]),
            e.path(&["n", &day, "p"]),
        );
        if d.allotted > 0 {
            e.require_at_least(&v, d.allotted);
            checked = true;
        } else if d.allotted < 0 {
            e.require_at_least(&a, -d.allotted);
            checked = true;
        }
        e.add_to(&a, d.allotted);
        e.add_to(&v, -d.allotted);
        e.add_to(&p, d.picked_up);
    }
    if !checked {
        let nights = e.name("n");
        e.require(format!("attribute_exists({nights})"));
    }
    e
}

/// Capacity of some nights of an existing bucket, never below what is allotted.
fn capacity_update(nights: &[chrono::NaiveDate], capacity: i64) -> Expr {
    let mut e = Expr::new();
    let all = e.name("n");
    e.require(format!("attribute_exists({all})"));
    let c = e.value(n(capacity));
    for d in nights {
        let day = day_key(*d);
        let (nc, na, nv) = (
            e.path(&["n", &day, "c"]),
            e.path(&["n", &day, "a"]),
            e.path(&["n", &day, "v"]),
        );
        e.require(format!("{na} <= {c}"));
        e.set(&nc, &c);
        e.set(&nv, &format!("{c} - {na}"));
    }
    e
}

/// A new bucket: every night of the month at zero but `nights` at `capacity`.
fn new_bucket_item(
    pk: String,
    sk: String,
    unit: &UnitTypeId,
    month: Month,
    nights: &[chrono::NaiveDate],
    capacity: i64,
) -> super::attr::Item {
    let night = |c: i64| {
        AttributeValue::M(HashMap::from([
            ("c".to_string(), n(c)),
            ("a".to_string(), n(0)),
            ("p".to_string(), n(0)),
            ("v".to_string(), n(c)),
        ]))
    };
    let days: HashMap<String, AttributeValue> = (1..=month.days())
        .map(|d| {
            let set = nights.iter().any(|n| n.day() == d);
            (format!("{d:02}"), night(if set { capacity } else { 0 }))
        })
        .collect();
    let mut item = key(pk, sk);
    item.insert("n".into(), AttributeValue::M(days));
    item.insert("unitTypeId".into(), s(unit.as_str()));
    item.insert("month".into(), s(month.key()));
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::group::{self, Candidates};
    use crate::domain::pickup::{self, PickupState};

    /// `Plan::items` (what the domain counts to stay within one transaction) is what
    /// `apply` builds, for plans with grids, deltas, pools and deletes across months.
    #[test]
    fn the_domain_counts_the_items_apply_builds() {
        use crate::domain::pickup::fixtures as p;
        let store = Store::local("http://127.0.0.1:9", "t");
        let t = TenantId::parse("acme").unwrap();
        let (record, grid) = p::allotment();
        let take = |arrival: &str, departure: &str, quantity: i64, state: &PickupState| {
            pickup::plan_pickup(
                &p::body("dbl", arrival, departure, quantity),
                p::ALLOTMENT,
                p::PICKUP,
                state,
                p::now(),
            )
            .unwrap()
        };
        let blind = PickupState::Blind {
            establishment_id: p::ESTABLISHMENT,
        };
        let mut busy = grid.clone();
        for n in busy.values_mut() {
            n.picked_up = 9;
        }
        let drawing = PickupState::Loaded {
            record: Box::new(record.clone()),
            grid: busy,
            group: Some(Box::new(p::group(3, 0))),
        };
        let drew = take("2026-09-02", "2026-09-05", 3, &drawing);
        let mut plans = vec![
            take("2026-08-30", "2026-09-03", 2, &blind).plan,
            drew.plan.clone(),
            pickup::plan_pickup_cancel(
                &record,
                &drew.pickup,
                Some(&p::group(3, 0).record),
                p::now(),
            )
            .unwrap()
            .plan,
        ];
        let g = group::fixtures::loaded(0);
        let new = group::fixtures::new_group(&[]);
        plans.push(
            group::plan_group_creation(
                &new,
                g.record.capacity_group_id,
                chrono_tz::Europe::Paris,
                &Candidates::new(),
                None,
                p::now(),
            )
            .unwrap()
            .plan,
        );
        let resize = group::GroupPatch {
            name: Some("Renamed".into()),
            resize: Some(vec![(p::u("dbl"), 2), (p::u("sgl"), 1)]),
            members: Some(vec![]),
        };
        plans.push(
            group::plan_group_patch(&g, &resize, None, &Candidates::new(), None, p::now())
                .unwrap()
                .plan,
        );
        let cutoff = chrono::DateTime::parse_from_rfc3339("2026-08-16T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        plans.push(group::plan_group_release(&g, cutoff).unwrap().plan);
        plans.push(group::plan_group_deletion(&g, p::now()).unwrap());
        for plan in plans {
            assert_eq!(
                plan.items(),
                store.plan_size(&t, &plan).unwrap(),
                "{plan:?}"
            );
            // Each item names the change it came from (how a refusal is attributed).
            let (_, changes) = store
                .items(&t, &plan, crate::domain::event::new_item_id())
                .unwrap();
            let mut feeds = Vec::new();
            for (position, change) in plan.changes.iter().enumerate() {
                let of = changes.iter().filter(|c| **c == position).count();
                let want = match change {
                    // An establishment's events: one item, at its first event.
                    Change::Event(e) if !feeds.contains(&e.establishment_id) => {
                        feeds.push(e.establishment_id);
                        1
                    }
                    other => other.items(),
                };
                assert_eq!(of, want, "{change:?}");
            }
        }
    }
}
