//! The buses: EventBridge (deployed), or a log line per entry (no `EVENT_BUS_NAME`).

use std::time::Duration;

use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::{Bus, Entry, Refusal, NAME, SOURCE};

/// One `PutEvents` call is bounded: 1 s to connect, 3 s an attempt, 10 s in all
/// (the SDK retries throttling and 5xx within it). [`STOP_MARGIN`] keeps a whole call
/// inside the invocation's timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// No call starts later than this before the invocation's deadline.
pub const STOP_MARGIN: Duration = Duration::from_secs(12);

/// `PutEvents` on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        EventBridgeBus {
            client,
            bus: bus.into(),
        }
    }
}

impl Bus for EventBridgeBus {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Refusal>, String> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .build()
            })
            .collect();
        let out = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| format!("PutEvents: {}", DisplayErrorContext(e)))?;
        // One result per entry, in order: an event id, or an error code (FailedEntryCount
        // counts the latter).
        let results: Vec<Refusal> = out
            .entries()
            .iter()
            .map(|r| match (r.error_code(), r.event_id()) {
                (Some(code), _) => Some(code.to_string()),
                (None, Some(_)) => None,
                (None, None) => Some("NoEventId".to_string()),
            })
            .collect();
        let refused = results.iter().filter(|r| r.is_some()).count();
        if usize::try_from(out.failed_entry_count()).ok() != Some(refused) {
            tracing::warn!(
                function = NAME,
                failed_entry_count = out.failed_entry_count(),
                refused,
                "FailedEntryCount disagrees with the entries' error codes (the entries decide)"
            );
        }
        Ok(results)
    }
}

/// Logs each entry instead of putting it (its id and type, never its content).
#[derive(Debug, Clone, Default)]
pub struct LogBus;

impl Bus for LogBus {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Refusal>, String> {
        for e in entries {
            tracing::info!(function = NAME, event_id = %e.id, detail_type = %e.detail_type, bytes = e.size(), "event not published (no EVENT_BUS_NAME): logged");
        }
        Ok(vec![None; entries.len()])
    }
}

/// The bus the environment names.
#[derive(Debug, Clone)]
pub enum Configured {
    EventBridge(EventBridgeBus),
    Log(LogBus),
}

impl Configured {
    /// `EVENT_BUS_NAME` (the template sets it to the stack's bus): EventBridge with the
    /// credentials and region of the environment; unset or empty, the log bus (a local
    /// run: `cargo lambda invoke`, the local server).
    pub async fn from_env() -> Configured {
        match std::env::var("EVENT_BUS_NAME") {
            Ok(name) if !name.is_empty() => {
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build();
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .timeout_config(timeouts)
                    .load()
                    .await;
                Configured::EventBridge(EventBridgeBus::new(
                    aws_sdk_eventbridge::Client::new(&conf),
                    name,
                ))
            }
            _ => {
                tracing::warn!(
                    function = NAME,
                    "EVENT_BUS_NAME is not set: events are logged, not published"
                );
                Configured::Log(LogBus)
            }
        }
    }
}

impl Bus for Configured {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Refusal>, String> {
        match self {
            Configured::EventBridge(b) => b.put(entries).await,
            Configured::Log(b) => b.put(entries).await,
        }
    }
}
