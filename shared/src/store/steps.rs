//! Plans applied in steps (`domain::steps`): too big for one transaction, still all or
//! nothing as seen through the API.
//!
//! Under the allotment's partition:
//! - `STEPS`: the marker of a plan in steps — `state` (`prepare`, `forward`,
//!   `resolving`), `leaseUntil` (epoch seconds: until then its request may still be
//!   running), and a sparse `GSI2` entry (`STEPS` / `<leaseUntil>#<PK>`) by which the
//!   scheduled run finds the markers of requests that died;
//! - `STEP#<n>`: what *resolving* step `n` takes — pool deltas and items to delete —
//!   applied at most once (its transaction deletes the record, on condition it exists).
//!
//! **Prepare** (a creation): the marker; then each step with its record, which holds
//! the step's inverse (rooms given back, items it created deleted); then the commit
//! (on condition the marker is still `prepare`), which deletes the marker. A step
//! refused (a short night) or failed, or a commit refused, *resolves* the plan: the
//! marker becomes `resolving` (no commit can follow), every record is applied (each
//! step undone), the marker goes. **Forward** (rooms given back by a cancel or a
//! release): the commit writes the marker and a record per step (the step itself);
//! the steps then apply them; resolving finishes what is left.
//!
//! A request that dies between steps leaves the marker: the scheduled run
//! ([`Store::sweep_steps`]) resolves every marker whose lease has run out, so pool rooms
//! are never held by an allotment nobody can see for much longer than
//! [`STEPS_LEASE`] plus the schedule's minute.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::apply::{Applied, MAX_TRANSACTION_ITEMS};
use super::attr::{get_s, key, n, s, Item};
use super::expr::{self, Expr};
use super::{keys, releases, Store, TxResult};
use crate::domain::error::ApiError;
use crate::domain::ids::{TenantId, UnitTypeId};
use crate::domain::plan::{Change, Plan, PoolDelta};
use crate::domain::steps::{Steps, StepsKind};

/// How long a request applying steps may still be running: more than any function's
/// timeout, so a marker whose lease ran out belongs to a request that is gone.
pub const STEPS_LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// Steps sent at once.
const PARALLEL_STEPS: usize = 4;
/// The sweeper's partition of `GSI2`.
const SWEEP_PK: &str = "STEPS";

/// What resolving one step takes (stored as its record's `doc`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Resolution {
    /// Pool nights moved: establishment, unit type, date, rooms allotted (+/-).
    pool: Vec<(Uuid, String, chrono::NaiveDate, i64)>,
    /// Items to delete: partition key, sort key, and the group a membership must
    /// still name (a claim given up only if it is still this group's).
    delete: Vec<(String, String, Option<Uuid>)>,
}

impl Resolution {
    /// Undoing a prepare step: its rooms back, its items gone.
    fn undoing(t: &TenantId, step: &Plan) -> Self {
        let mut r = Resolution::default();
        for change in &step.changes {
            match change {
                Change::Pool {
                    establishment_id,
                    nights,
                    ..
                } => r.pool.extend(
                    nights
                        .iter()
                        .map(|d| (*establishment_id, d.unit.to_string(), d.date, -d.allotted)),
                ),
                Change::AllotmentNights {
                    allotment_id,
                    months,
                    ..
                } => r.delete.extend(months.iter().map(|m| {
                    let (pk, sk) = keys::allotment_grid(t, *allotment_id, m.month);
                    (pk, sk, None)
                })),
                Change::GroupNights { group_id, months } => {
                    r.delete.extend(months.iter().map(|m| {
                        let (pk, sk) = keys::group_grid(t, *group_id, m.month);
                        (pk, sk, None)
                    }))
                }
                Change::History {
                    allotment_id,
                    version,
                    part,
                    ..
                } => {
                    let (pk, sk) = keys::allotment_history_part(t, *allotment_id, *version, *part);
                    r.delete.push((pk, sk, None));
                }
                Change::Membership {
                    allotment_id,
                    group_id,
                    claim: true,
                } => {
                    let (pk, sk) = keys::membership(t, *allotment_id);
                    r.delete.push((pk, sk, Some(*group_id)));
                }
                _ => {}
            }
        }
        r
    }

    /// Doing a forward step: its pool nights.
    fn doing(step: &Plan) -> Self {
        let mut r = Resolution::default();
        for change in &step.changes {
            if let Change::Pool {
                establishment_id,
                nights,
                ..
            } = change
            {
                r.pool.extend(
                    nights
                        .iter()
                        .map(|d| (*establishment_id, d.unit.to_string(), d.date, d.allotted)),
                );
            }
        }
        r
    }

    /// As a plan (its deletions aside).
    fn pool_plan(&self) -> Result<Plan, ApiError> {
        let mut by_est: std::collections::BTreeMap<Uuid, Vec<PoolDelta>> = Default::default();
        for (est, unit, date, allotted) in &self.pool {
            let unit = UnitTypeId::parse(unit)
                .map_err(|_| ApiError::Internal("step record: unit type".into()))?;
            by_est
                .entry(*est)
                .or_default()
                .push(PoolDelta::allot(&unit, *date, *allotted));
        }
        let mut plan = Plan::new();
        for (establishment_id, nights) in by_est {
            plan.push(Change::Pool {
                establishment_id,
                holder: None,
                nights,
            });
        }
        Ok(plan)
    }
}

fn step_record(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    n: usize,
    r: &Resolution,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_step(t, owner, n);
    let mut item = key(pk, sk);
    let doc = serde_json::to_string(r).map_err(|e| ApiError::Internal(format!("step: {e}")))?;
    item.insert("doc".into(), s(doc));
    item.insert("expiresAt".into(), n_at(now + chrono::Duration::days(7)));
    expr::put_new(table, item)
}

fn n_at(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp())
}

fn marker_item(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    state: &str,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_steps(t, owner);
    let lease = (now + STEPS_LEASE).timestamp();
    let mut item = key(pk.clone(), sk);
    item.insert("state".into(), s(state));
    item.insert("leaseUntil".into(), n(lease));
    item.insert(releases::GSI2PK.into(), s(SWEEP_PK));
    item.insert(releases::GSI2SK.into(), s(format!("{lease:012}#{pk}")));
    item.insert("expiresAt".into(), n_at(now + chrono::Duration::days(7)));
    expr::put_new(table, item)
}

/// The marker deleted on condition it is still in `state`.
fn marker_delete(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    state: &str,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_steps(t, owner);
    let mut e = Expr::new();
    let st = e.name("state");
    e.require_equal(&st, s(state));
    e.delete(table, key(pk, sk))
}

/// `futures`, at most `n` at a time (in rounds of `n`), their outputs in order.
async fn in_parallel<F: std::future::Future>(futures: Vec<F>, n: usize) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    let mut left = futures.into_iter();
    loop {
        let round: Vec<F> = left.by_ref().take(n.max(1)).collect();
        if round.is_empty() {
            return out;
        }
        out.extend(futures_util::future::join_all(round).await);
    }
}

impl Store {
    /// Applies `plan` in `steps` (see the module documentation). `Refused`: nothing is
    /// left of it; `KeyTaken`: its key's record, nothing left of it.
    pub(crate) async fn apply_steps(
        &self,
        t: &TenantId,
        plan: &Plan,
        steps: Steps,
        event_item: Uuid,
    ) -> Result<Applied, ApiError> {
        let now = Utc::now();
        match steps.kind {
            StepsKind::Prepare => {
                self.prepare_and_commit(t, plan, steps, event_item, now)
                    .await
            }
            StepsKind::Forward => {
                self.commit_and_forward(t, plan, steps, event_item, now)
                    .await
            }
        }
    }

    async fn prepare_and_commit(
        &self,
        t: &TenantId,
        plan: &Plan,
        steps: Steps,
        event_item: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Applied, ApiError> {
        let table = self.table();
        let owner = steps.owner;
        match self
            .transact(vec![marker_item(table, t, owner, "prepare", now)?])
            .await?
        {
            TxResult::Done => {}
            // Another request is applying steps on this allotment id: never ours.
            TxResult::ConditionFailed(_) => {
                return Err(ApiError::Internal(format!(
                    "allotment {owner}: steps already under way"
                )))
            }
        }
        let parallel = match self.die_after_steps {
            Some(_) => 1,
            None => PARALLEL_STEPS,
        };
        let mut sends = Vec::new();
        for (n, step) in steps.steps.iter().enumerate() {
            if self.die_after_steps.is_some_and(|k| n >= k) {
                break;
            }
            sends.push(self.prepare_step(t, owner, n, step, event_item, now));
        }
        let sent = in_parallel(sends, parallel).await;
        if let Some(k) = self.die_after_steps {
            return Err(ApiError::Unavailable(format!(
                "died after {k} steps (a test)"
            )));
        }
        let mut failed = None;
        let mut refused = false;
        for r in sent {
            match r {
                Ok(TxResult::Done) => {}
                Ok(TxResult::ConditionFailed(_)) => refused = true,
                Err(e) => failed = Some(e),
            }
        }
        if refused || failed.is_some() {
            self.resolve_steps(t, owner, None).await?;
            return match failed {
                Some(e) => Err(e),
                None => Ok(Applied::Refused),
            };
        }
        // The commit: the marker first, so the plan's idempotency record stays last.
        let mut items = vec![marker_delete(table, t, owner, "prepare")?];
        items.extend(self.items(t, &steps.commit, event_item)?.0);
        let last = items.len() - 1;
        let result = self
            .transact_within(items, Some(super::big_transaction_timeouts()))
            .await;
        match result {
            Ok(TxResult::Done) => {
                self.forget_steps(t, owner, steps.steps.len()).await;
                Ok(Applied::Done)
            }
            Ok(TxResult::ConditionFailed(failed)) => {
                self.resolve_steps(t, owner, None).await?;
                self.refused(t, plan, last, failed).await
            }
            Err(e) => Err(e),
        }
    }

    async fn commit_and_forward(
        &self,
        t: &TenantId,
        plan: &Plan,
        steps: Steps,
        event_item: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Applied, ApiError> {
        let table = self.table();
        let owner = steps.owner;
        let mut items = self.items(t, &steps.commit, event_item)?.0;
        items.insert(0, marker_item(table, t, owner, "forward", now)?);
        for (n, step) in steps.steps.iter().enumerate() {
            items.insert(
                n + 1,
                step_record(table, t, owner, n, &Resolution::doing(step), now)?,
            );
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal(format!(
                "a forward commit of {} items",
                items.len()
            )));
        }
        let last = items.len() - 1;
        let timeouts = Some(super::big_transaction_timeouts());
        match self.transact_within(items, timeouts).await? {
            TxResult::Done => {}
            TxResult::ConditionFailed(failed) => return self.refused(t, plan, last, failed).await,
        }
        // Committed: what follows only gives rooms back. Whatever fails here is
        // finished by the scheduled run.
        if let Some(k) = self.die_after_steps {
            return Err(ApiError::Unavailable(format!(
                "died after the commit ({k})"
            )));
        }
        if let Err(e) = self.resolve_steps(t, owner, None).await {
            tracing::warn!(error = %e, %owner, "forward steps left to the sweeper");
        }
        Ok(Applied::Done)
    }

    /// Resolves the steps of `owner`: the marker becomes `resolving` (if `expired_by`,
    /// only once its lease ran out by then), every step record is applied once, the
    /// marker goes. `false` when there was nothing to resolve (no marker, or a lease
    /// still running).
    pub(crate) async fn resolve_steps(
        &self,
        t: &TenantId,
        owner: Uuid,
        expired_by: Option<DateTime<Utc>>,
    ) -> Result<bool, ApiError> {
        let table = self.table();
        let (pk, sk) = keys::allotment_steps(t, owner);
        let mut e = Expr::new();
        let st = e.name("state");
        e.set_value(&st, s("resolving"));
        e.require("attribute_exists(PK)");
        if let Some(now) = expired_by {
            let lease = e.name("leaseUntil");
            let at = e.value(n(now.timestamp()));
            e.require(format!("{lease} < {at}"));
        }
        match self
            .transact(vec![e.update(table, key(pk.clone(), sk.clone()))?])
            .await?
        {
            TxResult::Done => {}
            TxResult::ConditionFailed(_) => return Ok(false),
        }
        let records = self
            .query_all(
                "step_records",
                self.sort_key_range(pk.clone(), "STEP#", "STEP#~"),
            )
            .await?;
        let applies = records.iter().map(|r| self.apply_record(t, r)).collect();
        for r in in_parallel(applies, PARALLEL_STEPS).await {
            r?;
        }
        let mut e = Expr::new();
        let st = e.name("state");
        e.require_equal(&st, s("resolving"));
        self.transact(vec![e.delete(table, key(pk, sk))?]).await?;
        Ok(true)
    }

    /// One prepare step with its record (its inverse).
    async fn prepare_step(
        &self,
        t: &TenantId,
        owner: Uuid,
        n: usize,
        step: &Plan,
        event_item: Uuid,
        now: DateTime<Utc>,
    ) -> Result<TxResult, ApiError> {
        let mut items = self.items(t, step, event_item)?.0;
        let undo = Resolution::undoing(t, step);
        items.push(step_record(self.table(), t, owner, n, &undo, now)?);
        self.transact(items).await
    }

    /// Applies one step record (its pool nights, its deletions) and deletes it, on
    /// condition it is still there: once, whoever gets there first.
    async fn apply_record(&self, t: &TenantId, record: &Item) -> Result<(), ApiError> {
        let table = self.table();
        let pk = get_s(record, keys::PK)?.to_string();
        let sk = get_s(record, keys::SK)?.to_string();
        let r: Resolution = serde_json::from_str(get_s(record, "doc")?)
            .map_err(|e| ApiError::Internal(format!("stored step: {e}")))?;
        let mut items = self
            .items(t, &r.pool_plan()?, crate::domain::event::new_item_id())?
            .0;
        for (gone_pk, gone_sk, group) in &r.delete {
            let mut e = Expr::new();
            if let Some(g) = group {
                let named = e.name("groupId");
                let v = e.value(s(g.to_string()));
                e.require(format!("attribute_not_exists(PK) OR {named} = {v}"));
            }
            items.push(e.delete(table, key(gone_pk.clone(), gone_sk.clone()))?);
        }
        let mut e = Expr::new();
        e.require("attribute_exists(PK)");
        items.push(e.delete(table, key(pk, sk))?);
        match self.transact(items).await? {
            TxResult::Done => Ok(()),
            // Applied meanwhile by another resolver: its record is gone.
            TxResult::ConditionFailed(_) => Ok(()),
        }
    }

    /// The step records of a committed creation, no longer needed (their TTL would
    /// remove them too).
    async fn forget_steps(&self, t: &TenantId, owner: Uuid, count: usize) {
        let table = self.table();
        let keys: Vec<_> = (0..count)
            .map(|n| {
                let (pk, sk) = keys::allotment_step(t, owner, n);
                key(pk, sk)
            })
            .collect();
        for chunk in keys.chunks(25) {
            let writes = chunk.iter().filter_map(|k| {
                aws_sdk_dynamodb::types::DeleteRequest::builder()
                    .set_key(Some(k.clone()))
                    .build()
                    .ok()
                    .map(|d| {
                        aws_sdk_dynamodb::types::WriteRequest::builder()
                            .delete_request(d)
                            .build()
                    })
            });
            let sent = self
                .client()
                .batch_write_item()
                .request_items(table, writes.collect())
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %super::sdk_error("forget_steps", e), "step records left to their TTL");
            }
        }
    }

    /// Resolves every plan in steps whose request is gone (its lease ran out by
    /// `now`): what the scheduled run calls. How many it resolved.
    pub async fn sweep_steps(&self, now: DateTime<Utc>) -> Result<usize, ApiError> {
        let hi = format!("{:012}#~", now.timestamp());
        let query = self
            .query_on(Some(releases::GSI2), releases::GSI2PK, SWEEP_PK.to_string())
            .key_condition_expression("#pk = :pk AND #sk <= :hi")
            .expression_attribute_names("#sk", releases::GSI2SK)
            .expression_attribute_values(":hi", s(hi));
        let mut resolved = 0;
        for entry in self.query_all("sweep_steps", query).await? {
            let pk = get_s(&entry, keys::PK)?;
            let Some((t, owner)) = pk
                .strip_prefix("T#")
                .and_then(|rest| rest.rsplit_once("#A#"))
                .and_then(|(t, id)| Some((TenantId::parse(t).ok()?, Uuid::parse_str(id).ok()?)))
            else {
                tracing::error!(pk, "a steps marker of no allotment");
                continue;
            };
            if self.resolve_steps(&t, owner, Some(now)).await? {
                tracing::warn!(tenant = %t, %owner, "resolved the steps of a request that died");
                resolved += 1;
            }
        }
        Ok(resolved)
    }
}
