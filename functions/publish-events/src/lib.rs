//! Push: the table's DynamoDB stream → this function → the EventBridge bus
//! `allotments-events`, where consumers' rules and API destinations take over (fan-out,
//! webhooks, retries).
//!
//! Every command writes its events in its own transaction as one *event item* (the
//! outbox): `PK = T#<tenant>#EV#<establishmentId>#<YYYY-MM-DD>`, `SK = EV#<itemId>`,
//! `events` = the JSON array of the public events, `tenant`, `expiresAt` (TTL). The
//! stream delivers each item's `INSERT` once per shard position (the event source
//! mapping's filter lets only those through; a TTL expiry's `REMOVE` and any other item
//! are ignored here too). Each public event becomes one bus entry:
//!
//! - `Source` = [`SOURCE`], `DetailType` = the event's `type` (`pickup.created`, ...);
//! - `Detail` = `{"tenant": "<tenant>", "event": <the public event, as the feed serves
//!   it>}`: a rule routes per tenant (`detail.tenant`) and per establishment
//!   (`detail.event.establishmentId`), and an API destination target with `InputPath`
//!   `$.detail.event` delivers the public event unchanged.
//!
//! **Idempotent per event id, delivered at least once.** EventBridge does not
//! deduplicate, and a stream batch that is retried puts again what an earlier attempt
//! already put, so a consumer may see an event twice: it deduplicates by `id` (and orders
//! by `sequence` per subject; the bus keeps no order). Within one invocation an event id
//! is put at most once. A conditional "published" marker on the event item would cost a
//! write per command and still not close the gap (marked but not put if the put fails,
//! or put but not marked if the invocation dies in between), so there is none.
//!
//! **Partial batch failures.** Records are taken in stream order; the response names the
//! sequence number of the first record that failed (an entry EventBridge refused, a call
//! that failed, a corrupt item, or the time budget running out), and nothing after it is
//! put, so Lambda retries from there in order. A corrupt item (unreadable `events`, an
//! event without its id or type, a tenant or establishment that does not match the key,
//! an event over EventBridge's 256 KiB) is logged by its key (never its content: a pickup
//! may carry a guest's name) and reported; Lambda's retries (bisecting the batch) end with
//! it alone in the on-failure queue, and the records after it go on.
//!
//! The bus is behind [`Bus`]: [`bus::EventBridgeBus`] is the real `PutEvents` call (≤ 10
//! entries and ≤ 256 KiB a call, each entry's outcome read), [`bus::LogBus`] logs
//! instead (no `EVENT_BUS_NAME`: `cargo lambda invoke`, the local server).

use std::collections::HashSet;
use std::future::Future;
use std::ops::Range;
use std::time::SystemTime;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_dynamo::AttributeValue;
use serde_json::{json, Value};
use shared::domain::ids::{parse_uuid, TenantId};

pub mod bus;
pub mod metrics;

pub use aws_lambda_events;

pub const NAME: &str = "publish-events";
/// The `source` of every entry (what a rule's pattern matches first).
pub const SOURCE: &str = "allotments";
/// Entries per `PutEvents` call.
pub const MAX_ENTRIES: usize = 10;
/// Bytes per `PutEvents` call (and so per entry), as EventBridge counts them.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// The sort key prefix of event items.
pub const EVENT_SK_PREFIX: &str = "EV#";

/// One bus entry: a public event of record `record` of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub record: usize,
    /// The event's `id` (for logs and deduplication; also inside `detail`).
    pub id: String,
    pub detail_type: String,
    pub detail: String,
}

impl Entry {
    /// The entry's size as EventBridge counts it: source, detail type and detail in UTF-8
    /// (no `Time`, no `Resources` are set).
    pub fn size(&self) -> usize {
        SOURCE.len() + self.detail_type.len() + self.detail.len()
    }
}

/// What a bus said of one entry: `None` accepted, `Some(error code)` refused.
pub type Refusal = Option<String>;

/// Where events go.
pub trait Bus: Send + Sync {
    /// Puts at most [`MAX_ENTRIES`] entries of at most [`MAX_REQUEST_BYTES`] in all, in
    /// one call: each entry's outcome, in order; `Err` when the call itself failed
    /// (nothing known to be put).
    fn put(&self, entries: &[Entry]) -> impl Future<Output = Result<Vec<Refusal>, String>> + Send;
}

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub response: DynamoDbEventResponse,
    /// Entries the bus accepted.
    pub published: u64,
    /// Entries refused by the bus or lost with a failed call.
    pub failed: u64,
    /// Event items that cannot be published.
    pub corrupt: u64,
    /// Records that are no event item's INSERT.
    pub ignored: u64,
    /// Events of the batch already put by this invocation.
    pub repeated: u64,
}

/// Why a record cannot be published (static text: never the item's content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt(pub &'static str);

/// Publishes the events of `event`'s records through `bus`, in order, stopping at the
/// first failure; a call is not started after `stop_at` (the invocation's deadline less
/// a call's timeout). `Err` only when a record to retry has no sequence number (the
/// whole batch is then retried).
pub async fn handle<B: Bus>(
    bus: &B,
    event: &Event,
    stop_at: Option<SystemTime>,
) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let mut first_failed: Option<usize> = None;
    for (i, record) in event.records.iter().enumerate() {
        match decode(i, record) {
            Ok(None) => outcome.ignored += 1,
            Ok(Some(events)) => {
                for e in events {
                    if seen.insert(e.id.clone()) {
                        entries.push(e);
                    } else {
                        outcome.repeated += 1;
                    }
                }
            }
            Err(Corrupt(reason)) => {
                outcome.corrupt += 1;
                tracing::error!(
                    function = NAME,
                    sequence = record.change.sequence_number.as_deref().unwrap_or(""),
                    pk = key_of(record, "PK").unwrap_or(""),
                    sk = key_of(record, "SK").unwrap_or(""),
                    reason,
                    "corrupt event item: reported (it ends in the on-failure queue after the retries)"
                );
                first_failed = Some(i);
                break;
            }
        }
    }
    for range in chunks(&entries) {
        let chunk = &entries[range];
        if stop_at.is_some_and(|t| SystemTime::now() >= t) {
            first_failed = Some(first_failed.map_or(chunk[0].record, |f| f.min(chunk[0].record)));
            tracing::warn!(
                function = NAME,
                "time budget spent: the rest of the batch is retried"
            );
            break;
        }
        let refused = match bus.put(chunk).await {
            Ok(results) if results.len() == chunk.len() => results,
            Ok(results) => {
                tracing::error!(
                    function = NAME,
                    sent = chunk.len(),
                    answered = results.len(),
                    "the bus answered for another number of entries: all retried"
                );
                vec![Some("UnmatchedAnswer".to_string()); chunk.len()]
            }
            Err(error) => {
                tracing::error!(function = NAME, entries = chunk.len(), error = %error, "PutEvents failed: retried");
                vec![Some("CallFailed".to_string()); chunk.len()]
            }
        };
        for (entry, refusal) in chunk.iter().zip(&refused) {
            match refusal {
                None => outcome.published += 1,
                Some(code) => {
                    outcome.failed += 1;
                    tracing::warn!(function = NAME, event_id = %entry.id, detail_type = %entry.detail_type, code = %code, "entry refused: retried");
                    first_failed = Some(first_failed.map_or(entry.record, |f| f.min(entry.record)));
                }
            }
        }
        if first_failed.is_some() {
            break;
        }
    }
    if let Some(i) = first_failed {
        let sequence = event.records[i]
            .change
            .sequence_number
            .clone()
            .ok_or("a failed record has no sequence number: the whole batch is retried")?;
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        outcome.response.batch_item_failures.push(failure);
    }
    tracing::info!(
        function = NAME,
        records = event.records.len(),
        published = outcome.published,
        failed = outcome.failed,
        corrupt = outcome.corrupt,
        ignored = outcome.ignored,
        repeated = outcome.repeated,
        retry_from = first_failed.map(|i| i as u64),
        "publish batch"
    );
    Ok(outcome)
}

fn string<'a>(item: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

fn key_of<'a>(record: &'a EventRecord, name: &str) -> Option<&'a str> {
    string(&record.change.keys, name)
}

/// The bus entries of record `i`: `None` when it is no event item's INSERT.
pub fn decode(i: usize, record: &EventRecord) -> Result<Option<Vec<Entry>>, Corrupt> {
    if record.event_name != "INSERT"
        || !key_of(record, "SK").is_some_and(|sk| sk.starts_with(EVENT_SK_PREFIX))
    {
        return Ok(None);
    }
    let item = &record.change.new_image;
    let tenant = string(item, "tenant")
        .filter(|t| TenantId::parse(t).is_ok())
        .ok_or(Corrupt("no valid tenant attribute"))?;
    // The key names the tenant and the establishment: an event that says otherwise is
    // never routed (a rule matching the tenant would hand it to the wrong consumer).
    let establishment = string(item, "PK")
        .or_else(|| key_of(record, "PK"))
        .and_then(|pk| {
            pk.strip_prefix("T#")?
                .strip_prefix(tenant)?
                .strip_prefix("#EV#")
        })
        .and_then(|rest| rest.split('#').next())
        .ok_or(Corrupt("the key is no event partition of its tenant"))?;
    let text = string(item, "events").ok_or(Corrupt("no events string (NEW_IMAGE)"))?;
    let Ok(Value::Array(events)) = serde_json::from_str::<Value>(text) else {
        return Err(Corrupt("events is no JSON array"));
    };
    if events.is_empty() {
        return Err(Corrupt("events is empty"));
    }
    events
        .into_iter()
        .map(|event| entry(i, tenant, establishment, event))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn entry(i: usize, tenant: &str, establishment: &str, event: Value) -> Result<Entry, Corrupt> {
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| parse_uuid(id).is_some())
        .ok_or(Corrupt("an event without a UUID id"))?
        .to_string();
    let detail_type = event
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or(Corrupt("an event without a type"))?
        .to_string();
    if event.get("establishmentId").and_then(Value::as_str) != Some(establishment) {
        return Err(Corrupt("an event of another establishment than its key"));
    }
    let entry = Entry {
        record: i,
        id,
        detail_type,
        detail: json!({"tenant": tenant, "event": event}).to_string(),
    };
    if entry.size() > MAX_REQUEST_BYTES {
        return Err(Corrupt("an event larger than EventBridge takes (256 KiB)"));
    }
    Ok(entry)
}

/// `entries` cut into calls, in order: at most [`MAX_ENTRIES`] and [`MAX_REQUEST_BYTES`]
/// each (every entry fits one call: [`decode`] refuses larger ones).
pub fn chunks(entries: &[Entry]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        if i > start && (i - start == MAX_ENTRIES || bytes + e.size() > MAX_REQUEST_BYTES) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += e.size();
    }
    if start < entries.len() {
        out.push(start..entries.len());
    }
    out
}

/// The answer Lambda reads (`{"batchItemFailures": [{"itemIdentifier": ...}]}`).
pub fn answer(outcome: &Outcome) -> Value {
    let failures: Vec<Value> = outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| json!({"itemIdentifier": f.item_identifier}))
        .collect();
    json!({ "batchItemFailures": failures })
}

#[cfg(test)]
mod tests;
