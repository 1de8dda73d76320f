//! Lambda wiring shared by every function's `main`.

use std::convert::Infallible;

use lambda_http::{service_fn, Request};
use tracing_subscriber::fmt::MakeWriter;

use super::{dispatch, Ctx, Function};
use crate::store::Store;

/// Libraries held at `info` when the level asks for more: at `trace` the Lambda runtime
/// logs each raw event (API keys, guest names) and the SDK each request body.
const QUIET_DEPENDENCIES: &[&str] = &[
    "aws_config",
    "aws_sdk_dynamodb",
    "aws_smithy_http_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "h2",
    "hyper",
    "hyper_util",
    "lambda_http",
    "lambda_runtime",
    "rustls",
    "tower",
];

/// The log filter: `AWS_LAMBDA_LOG_LEVEL` (which Lambda sets from the function's
/// `ApplicationLogLevel`, the template's `LogLevel`), else `RUST_LOG` (local runs), else
/// `info`.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    let level = match lambda_level
        .map(|l| l.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("TRACE") => Some("trace"),
        Some("DEBUG") => Some("debug"),
        Some("INFO") => Some("info"),
        Some("WARN") => Some("warn"),
        Some("ERROR" | "FATAL") => Some("error"),
        _ => None,
    };
    match level {
        Some(l @ ("trace" | "debug")) => std::iter::once(l.to_string())
            .chain(QUIET_DEPENDENCIES.iter().map(|d| format!("{d}=info")))
            .collect::<Vec<_>>()
            .join(","),
        Some(l) => l.to_string(),
        None => rust_log
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .unwrap_or("info")
            .to_string(),
    }
}

/// The log format of every function: one JSON object per line with an RFC 3339
/// `timestamp` and a `level` (so Lambda's JSON log format files and filters each line
/// by its own level), the event's fields under `fields`; no span or target noise.
pub fn log_subscriber<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .with_writer(writer)
        .finish()
}

/// JSON logs on stdout, filtered as [`log_filter`] says.
pub fn init_tracing() {
    let filter = log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let _ = tracing::subscriber::set_global_default(log_subscriber(&filter, std::io::stdout));
}

/// Prints one metric line (CloudWatch's embedded metric format, built by `document`
/// from the function's name and now) on stdout when running on Lambda
/// (`AWS_LAMBDA_FUNCTION_NAME` is set); local runs and tests print nothing. One write of
/// one line: a closed stdout loses the metric, never the invocation.
pub fn emit_metrics(
    document: impl FnOnce(&str, chrono::DateTime<chrono::Utc>) -> serde_json::Value,
) {
    if let Some(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|f| !f.is_empty())
    {
        use std::io::Write;
        let line = format!("{}\n", document(&function, chrono::Utc::now()));
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
}

/// Runs `function` on Lambda: the store client is built once, then every
/// invocation goes through [`dispatch`] (which takes its deadline from the invocation's
/// context).
pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
    init_tracing();
    let store = Store::from_env().await?;
    let ctx = Ctx::new(store);
    lambda_http::run(service_fn(move |req: Request| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(dispatch(&function, &ctx, req).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_level_comes_first_then_rust_log_then_info() {
        assert_eq!(log_filter(Some("WARN"), Some("debug")), "warn");
        assert_eq!(log_filter(Some("error"), None), "error");
        assert_eq!(log_filter(Some("FATAL"), None), "error");
        assert_eq!(log_filter(Some("INFO"), None), "info");
        assert_eq!(log_filter(None, Some("shared=debug")), "shared=debug");
        assert_eq!(log_filter(Some("bogus"), Some("warn")), "warn");
        assert_eq!(log_filter(None, None), "info");
        assert_eq!(log_filter(None, Some("  ")), "info");
    }

    #[test]
    fn debug_keeps_the_libraries_that_log_payloads_at_info() {
        let f = log_filter(Some("DEBUG"), None);
        assert!(f.starts_with("debug,"), "{f}");
        assert!(f.contains("lambda_runtime=info"), "{f}");
        assert!(f.contains("aws_smithy_runtime=info"), "{f}");
        assert!(tracing_subscriber::EnvFilter::try_new(&f).is_ok(), "{f}");
        assert!(log_filter(Some("TRACE"), None).starts_with("trace,"));
    }
}
