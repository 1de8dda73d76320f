//! The scheduled cutoff: every minute, release what is due at the event's `time`.
//!
//! A run reads the release index from its watermark to the event's time (one query per
//! shard of the day, pages read side by side), releases the first [`DEFAULT_INLINE`]
//! due entries itself with bounded concurrency, and hands the rest to the release queue
//! for `cutoff-release-worker` (SQS deployed, an in-process queue locally). Releases go
//! several to a transaction ([`release_many`]), each guarded by the version it read, so
//! repeated and concurrent runs, and duplicated messages, end in the state of one. Then
//! the watermark
//! moves to the event's time, or to just before the first entry the run could neither
//! release nor hand over (its time budget ran out, the queue refused it, or, without a
//! queue, its release failed): the next run starts there.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{plan_cutoff_release, AllotmentRecord, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::store::releases::{days_to_scan, read_after, Due, DueEntry, DueKind, PAGE, SHARDS};
use shared::store::Store;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

mod batch;
mod budget;
mod queue;

pub use batch::{release_many, Outcome, BATCH_ENTRIES};
pub use budget::Budget;
pub use queue::{message, parse_message, Queue, MESSAGES_PER_SEND, MESSAGE_DUES};

pub mod metrics;

pub const NAME: &str = "cutoff-release";
/// A deployed run refuses an event `time` further ahead of its clock than this.
pub const MAX_AHEAD: Duration = Duration::minutes(5);
/// Releasing tasks of one run (and of one worker invocation), each releasing up to
/// [`BATCH_ENTRIES`] entries at a time.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Due entries a run releases itself when it has a queue; the rest fan out at once.
pub const DEFAULT_INLINE: usize = 1_000;
/// What a run keeps of its function's time to hand over what is left and move the
/// watermark.
pub const BUDGET_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);
/// The budget of a local run: the deployed one's (a 60 s timeout minus the margin).
pub const LOCAL_BUDGET: std::time::Duration = std::time::Duration::from_secs(50);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Nights released (per unit type).
    pub released_nights: u64,
    /// Allotments that became `released`.
    pub allotments_released: u64,
    /// Releases that failed (handed to the queue, or retried by the next run).
    pub failures: u64,
    /// Due entries read from the index.
    pub found: u64,
    /// Due entries handed to the queue.
    pub handed_off: u64,
    /// Due entries left for the next run (budget spent, or the queue refused them).
    pub more: bool,
    /// Plans in steps left by requests that died, resolved (`Store::sweep_steps`).
    pub steps_resolved: u64,
}

impl Report {
    /// Counts the outcomes of releases; `failed` gets each one that failed (logged).
    pub fn count<T>(
        &mut self,
        outcomes: impl IntoIterator<Item = (T, batch::Outcome)>,
        mut failed: impl FnMut(T),
    ) {
        for (what, outcome) in outcomes {
            match outcome {
                Ok((nights, finished)) => {
                    self.released_nights += nights;
                    self.allotments_released += u64::from(finished);
                }
                Err(e) => {
                    self.failures += 1;
                    tracing::error!(error = %e, "release failed; handed over, delivered again or retried next run");
                    failed(what);
                }
            }
        }
    }

    pub fn add(&mut self, other: &Report) {
        self.released_nights += other.released_nights;
        self.allotments_released += other.allotments_released;
        self.failures += other.failures;
        self.found += other.found;
        self.handed_off += other.handed_off;
        self.more |= other.more;
    }
}

/// How a run works.
#[derive(Debug, Clone)]
pub struct Options {
    pub budget: Budget,
    pub concurrency: usize,
    /// Due entries released by the run itself before the rest fans out (with a queue).
    pub inline: usize,
    pub queue: Queue,
    /// Index entries per page read.
    pub page: usize,
    /// Deployed: each release takes "now" from the clock when it starts (never before
    /// the run's time), so what it writes is stamped with its real time. Locally the
    /// event's time, for replays.
    pub live_clock: bool,
}

impl Options {
    /// The local server and tests: the deployed budget, the event's time throughout
    /// (`CUTOFF_CONCURRENCY` from the environment).
    pub fn local(queue: Queue) -> Self {
        Options {
            budget: Budget::within(LOCAL_BUDGET),
            concurrency: env_number("CUTOFF_CONCURRENCY", DEFAULT_CONCURRENCY),
            inline: DEFAULT_INLINE,
            queue,
            page: PAGE,
            live_clock: false,
        }
    }

    /// The deployed function: its context's budget, its queue, `CUTOFF_CONCURRENCY`
    /// and `CUTOFF_INLINE` from the environment.
    pub fn deployed(budget: Budget, queue: Queue) -> Self {
        Options {
            budget,
            concurrency: env_number("CUTOFF_CONCURRENCY", DEFAULT_CONCURRENCY),
            inline: env_number("CUTOFF_INLINE", DEFAULT_INLINE),
            queue,
            page: PAGE,
            live_clock: true,
        }
    }
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|b| b.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
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
pub fn answer(report: &Report) -> Value {
    json!({"data": {"releasedNights": report.released_nights, "allotmentsReleased": report.allotments_released}})
}

/// One run, releasing everything itself (no queue) within the local budget.
pub async fn handle_event(
    store: &Store,
    event: &Value,
    clock: Option<DateTime<Utc>>,
) -> Result<Value, ApiError> {
    handle(store, event, clock, &Options::local(Queue::None))
        .await
        .map(|r| answer(&r))
}

/// One run on `options`. Deployed, the run's time is never ahead of the clock: an
/// entry eligible later may not be readable yet.
pub async fn handle(
    store: &Store,
    event: &Value,
    clock: Option<DateTime<Utc>>,
    options: &Options,
) -> Result<Report, ApiError> {
    let time = event_time(event, clock)?;
    let now = clock.map_or(time, |c| time.min(c));
    let started = std::time::Instant::now();
    let report = run(store, now, options).await?;
    metrics::emit(&report);
    tracing::info!(
        function = NAME,
        time = %now,
        found = report.found,
        released_nights = report.released_nights,
        allotments_released = report.allotments_released,
        handed_off = report.handed_off,
        failures = report.failures,
        more = report.more,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "cutoff run"
    );
    Ok(report)
}

/// What every task of a run shares.
struct Run {
    store: Store,
    options: Options,
    now: DateTime<Utc>,
    after: DateTime<Utc>,
    days: Vec<chrono::NaiveDate>,
    /// Due entries the run may still keep for itself.
    inline: AtomicUsize,
}

impl Run {
    fn keep(&self) -> bool {
        !self.options.budget.expired()
            && self
                .inline
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }

    fn release_now(&self) -> DateTime<Utc> {
        if self.options.live_clock {
            self.now.max(Utc::now())
        } else {
            self.now
        }
    }
}

/// What a shard's reader did: the entries it read and handed over, and the latest
/// watermark its reading allows (everything at or before it taken).
struct ShardRead {
    found: u64,
    handed_off: u64,
    bound: DateTime<Utc>,
    error: Option<ApiError>,
}

/// What one releasing task did, and the entries it leaves (failed or not started).
#[derive(Default)]
struct Released {
    report: Report,
    left: Vec<DueEntry>,
}

/// Reads one shard's partitions of the window page by page: entries the run keeps go
/// to its releasing tasks, the others to the queue (ten messages at a time).
async fn read_shard(run: Arc<Run>, shard: u8, pool: mpsc::Sender<DueEntry>) -> ShardRead {
    let mut read = ShardRead {
        found: 0,
        handed_off: 0,
        bound: run.now,
        error: None,
    };
    let mut last = run.after;
    let mut outbox = Vec::new();
    'days: for day in &run.days {
        let mut start = None;
        let mut first = true;
        while first || start.is_some() {
            first = false;
            if run.options.budget.expired() {
                read.bound = (last - Duration::seconds(1)).max(run.after);
                break 'days;
            }
            let page = match run
                .store
                .due_page(
                    (*day, shard),
                    Some(run.after),
                    run.now,
                    run.options.page,
                    start.take(),
                )
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    read.bound = (last - Duration::seconds(1)).max(run.after);
                    read.error = Some(e);
                    break 'days;
                }
            };
            start = page.next;
            for entry in page.entries {
                read.found += 1;
                last = last.max(entry.at);
                if !run.options.queue.fans_out() || run.keep() {
                    // Without a queue every entry goes to the releasing tasks, which
                    // leave what the budget does not allow.
                    if let Err(mpsc::error::SendError(entry)) = pool.send(entry).await {
                        outbox.push(entry);
                    }
                } else {
                    outbox.push(entry);
                }
            }
            if outbox.len() >= MESSAGE_DUES * MESSAGES_PER_SEND {
                hand_over(&run, &mut outbox, &mut read).await;
            }
        }
    }
    hand_over(&run, &mut outbox, &mut read).await;
    read
}

async fn hand_over(run: &Run, outbox: &mut Vec<DueEntry>, read: &mut ShardRead) {
    if outbox.is_empty() {
        return;
    }
    let (sent, refused) = run
        .options
        .queue
        .hand_over(run.now, std::mem::take(outbox))
        .await;
    read.handed_off += sent;
    read.bound = refused
        .iter()
        .map(|e| e.at - Duration::seconds(1))
        .fold(read.bound, DateTime::min);
}

/// A releasing task: takes up to [`BATCH_ENTRIES`] entries at a time until the
/// readers are done, releasing them together while the budget allows.
async fn release_from(run: Arc<Run>, entries: Arc<Mutex<mpsc::Receiver<DueEntry>>>) -> Released {
    let mut out = Released::default();
    let mut taken = next(&entries).await;
    while !taken.is_empty() {
        let (kept, spent): (Vec<DueEntry>, Vec<DueEntry>) =
            taken.into_iter().partition(|_| run.options.budget.take());
        out.left.extend(spent);
        let dues: Vec<Due> = kept.iter().map(|e| e.due.clone()).collect();
        let outcomes = release_many(&run.store, &dues, run.release_now()).await;
        out.report
            .count(kept.into_iter().zip(outcomes), |entry| out.left.push(entry));
        taken = next(&entries).await;
    }
    out
}

/// The next entries for a releasing task: at least one (none once the readers are
/// done), and what else is waiting, up to [`BATCH_ENTRIES`].
async fn next(entries: &Mutex<mpsc::Receiver<DueEntry>>) -> Vec<DueEntry> {
    let mut rx = entries.lock().await;
    let mut taken = Vec::new();
    if let Some(first) = rx.recv().await {
        taken.push(first);
    }
    while !taken.is_empty() && taken.len() < BATCH_ENTRIES {
        match rx.try_recv() {
            Ok(entry) => taken.push(entry),
            Err(_) => break,
        }
    }
    taken
}

/// Releases what is due of one allotment or group at `now`: `(nights released,
/// allotment became released)`. A no-op when nothing is due (released already by
/// another run or message, cancelled, or moved later by a PATCH).
pub async fn release_due(
    store: &Store,
    due: &Due,
    now: DateTime<Utc>,
) -> Result<(u64, bool), ApiError> {
    match due.kind {
        DueKind::Group => release_group(store, due, now).await,
        DueKind::Allotment => release(store, due, now).await,
    }
}

/// One run at `now`.
pub async fn run(store: &Store, now: DateTime<Utc>, options: &Options) -> Result<Report, ApiError> {
    let watermark = store.release_watermark().await?;
    let after = read_after(watermark, now);
    let run = Arc::new(Run {
        store: store.clone(),
        options: options.clone(),
        now,
        after,
        days: days_to_scan(after, now),
        inline: AtomicUsize::new(options.inline),
    });
    let concurrency = options.concurrency.max(1);
    // Without a queue the readers wait for the releasing tasks (they read no further
    // than the run releases); with one they never wait: what the run keeps fits.
    let capacity = if options.queue.fans_out() {
        options.inline.min(100_000) + concurrency
    } else {
        concurrency * BATCH_ENTRIES
    };
    let (pool_tx, pool_rx) = mpsc::channel(capacity);
    let pool_rx = Arc::new(Mutex::new(pool_rx));
    let mut pool: JoinSet<Released> = (0..concurrency)
        .map(|_| release_from(run.clone(), pool_rx.clone()))
        .collect();
    let mut shards: JoinSet<ShardRead> = (0..SHARDS)
        .map(|shard| read_shard(run.clone(), shard, pool_tx.clone()))
        .collect();
    drop(pool_tx);

    let mut report = Report::default();
    // What requests that died between the steps of a big plan left: resolved first
    // (a failure here is logged and left to the next run, never the releases').
    match store.sweep_steps(now).await {
        Ok(n) => report.steps_resolved = n as u64,
        Err(e) => tracing::error!(function = NAME, error = %e, "sweeping steps failed"),
    }
    let mut bound = now;
    let mut error = None;
    while let Some(read) = shards.join_next().await {
        let read = read.map_err(|e| ApiError::Internal(format!("index reader: {e}")))?;
        report.found += read.found;
        report.handed_off += read.handed_off;
        bound = bound.min(read.bound);
        error = error.or(read.error);
    }
    let mut left = Vec::new();
    while let Some(released) = pool.join_next().await {
        let released = released.map_err(|e| ApiError::Internal(format!("release task: {e}")))?;
        report.add(&released.report);
        left.extend(released.left);
    }
    // What the run could not release itself: to the queue, else to the next run.
    if !left.is_empty() && options.queue.fans_out() {
        let (sent, refused) = options.queue.hand_over(now, left).await;
        report.handed_off += sent;
        left = refused;
    }
    bound = left
        .iter()
        .map(|e| e.at - Duration::seconds(1))
        .fold(bound, DateTime::min);
    report.more = bound < now;

    // An idle run within the watermark's day writes nothing: entries it released are
    // gone from the index, and nothing readable was skipped.
    let moves = match watermark {
        Some(w) if w >= now => false,
        Some(w) => report.found > 0 || w.date_naive() != bound.date_naive(),
        None => true,
    };
    if moves {
        store.move_release_watermark(watermark, bound).await?;
    }
    if let Some(e) = error {
        tracing::error!(function = NAME, error = %e, "index read failed; the next run resumes there");
        return Err(e);
    }
    Ok(report)
}

/// Releases what is due of one allotment or group: `(nights released, allotment
/// became released)`.
async fn release(store: &Store, due: &Due, now: DateTime<Utc>) -> Result<(u64, bool), ApiError> {
    if due.kind == DueKind::Group {
        return release_group(store, due, now).await;
    }
    // A release too big for one event goes in parts (earliest nights first), one after
    // the other.
    let mut released = 0;
    loop {
        let (nights, finished, more) = execute(store, &CutoffRelease { store, due, now }).await?;
        released += nights;
        if !more {
            return Ok((released, finished));
        }
    }
}

/// The scheduled release of one allotment: the nights due at `now`.
struct CutoffRelease<'a> {
    store: &'a Store,
    due: &'a Due,
    now: DateTime<Utc>,
}

impl Command for CutoffRelease<'_> {
    type State = Option<(AllotmentRecord, Grid)>;
    /// Nights released, whether the allotment became released, and whether a next
    /// part is due.
    type Output = (u64, bool, bool);

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
            return Ok(Decision::Answer((0, false, false)));
        };
        Ok(match plan_cutoff_release(&record, &grid, self.now)? {
            None => Decision::Answer((0, false, false)),
            Some(p) => Decision::Apply(p.allotment.plan, (p.released_nights, p.finished, p.more)),
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
    // A release too big for one event goes in parts: until nothing is due.
    let command = ReleaseGroup { store, due, now };
    while shared::command::execute(store, &command).await? {}
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
    /// Whether nights were released.
    type Output = bool;

    fn tenant(&self) -> &shared::domain::ids::TenantId {
        &self.due.tenant
    }

    async fn load(&self, _: shared::command::Attempt) -> Result<Self::State, ApiError> {
        self.store
            .load_group(&self.due.tenant, self.due.allotment_id)
            .await
    }

    /// Nothing due (done by another run, or the group was deleted): a no-op.
    fn plan(&self, group: Self::State) -> Result<shared::command::Decision<bool>, ApiError> {
        use shared::command::Decision;
        let planned = group
            .as_ref()
            .and_then(|g| shared::domain::group::plan_group_release(g, self.now));
        Ok(match planned {
            Some(p) => Decision::Apply(p.plan, true),
            None => Decision::Answer(false),
        })
    }
}

#[cfg(test)]
mod tests;
