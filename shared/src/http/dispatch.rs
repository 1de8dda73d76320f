//! Runs one function on one request: limits, content type, auth, the handler, and
//! the mapping of its result to a response. Used by the Lambda runtime and by the
//! local server alike, so both answer byte for byte the same.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::request::ApiRequest;
use super::response::error_body;
use super::{Access, ApiResponse, Ctx, Function};
use crate::domain::auth::Scope;
use crate::domain::error::ApiError;
use crate::store::idempotency::{fingerprint, valid_idempotency_key, Begin, StoredResponse};

/// Largest accepted request body (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The functions' timeout (`Globals.Function.Timeout` in `infra/template.yaml`; a test
/// holds them equal). Under the HTTP API's 30 s integration limit, so the function
/// always answers before API Gateway gives up.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Kept back from the Lambda deadline to send the answer (the edge's `503`).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// A request's time budget when no Lambda context gives a deadline (the local server,
/// tests): the same as a deployed invocation's.
pub const DEFAULT_BUDGET: Duration =
    Duration::from_millis(FUNCTION_TIMEOUT.as_millis() as u64 - DEADLINE_MARGIN.as_millis() as u64);

/// What is left of the invocation: the Lambda context's deadline (ms since the epoch)
/// minus [`DEADLINE_MARGIN`], or [`DEFAULT_BUDGET`] without one.
fn budget(req: &Request) -> Duration {
    match req.lambda_context_ref() {
        Some(c) if c.deadline > 0 => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            Duration::from_millis(c.deadline.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN)
        }
        _ => DEFAULT_BUDGET,
    }
}

fn is_json_content_type(value: &str) -> bool {
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || media == "application/merge-patch+json"
}

/// The presented API key: `X-API-Key`, else `Authorization: Bearer`.
fn presented_key(headers: &http::HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

async fn prepare(function: &Function, ctx: &Ctx, req: &mut ApiRequest) -> Result<(), ApiError> {
    if req.body.len() > BODY_LIMIT {
        return Err(ApiError::PayloadTooLarge);
    }
    if !req.body.is_empty() {
        let ok = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_content_type);
        if !ok {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let scope = match function.access {
        Access::Public => return Ok(()),
        Access::Read => Scope::Read,
        Access::Write => Scope::Write,
    };
    let key = presented_key(&req.headers).ok_or(ApiError::Unauthenticated)?;
    let principal = ctx.store.authenticate(&key).await?;
    principal.require(scope)?;
    req.principal = Some(principal);
    Ok(())
}

/// Turns a Lambda/API Gateway request into an [`ApiRequest`].
pub fn to_api_request(req: Request, trace_id: String) -> ApiRequest {
    let path_params: HashMap<String, String> = req
        .path_parameters()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let query: Vec<(String, String)> = req
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (parts, body) = req.into_parts();
    ApiRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        path_params,
        query,
        headers: parts.headers,
        body: body.to_vec(),
        trace_id,
        principal: None,
    }
}

/// A response as sent (and, for idempotent replays, as stored).
struct Final {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<String>,
    trace_id: String,
}

impl Final {
    fn from_result(result: Result<ApiResponse, ApiError>, trace_id: &str, module: &str) -> Final {
        let response = match result {
            Ok(r) => r,
            Err(err) => {
                match &err {
                    ApiError::Internal(detail) => {
                        tracing::error!(trace_id = %trace_id, error = %detail, "internal error")
                    }
                    ApiError::Unavailable(detail) => {
                        tracing::warn!(trace_id = %trace_id, error = %detail, "store unavailable")
                    }
                    _ => {}
                }
                let mut r = ApiResponse {
                    status: err.status(),
                    body: Some(error_body(&err, trace_id, module)),
                    headers: Vec::new(),
                };
                if err.status() == 503 {
                    r = r.with_header("Retry-After", "1");
                }
                if let ApiError::MethodNotAllowed(allowed) = &err {
                    r = r.with_header("Allow", allowed.join(", "));
                }
                r
            }
        };
        let mut headers = response.headers;
        let body = response.body.map(|v| {
            headers.push(("Content-Type".into(), "application/json".into()));
            v.to_string()
        });
        Final {
            status: response.status,
            headers,
            body,
            trace_id: trace_id.to_string(),
        }
    }

    /// Outcomes replayed for a repeated `Idempotency-Key`: successes, `404` and the
    /// business `409`s. Everything else leaves the key free for a corrected retry.
    fn is_stored(&self) -> bool {
        (200..300).contains(&self.status) || self.status == 404 || self.status == 409
    }
}

/// Runs the function, under the request's `Idempotency-Key` for a `POST`.
async fn serve(
    function: &Function,
    ctx: &Ctx,
    mut api: ApiRequest,
    trace_id: &str,
) -> (Final, Option<String>) {
    let fail = |e: ApiError| Final::from_result(Err(e), trace_id, function.name);
    if let Err(e) = prepare(function, ctx, &mut api).await {
        return (fail(e), None);
    }
    let tenant = api.principal.as_ref().map(|p| p.tenant.clone());
    let idempotency_key = match (&tenant, api.method.as_str()) {
        (Some(_), "POST") => api.header("idempotency-key").map(str::to_string),
        _ => None,
    };
    let tenant_name = tenant.as_ref().map(|t| t.to_string());
    let (Some(key), Some(tenant)) = (idempotency_key, tenant) else {
        let result = (function.handler)(ctx.clone(), api).await;
        return (
            Final::from_result(result, trace_id, function.name),
            tenant_name,
        );
    };
    if !valid_idempotency_key(&key) {
        let err = ApiError::validation("Idempotency-Key", "must be 1-255 visible ASCII characters");
        return (fail(err), tenant_name);
    }
    let fp = fingerprint(&api.method, &api.path, &api.body);
    let owner = match ctx
        .store
        .idempotency_begin(&tenant, &key, &fp, ctx.now())
        .await
    {
        Err(e) => return (fail(e), tenant_name),
        Ok(Begin::InProgress) => return (fail(ApiError::IdempotencyInProgress), tenant_name),
        Ok(Begin::Mismatch) => return (fail(ApiError::IdempotencyKeyReused), tenant_name),
        Ok(Begin::Replay(stored)) => {
            let mut headers = stored.headers;
            headers.push(("Idempotency-Replayed".into(), "true".into()));
            let replay = Final {
                status: stored.status,
                headers,
                body: stored.body,
                trace_id: stored.trace_id,
            };
            return (replay, tenant_name);
        }
        Ok(Begin::Proceed { owner }) => owner,
    };
    let result = (function.handler)(ctx.clone(), api).await;
    let out = Final::from_result(result, trace_id, function.name);
    let kept = if out.is_stored() {
        let stored = StoredResponse {
            status: out.status,
            headers: out.headers.clone(),
            body: out.body.clone(),
            trace_id: out.trace_id.clone(),
        };
        ctx.store
            .idempotency_complete(&tenant, &key, &owner, &stored)
            .await
    } else {
        ctx.store.idempotency_release(&tenant, &key, &owner).await
    };
    if let Err(e) = kept {
        // The outcome stands; the key frees itself when its lock expires.
        tracing::error!(trace_id = %trace_id, error = %e, "idempotency record not updated");
    }
    (out, tenant_name)
}

/// The API Gateway route the request matched (`GET /v1/allotments/{allotmentId}`,
/// `$default`), as the HTTP API (or the local server) puts it in the request context.
fn route_key(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "-".to_string())
}

/// Serves one request with one function. Never fails: every outcome is a response.
///
/// The whole request (auth, idempotency, handler) runs within its [`budget`]: when it
/// is spent, the store calls in flight are dropped and the answer is `503 UNAVAILABLE`
/// with `Retry-After`, before Lambda's timeout could turn it into API Gateway's bare
/// `500`. (An `Idempotency-Key` taken by a cut-off request stays locked until its lock
/// expires: its write may have landed.)
pub async fn dispatch(function: &Function, ctx: &Ctx, req: Request) -> Response<Body> {
    let started = Instant::now();
    let budget = budget(&req);
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let route = route_key(&req);
    let api = to_api_request(req, trace_id.clone());
    let method = api.method.clone();
    let path = api.path.clone();
    let served = tokio::time::timeout(budget, serve(function, ctx, api, &trace_id)).await;
    let (out, tenant) = served.unwrap_or_else(|_| {
        let spent =
            ApiError::Unavailable(format!("request budget of {} ms spent", budget.as_millis()));
        (
            Final::from_result(Err(spent), &trace_id, function.name),
            None,
        )
    });
    tracing::info!(
        function = function.name,
        route = %route,
        method = %method,
        path = %path,
        status = out.status,
        latency_ms = started.elapsed().as_millis() as u64,
        trace_id = %out.trace_id,
        tenant = tenant.as_deref().unwrap_or("-"),
        "request"
    );
    into_lambda_response(out)
}

fn into_lambda_response(r: Final) -> Response<Body> {
    let mut builder = Response::builder()
        .status(r.status)
        .header("X-Trace-Id", r.trace_id.as_str());
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match r.body {
        Some(text) => Body::Text(text),
        None => Body::Empty,
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Text(
            r#"{"code":"INTERNAL_ERROR","message":"An internal error occurred","status":500}"#
                .into(),
        ));
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/jsonx"));
    }

    #[test]
    fn keys_come_from_either_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("authorization", "Bearer abc.def".parse().unwrap());
        assert_eq!(presented_key(&h).as_deref(), Some("abc.def"));
        h.insert("x-api-key", "xyz".parse().unwrap());
        assert_eq!(presented_key(&h).as_deref(), Some("xyz"));
        let mut basic = http::HeaderMap::new();
        basic.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(presented_key(&basic), None);
    }
}
