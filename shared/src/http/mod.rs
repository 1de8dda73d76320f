//! The HTTP edge shared by every function: request parsing, body limits, auth,
//! the one error envelope, responses and the Lambda runtime wiring.

mod command;
mod dispatch;
mod paging;
mod request;
mod response;
mod runtime;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::domain::error::ApiError;
use crate::store::Store;

pub use command::run_command;
pub use dispatch::{
    dispatch, BODY_LIMIT, DEADLINE_MARGIN, DEFAULT_BUDGET, FUNCTION_TIMEOUT, LONG_FUNCTION_TIMEOUT,
};
pub use lambda_http::Error as LambdaError;
pub use paging::Paging;
pub use request::ApiRequest;
pub use response::{error_body, ApiResponse};
pub use runtime::{emit_metrics, init_tracing, log_filter, log_subscriber, run};

/// What a function needs to serve a request: the store (built once per process)
/// and the clock.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub store: Store,
    fixed_now: Option<DateTime<Utc>>,
}

impl Ctx {
    pub fn new(store: Store) -> Self {
        Ctx {
            store,
            fixed_now: None,
        }
    }

    /// A context whose clock always reads `now` (tests).
    pub fn with_now(store: Store, now: DateTime<Utc>) -> Self {
        Ctx {
            store,
            fixed_now: Some(now),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_now.unwrap_or_else(Utc::now)
    }

    /// Now, to the whole second (the precision of every stored instant).
    pub fn now_seconds(&self) -> DateTime<Utc> {
        use chrono::{SubsecRound, Timelike};
        let now = self.now();
        now.trunc_subsecs(0).with_nanosecond(0).unwrap_or(now)
    }
}

/// Which key scope a function needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key needed (the route fallback, the OpenAPI document).
    Public,
    Read,
    Write,
}

pub type ApiResult = Result<ApiResponse, ApiError>;
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult> + Send>>;
pub type Handler = fn(Ctx, ApiRequest) -> HandlerFuture;

/// Declares a function crate's `FUNCTION`: its name (the binary and the error
/// `origin.module`), the key scope it needs (`Public`, `Read`, `Write`) and its
/// handler, an `async fn handle(Ctx, ApiRequest) -> ApiResult`.
///
/// `long` after the handler gives it [`LONG_FUNCTION_TIMEOUT`] instead of
/// [`FUNCTION_TIMEOUT`]: a command whose biggest plans are applied in steps
/// (`domain::steps`), its `Timeout` in the template the same.
#[macro_export]
macro_rules! function {
    ($name:literal, $access:ident, $handle:path) => {
        $crate::function!(@ $name, $access, $handle, $crate::http::FUNCTION_TIMEOUT);
    };
    ($name:literal, $access:ident, $handle:path, long) => {
        $crate::function!(@ $name, $access, $handle, $crate::http::LONG_FUNCTION_TIMEOUT);
    };
    (@ $name:literal, $access:ident, $handle:path, $timeout:expr) => {
        pub const FUNCTION: $crate::http::Function = $crate::http::Function {
            name: $name,
            access: $crate::http::Access::$access,
            handler: |ctx, req| Box::pin($handle(ctx, req)),
            timeout: $timeout,
        };
    };
}

/// One deployable function: its name (the binary and the error `origin.module`),
/// the scope it needs, and its handler.
#[derive(Clone, Copy)]
pub struct Function {
    pub name: &'static str,
    pub access: Access,
    pub handler: Handler,
    /// Its Lambda timeout (the template's `Timeout`): without a Lambda context (the
    /// local server, tests) its request budget is this less [`DEADLINE_MARGIN`].
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("access", &self.access)
            .finish()
    }
}
