//! Plans applied in steps (`domain::steps`): too big for one transaction, still all or
//! nothing as seen through the API.
//!
//! Under the owner's partition (an allotment's, or a group's id in the same form):
//! - `STEPS`: the marker of a run of steps — its `run` id, `state` (`prepare`,
//!   `forward`, `undoing`, `finishing`), `leaseUntil` (epoch seconds: until then its
//!   request may still be running), and a sparse `GSI2` entry (`STEPS` /
//!   `<leaseUntil>#<PK>`) by which the scheduled run finds the markers of requests
//!   that died;
//! - `STEP#<run>#P#<n>`: the inverse of prepare step `n`, and `STEP#<run>#F#<n>`:
//!   forward step `n` — pool deltas and items to delete, applied at most once (their
//!   transaction deletes the record, on condition it exists).
//!
//! A run: the marker (`prepare`) and the prepare steps, each with its record; then the
//! **commit**, which requires the marker still `prepare` (or creates it, when nothing
//! is prepared) and turns it `forward` with a record per forward step (or deletes it,
//! when nothing follows); then the forward steps. A prepare step refused (a short
//! night) or failed, or a commit refused, *undoes* the run: the marker becomes
//! `undoing` (no commit can follow), every `P` record is applied, the marker goes. A
//! `forward` marker is *finished* the same way with its `F` records. A commit whose
//! answer was lost is resolved at once: the marker says whether it committed.
//!
//! A request that dies between steps leaves the marker: the scheduled run
//! ([`Store::sweep_steps`]) resolves every marker whose lease has run out, so pool rooms
//! are never held by an allotment nobody can see for much longer than
//! [`STEPS_LEASE`] plus the schedule's minute. Records of a committed run's prepare
//! steps are deleted after it (or by their TTL): under their run's id, no later run
//! reads them.

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
use crate::domain::steps::Steps;

/// How long a request applying steps may still be running: more than any function's
/// timeout, so a marker whose lease ran out belongs to a request that is gone.
pub const STEPS_LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How long a keyed request in steps holds its key: past the longest function timeout
/// (28 s), so a retry after a crash waits at most this long (`409
/// IDEMPOTENCY_IN_PROGRESS`, safe to retry) before it runs anew.
pub const KEY_LEASE: chrono::Duration = chrono::Duration::seconds(30);
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
    /// The pool nights of `nights` moved, `sign` -1 to undo them.
    fn move_rooms(&mut self, establishment_id: Uuid, nights: &[PoolDelta], sign: i64) {
        self.pool.extend(nights.iter().map(|d| {
            (
                establishment_id,
                d.unit.to_string(),
                d.date,
                sign * d.allotted,
            )
        }));
    }

    /// The membership of `allotment` deleted if it is still `group`'s.
    fn give_up_claim(&mut self, t: &TenantId, allotment: Uuid, group: Uuid) {
        let (pk, sk) = keys::membership(t, allotment);
        self.delete.push((pk, sk, Some(group)));
    }

    /// Undoing a prepare step: its rooms back, its items gone.
    fn undoing(t: &TenantId, step: &Plan) -> Self {
        let mut r = Resolution::default();
        for change in &step.changes {
            match change {
                Change::Pool {
                    establishment_id,
                    nights,
                    ..
                } => r.move_rooms(*establishment_id, nights, -1),
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
                } => r.give_up_claim(t, *allotment_id, *group_id),
                _ => {}
            }
        }
        r
    }

    /// Doing a forward step: its pool nights, the claims it gives up, the months of a
    /// deleted group it deletes.
    fn doing(t: &TenantId, step: &Plan) -> Self {
        let mut r = Resolution::default();
        for change in &step.changes {
            match change {
                Change::Pool {
                    establishment_id,
                    nights,
                    ..
                } => r.move_rooms(*establishment_id, nights, 1),
                Change::Membership {
                    allotment_id,
                    group_id,
                    claim: false,
                } => r.give_up_claim(t, *allotment_id, *group_id),
                Change::GroupNightsGone { group_id, months } => {
                    r.delete.extend(months.iter().map(|m| {
                        let (pk, sk) = keys::group_grid(t, *group_id, *m);
                        (pk, sk, None)
                    }))
                }
                _ => {}
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

/// A run's records: `P` the inverses of its prepare steps, `F` its forward steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prepare,
    Forward,
}

impl Phase {
    fn letter(self) -> char {
        match self {
            Phase::Prepare => 'P',
            Phase::Forward => 'F',
        }
    }
}

/// The marker's states.
const PREPARE: &str = "prepare";
const FORWARD: &str = "forward";
const UNDOING: &str = "undoing";
const FINISHING: &str = "finishing";

/// How resolving a marker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// No marker (or one whose lease still runs, for the sweeper).
    Nothing,
    /// Its prepare steps undone: no commit happened.
    Undone,
    /// Its forward steps finished: the commit happened.
    Finished,
}

#[allow(clippy::too_many_arguments)]
fn step_record(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    run: &str,
    phase: Phase,
    n: usize,
    r: &Resolution,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_step(t, owner, run, phase.letter(), n);
    let mut item = key(pk, sk);
    let doc = serde_json::to_string(r).map_err(|e| ApiError::Internal(format!("step: {e}")))?;
    item.insert("doc".into(), s(doc));
    item.insert("expiresAt".into(), n_at(now + chrono::Duration::days(7)));
    expr::put_new(table, item)
}

fn n_at(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp())
}

/// A new marker.
fn marker_item(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    state: &str,
    run: &str,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_steps(t, owner);
    let lease = (now + STEPS_LEASE).timestamp();
    let mut item = key(pk.clone(), sk);
    item.insert("state".into(), s(state));
    item.insert("run".into(), s(run));
    item.insert("leaseUntil".into(), n(lease));
    item.insert(releases::GSI2PK.into(), s(SWEEP_PK));
    item.insert(releases::GSI2SK.into(), s(format!("{lease:012}#{pk}")));
    item.insert("expiresAt".into(), n_at(now + chrono::Duration::days(7)));
    expr::put_new(table, item)
}

/// The marker of `run`, on condition it is still in `state`: moved to `next`, or
/// deleted (`None`).
fn marker_move(
    table: &str,
    t: &TenantId,
    owner: Uuid,
    (run, state): (&str, &str),
    next: Option<&str>,
) -> Result<TransactWriteItem, ApiError> {
    let (pk, sk) = keys::allotment_steps(t, owner);
    let mut e = Expr::new();
    let st = e.name("state");
    e.require_equal(&st, s(state));
    let r = e.name("run");
    e.require_equal(&r, s(run));
    match next {
        Some(next) => {
            e.set_value(&st, s(next));
            e.update(table, key(pk, sk))
        }
        None => e.delete(table, key(pk, sk)),
    }
}

fn run_id() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_string()
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
    ///
    /// A keyed plan with prepare steps holds its key while they run (a `pending`
    /// record, `Store::hold_key`): a duplicate sent meanwhile answers `409
    /// IDEMPOTENCY_IN_PROGRESS` instead of preparing too (and, short of rooms, recording
    /// a refusal its twin would then replay). The key is given back when nothing
    /// committed.
    pub(crate) async fn apply_steps(
        &self,
        t: &TenantId,
        plan: &Plan,
        steps: Steps,
        event_item: Uuid,
    ) -> Result<Applied, ApiError> {
        let now = Utc::now();
        let run = run_id();
        let keyed = match plan.changes.last() {
            Some(Change::Idempotency { intent, .. }) if !steps.prepare.is_empty() => Some(intent),
            _ => None,
        };
        if let Some(intent) = keyed {
            match self.hold_key(t, intent, &run, now + KEY_LEASE).await? {
                None => {}
                Some(found) if found.response.is_some() => return Ok(Applied::KeyTaken(found)),
                Some(found) if found.fingerprint != intent.fingerprint => {
                    return Err(ApiError::IdempotencyKeyReused)
                }
                Some(_) => return Err(ApiError::IdempotencyInProgress),
            }
        }
        let applied = self
            .run_steps(t, plan, steps, event_item, (&run, now))
            .await;
        // (A request that dies gives nothing back: the test hook keeps the key too.)
        if let Some(intent) = keyed.filter(|_| self.die_after_steps.is_none()) {
            if !matches!(applied, Ok(Applied::Done)) {
                self.release_key(t, intent, &run).await;
            }
        }
        applied
    }

    async fn run_steps(
        &self,
        t: &TenantId,
        plan: &Plan,
        steps: Steps,
        event_item: Uuid,
        (run, now): (&str, DateTime<Utc>),
    ) -> Result<Applied, ApiError> {
        let table = self.table();
        let owner = steps.owner;
        let run = run.to_string();
        let prepared = !steps.prepare.is_empty();
        if prepared {
            if let Some(refusal) = self.prepare(t, &steps, &run, event_item, now).await? {
                return Ok(refusal);
            }
        }
        // The commit: the marker first, the forward records, the plan's changes (its
        // idempotency record last).
        let forwards = !steps.forward.is_empty();
        let mut items = vec![match (prepared, forwards) {
            (true, true) => marker_move(table, t, owner, (&run, PREPARE), Some(FORWARD))?,
            (true, false) => marker_move(table, t, owner, (&run, PREPARE), None)?,
            (false, _) => marker_item(table, t, owner, FORWARD, &run, now)?,
        }];
        for (n, step) in steps.forward.iter().enumerate() {
            let doing = Resolution::doing(t, step);
            items.push(step_record(
                table,
                t,
                owner,
                &run,
                Phase::Forward,
                n,
                &doing,
                now,
            )?);
        }
        items.extend(self.items(t, &steps.commit, event_item)?.0);
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Internal(format!(
                "a commit of {} items",
                items.len()
            )));
        }
        let last = items.len() - 1;
        let timeouts = Some(super::big_transaction_timeouts());
        let answer = match self.transact_within(items, timeouts).await {
            Ok(TxResult::Done) if self.lose_commit_answers => Err(ApiError::Unavailable(
                "the commit's answer lost (a test)".into(),
            )),
            other => other,
        };
        match answer {
            Ok(TxResult::Done) => {}
            Ok(TxResult::ConditionFailed(failed)) => {
                if prepared {
                    self.resolve_steps(t, owner, None).await?;
                }
                return self.refused(t, plan, last, failed).await;
            }
            // The answer is lost: the marker tells whether the commit happened (one
            // still in flight can no longer: it requires the marker as it was).
            Err(e) => {
                let committed = match self.resolve_steps(t, owner, None).await {
                    Ok(Resolved::Finished) => true,
                    Ok(Resolved::Nothing) => prepared,
                    Ok(Resolved::Undone) | Err(_) => false,
                };
                if !committed {
                    return Err(e);
                }
                tracing::warn!(error = %e, %owner, "a commit whose answer was lost had committed");
            }
        }
        if prepared {
            self.forget_steps(t, owner, &run, steps.prepare.len()).await;
        }
        if forwards {
            // Committed: what follows only gives back. Whatever fails here is finished
            // by the scheduled run.
            if let Some(k) = self.die_after_steps {
                return Err(ApiError::Unavailable(format!(
                    "died after the commit ({k})"
                )));
            }
            if let Err(e) = self.resolve_steps(t, owner, None).await {
                tracing::warn!(error = %e, %owner, "forward steps left to the sweeper");
            }
        }
        Ok(Applied::Done)
    }

    /// The marker and the prepare steps. `Some(Refused)` when a step was refused (all
    /// undone); an error when one failed (all undone, or left to the sweeper).
    async fn prepare(
        &self,
        t: &TenantId,
        steps: &Steps,
        run: &str,
        event_item: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Applied>, ApiError> {
        let owner = steps.owner;
        let marker = marker_item(self.table(), t, owner, PREPARE, run, now)?;
        if let TxResult::ConditionFailed(_) = self.transact(vec![marker]).await? {
            // Another request is applying steps to it: retry once it is done.
            return Err(ApiError::Unavailable(format!(
                "{owner}: another change in steps is under way"
            )));
        }
        let parallel = match self.die_after_steps {
            Some(_) => 1,
            None => PARALLEL_STEPS,
        };
        let mut sends = Vec::new();
        for (n, step) in steps.prepare.iter().enumerate() {
            if self.die_after_steps.is_some_and(|k| n >= k) {
                break;
            }
            sends.push(self.prepare_step(t, (owner, run), n, step, event_item, now));
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
        if !refused && failed.is_none() {
            return Ok(None);
        }
        self.resolve_steps(t, owner, None).await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(Some(Applied::Refused)),
        }
    }

    /// Resolves the run of steps of `owner` (if `expired_by`, only once its lease ran
    /// out by then): a `prepare` (or `undoing`) marker becomes `undoing` and its
    /// prepare records are applied; a `forward` (or `finishing`) one becomes
    /// `finishing` and its forward records are applied; then the marker goes. Each
    /// record is applied once, whoever resolves.
    pub(crate) async fn resolve_steps(
        &self,
        t: &TenantId,
        owner: Uuid,
        expired_by: Option<DateTime<Utc>>,
    ) -> Result<Resolved, ApiError> {
        let table = self.table();
        let marker_key = keys::allotment_steps(t, owner);
        // A marker that moves meanwhile (its commit, another resolver) is read again.
        let mut moved = 0;
        let (run, next) = loop {
            let Some(marker) = self.get("steps_marker", marker_key.clone()).await? else {
                return Ok(Resolved::Nothing);
            };
            let lease = super::attr::get_n(&marker, "leaseUntil")?;
            if expired_by.is_some_and(|now| lease >= now.timestamp()) {
                return Ok(Resolved::Nothing);
            }
            let run = get_s(&marker, "run")?.to_string();
            let state = get_s(&marker, "state")?.to_string();
            let next = match state.as_str() {
                PREPARE | UNDOING => UNDOING,
                FORWARD | FINISHING => FINISHING,
                other => {
                    return Err(ApiError::Internal(format!(
                        "a steps marker in state {other}"
                    )))
                }
            };
            if state == next {
                break (run, next);
            }
            let change = marker_move(table, t, owner, (&run, &state), Some(next))?;
            match self.transact(vec![change]).await? {
                TxResult::Done => break (run, next),
                TxResult::ConditionFailed(_) if moved < 3 => moved += 1,
                TxResult::ConditionFailed(_) => {
                    return Err(ApiError::Unavailable(format!(
                        "{owner}: its steps keep moving"
                    )))
                }
            }
        };
        let phase = match next {
            UNDOING => Phase::Prepare,
            _ => Phase::Forward,
        };
        let (pk, prefix) = keys::allotment_step_prefix(t, owner, &run, phase.letter());
        let records = self
            .query_all(
                "step_records",
                self.sort_key_range(pk, &prefix, &format!("{prefix}~")),
            )
            .await?;
        let applies = records.iter().map(|r| self.apply_record(t, r)).collect();
        for r in in_parallel(applies, PARALLEL_STEPS).await {
            r?;
        }
        self.transact(vec![marker_move(table, t, owner, (&run, next), None)?])
            .await?;
        Ok(match phase {
            Phase::Prepare => Resolved::Undone,
            Phase::Forward => Resolved::Finished,
        })
    }

    /// One prepare step with its record (its inverse).
    async fn prepare_step(
        &self,
        t: &TenantId,
        (owner, run): (Uuid, &str),
        n: usize,
        step: &Plan,
        event_item: Uuid,
        now: DateTime<Utc>,
    ) -> Result<TxResult, ApiError> {
        let mut items = self.items(t, step, event_item)?.0;
        let undo = Resolution::undoing(t, step);
        let table = self.table();
        items.push(step_record(
            table,
            t,
            owner,
            run,
            Phase::Prepare,
            n,
            &undo,
            now,
        )?);
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
    async fn forget_steps(&self, t: &TenantId, owner: Uuid, run: &str, count: usize) {
        let table = self.table();
        let keys: Vec<_> = (0..count)
            .map(|n| {
                let (pk, sk) = keys::allotment_step(t, owner, run, Phase::Prepare.letter(), n);
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
            if self.resolve_steps(&t, owner, Some(now)).await? != Resolved::Nothing {
                tracing::warn!(tenant = %t, %owner, "resolved the steps of a request that died");
                resolved += 1;
            }
        }
        Ok(resolved)
    }
}
