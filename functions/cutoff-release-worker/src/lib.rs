//! The release worker: releases the due allotments and groups the scheduled cutoff
//! handed to its queue (SQS event source mapping, batches of up to ten messages of up
//! to [`MESSAGE_DUES`] entries).
//!
//! The entries of a message are released together as the scheduled run releases them
//! ([`cutoff_release::release_many`]: batched reads, several releases per conditional
//! transaction, each guarded by the version it read), so a
//! duplicate message, or one delivered after the allotment was released, cancelled or
//! PATCHed to a later cutoff, is a no-op. Deployed, "now" is the worker's clock (what is
//! due when it runs, never before its moment); locally, the message's time. A message
//! with a failed or unstarted entry (the time budget ran out) is reported in
//! `batchItemFailures`: SQS delivers it again (its released entries are no-ops then),
//! and after `maxReceiveCount` deliveries moves it to the dead-letter queue.
//!
//! Locally, [`deliver_locally`] runs the scheduled function with an in-process queue
//! drained by this handler: `POST /_local/events/cutoff-release`.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cutoff_release::{parse_message, release_many, Budget, Options, Queue, Report, BATCH_ENTRIES};
use serde_json::{json, Value};
use shared::domain::error::ApiError;
use shared::store::releases::Due;
use shared::store::Store;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

pub use cutoff_release::MESSAGE_DUES;

pub const NAME: &str = "cutoff-release-worker";
/// Deliveries of a message before it goes to the dead-letter queue (the template's
/// `maxReceiveCount`; the local queue does the same).
pub const MAX_RECEIVES: u32 = 5;
/// Messages per invocation (the event source mapping's `BatchSize`).
pub const BATCH_SIZE: usize = 10;

/// How an invocation works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub budget: Budget,
    pub concurrency: usize,
    /// Deployed: "now" is the clock; locally the message's time.
    pub live_clock: bool,
}

impl WorkerOptions {
    pub fn local() -> Self {
        WorkerOptions {
            budget: Budget::within(cutoff_release::LOCAL_BUDGET),
            concurrency: concurrency(),
            live_clock: false,
        }
    }

    pub fn deployed(budget: Budget) -> Self {
        WorkerOptions {
            budget,
            concurrency: concurrency(),
            live_clock: true,
        }
    }
}

fn concurrency() -> usize {
    cutoff_release::env_number("CUTOFF_CONCURRENCY", cutoff_release::DEFAULT_CONCURRENCY)
}

/// The SQS batch response: `{"batchItemFailures": [{"itemIdentifier": "<messageId>"}]}`.
pub async fn handle_event(
    store: &Store,
    event: &Value,
    options: &WorkerOptions,
) -> Result<Value, ApiError> {
    let (failed, _) = process(store, event, options).await?;
    Ok(batch_response(&failed))
}

pub fn batch_response(failed: &BTreeSet<String>) -> Value {
    json!({"batchItemFailures": failed.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>()})
}

/// Entries of one message released together: the message, its time and what is due.
struct Work {
    message: usize,
    time: DateTime<Utc>,
    dues: Vec<Due>,
}

/// Releases every entry of the batch: the ids of the messages to deliver again, and
/// what was released.
pub async fn process(
    store: &Store,
    event: &Value,
    options: &WorkerOptions,
) -> Result<(BTreeSet<String>, Report), ApiError> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::validation("Records", "must be the records of an SQS event"))?;
    let mut ids = Vec::with_capacity(records.len());
    let mut failed = BTreeSet::new();
    let mut work = VecDeque::new();
    let mut entries = 0;
    for (i, record) in records.iter().enumerate() {
        let id = record
            .get("messageId")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::validation("messageId", "every record names its message"))?;
        ids.push(id.to_string());
        let body = record.get("body").and_then(Value::as_str).unwrap_or("");
        match parse_message(body) {
            Ok((time, dues)) => {
                entries += dues.len();
                work.extend(dues.chunks(BATCH_ENTRIES).map(|dues| Work {
                    message: i,
                    time,
                    dues: dues.to_vec(),
                }))
            }
            Err(e) => {
                tracing::error!(function = NAME, message = id, error = %e, "malformed release message");
                failed.insert(id.to_string());
            }
        }
    }
    let work = Arc::new(Mutex::new(work));
    let mut tasks: JoinSet<(Report, BTreeSet<usize>)> = (0..options.concurrency.max(1))
        .map(|_| release_from(store.clone(), work.clone(), options.clone()))
        .collect();
    let mut report = Report::default();
    while let Some(done) = tasks.join_next().await {
        let (r, bad) = done.map_err(|e| ApiError::Internal(format!("release task: {e}")))?;
        report.add(&r);
        failed.extend(bad.into_iter().map(|i| ids[i].clone()));
    }
    report.found = entries as u64;
    tracing::info!(
        function = NAME,
        messages = records.len(),
        entries,
        released_nights = report.released_nights,
        allotments_released = report.allotments_released,
        failures = report.failures,
        messages_failed = failed.len(),
        "release batch"
    );
    Ok((failed, report))
}

async fn release_from(
    store: Store,
    work: Arc<Mutex<VecDeque<Work>>>,
    options: WorkerOptions,
) -> (Report, BTreeSet<usize>) {
    let mut report = Report::default();
    let mut failed = BTreeSet::new();
    while let Some(w) = next(&work).await {
        if failed.contains(&w.message) {
            continue;
        }
        // Entries the budget does not allow fail their message (delivered again).
        let given = w.dues.len();
        let dues: Vec<Due> = w
            .dues
            .into_iter()
            .filter(|_| options.budget.take())
            .collect();
        if dues.len() < given {
            failed.insert(w.message);
        }
        let now = if options.live_clock {
            Utc::now()
        } else {
            w.time
        };
        let outcomes = release_many(&store, &dues, now).await;
        report.count(outcomes.into_iter().map(|o| (w.message, o)), |m| {
            failed.insert(m);
        });
    }
    (report, failed)
}

async fn next(work: &Mutex<VecDeque<Work>>) -> Option<Work> {
    work.lock().await.pop_front()
}

/// An SQS event of `bodies` (the local queue's deliveries, and tests).
pub fn sqs_event(bodies: &[(String, String, u32)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body, receives)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("local-{id}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": receives.to_string()},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:local:000000000000:cutoff-release",
                "awsRegion": "local"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What the local queue did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    pub report: Report,
    pub messages: u64,
    pub invocations: u64,
    /// Messages that failed [`MAX_RECEIVES`] times (the dead-letter queue).
    pub dead_letters: u64,
}

/// Drains the local queue as the event source mapping would: batches of up to
/// [`BATCH_SIZE`] messages, each failed message delivered again up to [`MAX_RECEIVES`]
/// times, until the sending side is closed and nothing is left.
pub async fn drain(store: Store, mut queue: mpsc::UnboundedReceiver<String>) -> Drained {
    let mut out = Drained::default();
    let mut again: VecDeque<(String, String, u32)> = VecDeque::new();
    let mut open = true;
    while open || !again.is_empty() {
        let mut batch: Vec<(String, String, u32)> = Vec::new();
        while batch.len() < BATCH_SIZE {
            match again.pop_front() {
                Some(m) => batch.push(m),
                None => break,
            }
        }
        if batch.is_empty() && open {
            match queue.recv().await {
                Some(body) => {
                    out.messages += 1;
                    batch.push((format!("local-{}", out.messages), body, 1));
                }
                None => open = false,
            }
        }
        while open && batch.len() < BATCH_SIZE {
            match queue.try_recv() {
                Ok(body) => {
                    out.messages += 1;
                    batch.push((format!("local-{}", out.messages), body, 1));
                }
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        out.invocations += 1;
        let event = sqs_event(&batch);
        let failed = match process(&store, &event, &WorkerOptions::local()).await {
            Ok((failed, report)) => {
                out.report.add(&report);
                failed
            }
            Err(e) => {
                tracing::error!(function = NAME, error = %e, "local release batch failed");
                batch.iter().map(|(id, _, _)| id.clone()).collect()
            }
        };
        for (id, body, receives) in batch {
            if !failed.contains(&id) {
                continue;
            }
            if receives >= MAX_RECEIVES {
                out.dead_letters += 1;
                tracing::error!(
                    function = NAME,
                    message = id,
                    "release message dead-lettered"
                );
            } else {
                again.push_back((id, body, receives + 1));
            }
        }
    }
    out
}

/// `POST /_local/events/cutoff-release`: the scheduled run with the local queue, drained
/// by this function's handler while the run goes on; the answer counts both.
pub async fn deliver_locally(store: &Store, event: &Value) -> Result<(Report, Drained), ApiError> {
    deliver_with(store, event, Options::local).await
}

/// [`deliver_locally`] with the run's options chosen by the caller (tests, bench).
pub async fn deliver_with(
    store: &Store,
    event: &Value,
    options: impl FnOnce(Queue) -> Options,
) -> Result<(Report, Drained), ApiError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(drain(store.clone(), rx));
    let options = options(Queue::Local(tx));
    let run = cutoff_release::handle(store, event, None, &options).await;
    drop(options);
    let drained = worker
        .await
        .map_err(|e| ApiError::Internal(format!("local queue: {e}")))?;
    let mut report = run?;
    report.add(&drained.report);
    Ok((report, drained))
}

#[cfg(test)]
mod tests;
