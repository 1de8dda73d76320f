//! The invocation's outcome as CloudWatch metrics, in the embedded metric format (as
//! `cutoff-release` does): one JSON line on stdout that CloudWatch Logs turns into
//! `EventsPublished`, `PublishFailures` and `CorruptEventItems` (namespace `Allotments`,
//! dimension `FunctionName`). A partial batch failure is no Lambda error, so `Errors`
//! never counts refused entries: these do (and the iterator age grows while a record is
//! retried). `ERROR` level when something failed, `INFO` otherwise.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::Outcome;

pub const NAMESPACE: &str = "Allotments";
pub const DIMENSION: &str = "FunctionName";
pub const PUBLISHED: &str = "EventsPublished";
pub const FAILURES: &str = "PublishFailures";
pub const CORRUPT: &str = "CorruptEventItems";

/// The metric document of one invocation, reported at `at` by `function`.
pub fn document(outcome: &Outcome, function: &str, at: DateTime<Utc>) -> Value {
    let failed = outcome.failed > 0 || outcome.corrupt > 0;
    json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [
                    {"Name": PUBLISHED, "Unit": "Count"},
                    {"Name": FAILURES, "Unit": "Count"},
                    {"Name": CORRUPT, "Unit": "Count"},
                ],
            }],
        },
        DIMENSION: function,
        PUBLISHED: outcome.published,
        FAILURES: outcome.failed,
        CORRUPT: outcome.corrupt,
        "level": if failed { "ERROR" } else { "INFO" },
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "message": "publish metrics",
    })
}

/// Prints the metric line on Lambda (see `shared::http::emit_metrics`).
pub fn emit(outcome: &Outcome) {
    shared::http::emit_metrics(|function, at| document(outcome, function, at));
}
