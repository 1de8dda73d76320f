//! Lambda wiring shared by every function's `main`.

use std::convert::Infallible;

use lambda_http::{service_fn, Request};

use super::{dispatch, Ctx, Function};
use crate::store::Store;

/// JSON logs, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs `function` on Lambda: the store client is built once, then every
/// invocation goes through [`dispatch`].
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
