//! The release queue: what a run cannot release itself goes to the `cutoff-release-worker`
//! function through SQS (deployed) or an in-process channel (the local server), in
//! messages of [`MESSAGE_DUES`] entries, ten messages per request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::establishment::format_instant;
use shared::domain::ids::TenantId;
use shared::store::releases::{Due, DueEntry, DueKind};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Entries per message (about 9 KB of JSON; a worker invocation takes up to ten).
pub const MESSAGE_DUES: usize = 100;
/// Messages per `SendMessageBatch`.
pub const MESSAGES_PER_SEND: usize = 10;

#[derive(Debug, Clone, Default)]
pub enum Queue {
    /// No fan-out: a run releases everything itself, within its budget.
    #[default]
    None,
    Sqs {
        client: aws_sdk_sqs::Client,
        url: String,
    },
    /// The local server's in-process queue (drained by the worker's handler).
    Local(mpsc::UnboundedSender<String>),
}

#[derive(Debug, Serialize, Deserialize)]
struct Body {
    /// The run's time: what was due then (the worker releases what is due when it runs).
    time: String,
    due: Vec<Item>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    tenant: String,
    kind: String,
    id: Uuid,
}

/// The body of one message.
pub fn message(now: DateTime<Utc>, entries: &[DueEntry]) -> String {
    let body = Body {
        time: format_instant(&now),
        due: entries
            .iter()
            .map(|e| Item {
                tenant: e.due.tenant.as_str().to_string(),
                kind: e.due.kind.as_str().to_string(),
                id: e.due.allotment_id,
            })
            .collect(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// A message's time and entries; a malformed one is refused whole.
pub fn parse_message(body: &str) -> Result<(DateTime<Utc>, Vec<Due>), String> {
    let body: Body = serde_json::from_str(body).map_err(|e| format!("unreadable message: {e}"))?;
    let time = DateTime::parse_from_rfc3339(&body.time)
        .map_err(|_| "the message time is no RFC 3339 instant".to_string())?
        .with_timezone(&Utc);
    let due = body
        .due
        .into_iter()
        .map(|i| {
            Ok(Due {
                tenant: TenantId::parse(&i.tenant)?,
                kind: DueKind::parse(&i.kind).ok_or_else(|| format!("unknown kind {}", i.kind))?,
                allotment_id: i.id,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((time, due))
}

impl Queue {
    /// SQS when `CUTOFF_QUEUE_URL` is set (deployed), else none.
    pub async fn from_env() -> Queue {
        match std::env::var("CUTOFF_QUEUE_URL") {
            Ok(url) if !url.is_empty() => {
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await;
                Queue::Sqs {
                    client: aws_sdk_sqs::Client::new(&conf),
                    url,
                }
            }
            _ => Queue::None,
        }
    }

    pub fn fans_out(&self) -> bool {
        !matches!(self, Queue::None)
    }

    /// Hands `entries` to the queue: the number handed over, and those it refused
    /// (left for the next run).
    pub async fn hand_over(
        &self,
        now: DateTime<Utc>,
        entries: Vec<DueEntry>,
    ) -> (u64, Vec<DueEntry>) {
        let mut sent = 0;
        let mut refused = Vec::new();
        for group in entries.chunks(MESSAGE_DUES * MESSAGES_PER_SEND) {
            let messages: Vec<&[DueEntry]> = group.chunks(MESSAGE_DUES).collect();
            let failed = self.send(now, &messages).await;
            for (i, m) in messages.iter().enumerate() {
                if failed.contains(&i) {
                    refused.extend_from_slice(m);
                } else {
                    sent += m.len() as u64;
                }
            }
        }
        (sent, refused)
    }

    /// Sends up to ten messages: the indexes of those not sent.
    async fn send(&self, now: DateTime<Utc>, messages: &[&[DueEntry]]) -> Vec<usize> {
        let all = || (0..messages.len()).collect::<Vec<_>>();
        match self {
            Queue::None => all(),
            Queue::Local(tx) => messages
                .iter()
                .enumerate()
                .filter(|(_, m)| tx.send(message(now, m)).is_err())
                .map(|(i, _)| i)
                .collect(),
            Queue::Sqs { client, url } => {
                let mut batch = client.send_message_batch().queue_url(url);
                for (i, m) in messages.iter().enumerate() {
                    match aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(message(now, m))
                        .build()
                    {
                        Ok(entry) => batch = batch.entries(entry),
                        Err(e) => {
                            tracing::error!(error = %e, "release message not built");
                            return all();
                        }
                    }
                }
                match batch.send().await {
                    Ok(out) => out
                        .failed()
                        .iter()
                        .filter_map(|f| {
                            tracing::error!(
                                code = f.code(),
                                "release message refused by the queue"
                            );
                            f.id().parse().ok()
                        })
                        .collect(),
                    Err(e) => {
                        tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "release messages not sent");
                        all()
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_its_time_and_entries_and_refuses_garbage() {
        let now = DateTime::parse_from_rfc3339("2026-08-01T22:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = Uuid::new_v4();
        let entry = DueEntry {
            due: Due {
                tenant: TenantId::parse("acme").unwrap(),
                kind: DueKind::Group,
                allotment_id: id,
            },
            at: now,
        };
        let body = message(now, std::slice::from_ref(&entry));
        assert_eq!(parse_message(&body), Ok((now, vec![entry.due])));
        for bad in [
            "",
            "{}",
            r#"{"time": "soon", "due": []}"#,
            &format!(
                r#"{{"time": "2026-08-01T22:00:00Z", "due": [{{"tenant": "a b", "kind": "allotment", "id": "{id}"}}]}}"#
            ),
            &format!(
                r#"{{"time": "2026-08-01T22:00:00Z", "due": [{{"tenant": "acme", "kind": "pickup", "id": "{id}"}}]}}"#
            ),
        ] {
            assert!(parse_message(bad).is_err(), "{bad}");
        }
        let full: Vec<DueEntry> = (0..MESSAGE_DUES)
            .map(|_| DueEntry {
                due: Due {
                    tenant: TenantId::parse(
                        "a-tenant-name-of-sixty-four-characters-at-most-0123456789abcdef",
                    )
                    .unwrap(),
                    kind: DueKind::Allotment,
                    allotment_id: Uuid::new_v4(),
                },
                at: now,
            })
            .collect();
        assert!(
            message(now, &full).len() * MESSAGES_PER_SEND < 256 * 1024,
            "ten full messages fit one SendMessageBatch"
        );
    }
}
