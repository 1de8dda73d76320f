//! Releasing many due entries at once, with few requests per release.
//!
//! Per tenant: the headers of the due allotments in one `BatchGetItem` per 100, then
//! the grid months holding their due nights (`AllotmentRecord::due_months`) the same
//! way; each release planned as on its own (`plan_cutoff_release`); the plans cut into
//! transactions of up to 99 items, one establishment's side by side so they share its
//! pool buckets and holds (`batch_releases`), each applied by `apply_together`, at most
//! [`DEFAULT_TRANSACTIONS`] at once in a process. A
//! release that moved since it was read (its header's version guard is named in the
//! refusal), a release too large to share a transaction, a group, or a batch whose reads
//! or transaction failed (a timeout, an item it cannot decode) goes the way of one release: [`crate::release_due`]
//! (its own load → plan → apply, so a changed allotment is read again).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use shared::command::apply_together;
use shared::domain::allotment::{batch_releases, plan_cutoff_release, ReleasePlan};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::store::releases::{Due, DueKind};
use shared::store::Store;
use uuid::Uuid;

use crate::release_due;

/// Due entries a releasing task takes at once (the queue's messages hold as many).
pub const BATCH_ENTRIES: usize = crate::MESSAGE_DUES;

/// Batched transactions in flight at once in this process (`CUTOFF_TRANSACTIONS`):
/// a transaction of 32 releases is large, and a store that serializes transactions
/// (DynamoDB Local, one hotel's pool bucket) makes each wait for those before it; more
/// in flight adds waiting, not throughput, until an attempt times out (2 s).
static IN_FLIGHT: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(crate::env_number(
        "CUTOFF_TRANSACTIONS",
        DEFAULT_TRANSACTIONS,
    ))
});
pub const DEFAULT_TRANSACTIONS: usize = 8;

/// What releasing one entry did: `(nights released, allotment became released)`.
pub type Outcome = Result<(u64, bool), ApiError>;

/// Releases what is due of each of `dues` at `now` (an entry named twice is released
/// once: the second finds nothing due). One outcome per entry, in order.
pub async fn release_many(store: &Store, dues: &[Due], now: DateTime<Utc>) -> Vec<Outcome> {
    let mut out: Vec<Option<Outcome>> = vec![None; dues.len()];
    let mut by_tenant: BTreeMap<&str, (&TenantId, Vec<usize>)> = BTreeMap::new();
    for (i, due) in dues.iter().enumerate() {
        if due.kind == DueKind::Allotment {
            let (_, of) = by_tenant
                .entry(due.tenant.as_str())
                .or_insert((&due.tenant, Vec::new()));
            of.push(i);
        }
    }
    for (tenant, of) in by_tenant.into_values() {
        let ids: Vec<(usize, Uuid)> = of.iter().map(|i| (*i, dues[*i].allotment_id)).collect();
        for (i, outcome) in release_allotments(store, tenant, &ids, now).await {
            out[i] = outcome;
        }
    }
    // The rest: groups, and releases left to go alone.
    let mut all = Vec::with_capacity(dues.len());
    for (due, outcome) in dues.iter().zip(out) {
        all.push(match outcome {
            Some(o) => o,
            None => release_due(store, due, now).await,
        });
    }
    all
}

/// The batched releases of some allotments of one tenant: each entry's outcome, `None`
/// for those left to go alone.
async fn release_allotments(
    store: &Store,
    tenant: &TenantId,
    ids: &[(usize, Uuid)],
    now: DateTime<Utc>,
) -> Vec<(usize, Option<Outcome>)> {
    // A batched read that failed (timing out, or an item it cannot decode) leaves each
    // entry to go alone, so only what fails alone fails.
    let alone = |why: &ApiError| -> Vec<(usize, Option<Outcome>)> {
        tracing::warn!(error = %why, releases = ids.len(), "batched read failed; releasing one by one");
        ids.iter().map(|(i, _)| (*i, None)).collect()
    };
    let just_ids: Vec<Uuid> = ids.iter().map(|(_, id)| *id).collect();
    let headers = match store.allotment_headers(tenant, &just_ids).await {
        Ok(h) => h,
        Err(e) => return alone(&e),
    };
    let mut records: BTreeMap<Uuid, _> = headers.into_iter().map(|r| (r.allotment_id, r)).collect();
    let wanted: Vec<(Uuid, Vec<_>)> = records
        .values()
        .map(|r| (r.allotment_id, r.due_months(now)))
        .filter(|(_, months)| !months.is_empty())
        .collect();
    let mut grids = match store.allotment_months(tenant, &wanted).await {
        Ok(g) => g,
        Err(e) => return alone(&e),
    };
    // Plan each: gone, or nothing due (another run, a cancel, a PATCH): a no-op.
    let mut out = Vec::with_capacity(ids.len());
    let mut planned: Vec<(usize, ReleasePlan)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids {
        let (Some(mut record), Some((grid, revisions))) = (records.remove(id), grids.remove(id))
        else {
            // Absent, nothing due, or (a repeat in `ids`) planned already.
            out.push((
                *i,
                if seen.contains(id) {
                    None
                } else {
                    Some(Ok((0, false)))
                },
            ));
            continue;
        };
        seen.insert(*id);
        record.grid_revisions = revisions;
        match plan_cutoff_release(&record, &grid, now) {
            // A release in parts goes alone (its parts one after the other).
            Ok(Some(p)) if p.more => out.push((*i, None)),
            Ok(Some(p)) => planned.push((*i, p)),
            Ok(None) => out.push((*i, Some(Ok((0, false))))),
            Err(e) => out.push((*i, Some(Err(e)))),
        }
    }
    let plans: Vec<&ReleasePlan> = planned.iter().map(|(_, p)| p).collect();
    let cut = batch_releases(&plans);
    out.extend(cut.alone.iter().map(|k| (planned[*k].0, None)));
    for batch in cut.batches {
        let parts: Vec<_> = batch.iter().map(|k| &plans[*k].allotment.plan).collect();
        let applied = match IN_FLIGHT.acquire().await {
            Ok(_permit) => apply_together(store, tenant, &parts).await,
            Err(e) => Err(ApiError::Internal(format!("transaction permits: {e}"))),
        };
        match applied {
            Ok(done) => {
                for (k, committed) in batch.iter().zip(done) {
                    let (i, p) = &planned[*k];
                    let outcome = committed.then_some(Ok((p.released_nights, p.finished)));
                    out.push((*i, outcome));
                }
            }
            // Timing out or throttled, a large transaction leaves its releases to go
            // alone (small transactions); what still fails is handed over or retried.
            Err(e) => {
                tracing::warn!(error = %e, releases = batch.len(), "release batch failed; releasing one by one");
                out.extend(batch.iter().map(|k| (planned[*k].0, None)));
            }
        }
    }
    out
}
