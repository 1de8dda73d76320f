//! The run's outcome as CloudWatch metrics, in the embedded metric format: one JSON line
//! on stdout that CloudWatch Logs turns into the metrics `ReleaseFailures` and
//! `NightsReleased` (namespace `Allotments`, dimension `FunctionName`). A failed release
//! is logged and the run still succeeds, so Lambda's `Errors` never counts it: the
//! template's alarm watches `ReleaseFailures` instead.
//!
//! The line carries `level` and an RFC 3339 `timestamp` like every other log line, so
//! Lambda's log-level filter keeps it: `ERROR` when something failed (kept at any
//! `LogLevel`), `INFO` otherwise (a quiet run under `LogLevel` `WARN` sends no line:
//! missing data, which the failure alarm treats as not breaching).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::Report;

pub const NAMESPACE: &str = "Allotments";
pub const DIMENSION: &str = "FunctionName";
pub const FAILURES: &str = "ReleaseFailures";
pub const NIGHTS: &str = "NightsReleased";

/// The metric document of one run, reported at `at` by `function`.
pub fn document(report: &Report, function: &str, at: DateTime<Utc>) -> Value {
    let failed = report.failures > 0;
    json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [
                    {"Name": FAILURES, "Unit": "Count"},
                    {"Name": NIGHTS, "Unit": "Count"},
                ],
            }],
        },
        DIMENSION: function,
        FAILURES: report.failures,
        NIGHTS: report.released_nights,
        "allotmentsReleased": report.allotments_released,
        "more": report.more,
        "level": if failed { "ERROR" } else { "INFO" },
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "message": "cutoff metrics",
    })
}

/// Prints the run's metric line on Lambda (see `shared::http::emit_metrics`).
pub fn emit(report: &Report) {
    shared::http::emit_metrics(|function, at| document(report, function, at));
}

#[cfg(test)]
mod metric_tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T10:05:00.250Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_document_declares_each_metric_it_carries() {
        let report = Report {
            released_nights: 42,
            allotments_released: 3,
            failures: 0,
            more: false,
            ..Report::default()
        };
        let d = document(&report, "stack-CutoffReleaseFunction-abc", at());
        assert_eq!(d["_aws"]["Timestamp"], 1_780_308_300_250i64);
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([[DIMENSION]]));
        // Every declared dimension and metric is a member of the root, metrics as numbers.
        assert_eq!(d[DIMENSION], "stack-CutoffReleaseFunction-abc");
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [FAILURES, NIGHTS]);
        for name in names {
            assert!(d[name].is_u64(), "{name}: {d}");
        }
        assert_eq!(d[FAILURES], 0);
        assert_eq!(d[NIGHTS], 42);
        assert_eq!(d["level"], "INFO");
        assert_eq!(d["timestamp"], "2026-06-01T10:05:00.250Z");
        // One line.
        assert!(!d.to_string().contains('\n'));
    }

    #[test]
    fn a_run_with_failures_is_an_error_line() {
        let report = Report {
            failures: 2,
            ..Report::default()
        };
        let d = document(&report, "f", at());
        assert_eq!(d[FAILURES], 2);
        assert_eq!(d["level"], "ERROR");
    }
}
