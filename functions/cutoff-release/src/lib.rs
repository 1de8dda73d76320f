//! The scheduled cutoff: every few minutes, release what is due at the event's `time`.
//!
//! It reads the release index from its watermark to the event's day, releases each due
//! allotment with one conditional transaction (so a repeated or concurrent delivery is
//! a no-op for what is already done), and moves the watermark to the earliest day it
//! had to leave something on (a failure, or the batch limit), else to today.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{plan_cutoff_release, AllotmentRecord, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::store::releases::{days_to_scan, Due, DueKind, SHARDS};
use shared::store::Store;

pub mod metrics;

pub const NAME: &str = "cutoff-release";
/// A deployed run refuses an event `time` further ahead of its clock than this.
pub const MAX_AHEAD: Duration = Duration::minutes(5);
/// Allotments released per invocation at most; the rest wait for the next run.
pub const DEFAULT_BATCH: usize = 400;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Nights released (per unit type).
    pub released_nights: u64,
    /// Allotments that became `released`.
    pub allotments_released: u64,
    /// Allotments that failed (logged, retried next run).
    pub failures: u64,
    /// Due allotments left for the next run (batch limit reached).
    pub more: bool,
}

/// Reads the event's `time`; `clock` is the deployed function's clock (`None` locally,
/// where any time may be replayed).
pub fn event_time(event: &Value, clock: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, ApiError> {
    let time = event
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::validation("time", "must be an RFC 3339 instant"))?;
    if let Some(clock) = clock {
        if time > clock + MAX_AHEAD {
            return Err(ApiError::validation(
                "time",
                "is more than 5 minutes ahead of the clock",
            ));
        }
    }
    Ok(time)
}

/// The function's answer: `{"data": {"releasedNights": N, "allotmentsReleased": M}}`.
pub async fn handle_event(
    store: &Store,
    event: &Value,
    clock: Option<DateTime<Utc>>,
) -> Result<Value, ApiError> {
    let now = event_time(event, clock)?;
    let batch = std::env::var("CUTOFF_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(DEFAULT_BATCH);
    let report = run(store, now, batch).await?;
    metrics::emit(&report);
    tracing::info!(
        function = NAME,
        time = %now,
        released_nights = report.released_nights,
        allotments_released = report.allotments_released,
        failures = report.failures,
        more = report.more,
        "cutoff run"
    );
    Ok(
        json!({"data": {"releasedNights": report.released_nights, "allotmentsReleased": report.allotments_released}}),
    )
}

/// One run at `now`, releasing at most `batch` allotments.
pub async fn run(store: &Store, now: DateTime<Utc>, batch: usize) -> Result<Report, ApiError> {
    let watermark = store.release_watermark().await?;
    let mut report = Report::default();
    let mut budget = batch.max(1);
    let mut leave_from: Option<NaiveDate> = None;
    'days: for day in days_to_scan(watermark, now) {
        for shard in 0..SHARDS {
            if budget == 0 {
                report.more = true;
                leave_from = leave_from.or(Some(day));
                break 'days;
            }
            let due = store.due_allotments(day, shard, now, budget).await?;
            if due.len() == budget {
                // There may be more in this partition.
                leave_from = leave_from.or(Some(day));
            }
            for d in due {
                budget -= 1;
                match release(store, &d, now).await {
                    Ok((nights, finished)) => {
                        report.released_nights += nights;
                        report.allotments_released += u64::from(finished);
                    }
                    Err(e) => {
                        report.failures += 1;
                        leave_from = Some(leave_from.map_or(day, |l| l.min(day)));
                        tracing::error!(allotment = %d.allotment_id, error = %e, "release failed; retried next run");
                    }
                }
            }
        }
    }
    move_watermark(store, watermark, leave_from.unwrap_or(now.date_naive())).await?;
    Ok(report)
}

/// Releases what is due of one allotment or group: `(nights released, allotment
/// became released)`.
async fn release(store: &Store, due: &Due, now: DateTime<Utc>) -> Result<(u64, bool), ApiError> {
    if due.kind == DueKind::Group {
        return release_group(store, due, now).await;
    }
    execute(store, &CutoffRelease { store, due, now }).await
}

/// The scheduled release of one allotment: the nights due at `now`.
struct CutoffRelease<'a> {
    store: &'a Store,
    due: &'a Due,
    now: DateTime<Utc>,
}

impl Command for CutoffRelease<'_> {
    type State = Option<(AllotmentRecord, Grid)>;
    /// Nights released, and whether the allotment became released.
    type Output = (u64, bool);

    fn tenant(&self) -> &TenantId {
        &self.due.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        self.store
            .load_allotment(&self.due.tenant, self.due.allotment_id)
            .await
    }

    fn plan(&self, state: Self::State) -> Result<Decision<Self::Output>, ApiError> {
        // Gone, or nothing due (already done by another run, moved by a PATCH): a no-op.
        let Some((record, grid)) = state else {
            return Ok(Decision::Answer((0, false)));
        };
        Ok(match plan_cutoff_release(&record, &grid, self.now)? {
            None => Decision::Answer((0, false)),
            Some(p) => Decision::Apply(p.allotment.plan, (p.released_nights, p.finished)),
        })
    }
}

/// A group's unused rooms of its due nights go back to the pool (a member's own
/// release never touches them; see `plan_group_release`). Group nights do not count
/// as allotment nights.
async fn release_group(
    store: &Store,
    due: &Due,
    now: DateTime<Utc>,
) -> Result<(u64, bool), ApiError> {
    let command = ReleaseGroup { store, due, now };
    shared::command::execute(store, &command).await?;
    Ok((0, false))
}

struct ReleaseGroup<'a> {
    store: &'a Store,
    due: &'a Due,
    now: DateTime<Utc>,
}

impl shared::command::Command for ReleaseGroup<'_> {
    /// The group, if it still exists.
    type State = Option<shared::domain::group::LoadedGroup>;
    type Output = ();

    fn tenant(&self) -> &shared::domain::ids::TenantId {
        &self.due.tenant
    }

    async fn load(&self, _: shared::command::Attempt) -> Result<Self::State, ApiError> {
        self.store
            .load_group(&self.due.tenant, self.due.allotment_id)
            .await
    }

    /// Nothing due (done by another run, or the group was deleted): a no-op.
    fn plan(&self, group: Self::State) -> Result<shared::command::Decision<()>, ApiError> {
        use shared::command::Decision;
        let planned = group
            .as_ref()
            .and_then(|g| shared::domain::group::plan_group_release(g, self.now));
        Ok(match planned {
            Some(p) => Decision::Apply(p.plan, ()),
            None => Decision::Answer(()),
        })
    }
}

/// Sets the watermark to `target`, or lower if a concurrent run left something earlier.
async fn move_watermark(
    store: &Store,
    read: Option<NaiveDate>,
    target: NaiveDate,
) -> Result<(), ApiError> {
    let mut expected = read;
    for _ in 0..5 {
        let new = match (read, expected) {
            (a, b) if a == b => target,
            (_, Some(current)) => current.min(target),
            (_, None) => target,
        };
        if expected == Some(new) || store.set_release_watermark(expected, new).await? {
            return Ok(());
        }
        expected = store.release_watermark().await?;
    }
    Err(ApiError::Unavailable("watermark contention".into()))
}

#[cfg(test)]
mod tests;
