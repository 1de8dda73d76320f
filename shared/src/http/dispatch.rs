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
use crate::domain::idempotency::{
    fingerprint, is_recorded, valid_idempotency_key, Intent, StoredResponse, Verdict,
};

/// Largest accepted request body (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The functions' timeout (`Globals.Function.Timeout` in `infra/template.yaml`; a test
/// holds them equal). Under the HTTP API's 30 s integration limit, so the function
/// always answers before API Gateway gives up.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of the functions whose biggest plans are applied in steps (creating,
/// cancelling, releasing an allotment of up to 731 nights × 50 unit types): under the
/// HTTP API's 30 s integration limit too.
pub const LONG_FUNCTION_TIMEOUT: Duration = Duration::from_secs(28);
/// Kept back from the Lambda deadline to send the answer (the edge's `503`).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// A request's time budget when no Lambda context gives a deadline (the local server,
/// tests): the same as a deployed invocation's.
pub const DEFAULT_BUDGET: Duration =
    Duration::from_millis(FUNCTION_TIMEOUT.as_millis() as u64 - DEADLINE_MARGIN.as_millis() as u64);

/// What is left of the invocation: the Lambda context's deadline (ms since the epoch)
/// minus [`DEADLINE_MARGIN`], or without one the function's timeout minus it
/// ([`DEFAULT_BUDGET`] for most).
fn budget(function: &Function, req: &Request) -> Duration {
    match req.lambda_context_ref() {
        Some(c) if c.deadline > 0 => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            Duration::from_millis(c.deadline.saturating_sub(now_ms)).saturating_sub(DEADLINE_MARGIN)
        }
        _ => function.timeout.saturating_sub(DEADLINE_MARGIN),
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
        intent: None,
    }
}

/// A response as sent (and, for idempotent replays, as stored).
struct Final {
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<String>,
    trace_id: String,
    /// Recorded under the request's key with its effect (or replayed from there).
    recorded: bool,
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
                let mut r = ApiResponse::raw(err.status(), error_body(&err, trace_id, module));
                if err.status() == 503 {
                    r = r.with_header("Retry-After", "1");
                }
                if let ApiError::MethodNotAllowed(allowed) = &err {
                    r = r.with_header("Allow", allowed.join(", "));
                }
                // The idempotency answers themselves are never recorded under the key.
                if matches!(
                    err,
                    ApiError::IdempotencyInProgress | ApiError::IdempotencyKeyReused
                ) {
                    r.recorded = true;
                }
                r
            }
        };
        if let Some(stored) = response.replayed {
            return Final::replay(stored);
        }
        let stored = response.to_stored(trace_id);
        Final {
            status: stored.status,
            headers: stored.headers,
            body: stored.body,
            trace_id: stored.trace_id,
            recorded: response.recorded,
        }
    }

    /// A recorded response, answered again.
    fn replay(stored: StoredResponse) -> Final {
        let mut headers = stored.headers;
        headers.push(("Idempotency-Replayed".into(), "true".into()));
        Final {
            status: stored.status,
            headers,
            body: stored.body,
            trace_id: stored.trace_id,
            recorded: true,
        }
    }

    fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            trace_id: self.trace_id.clone(),
        }
    }
}

/// The `Idempotency-Key` of a `POST`: absent, or a key that must be 1–255 visible
/// ASCII characters. A value that is not visible ASCII (`acc-clé-1` in UTF-8, any byte
/// outside 0x21-0x7E) is an invalid key (400), never an absent one.
fn idempotency_key(method: &str, headers: &http::HeaderMap) -> Result<Option<String>, ApiError> {
    if method != "POST" {
        return Ok(None);
    }
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match std::str::from_utf8(raw.as_bytes()) {
        Ok(key) if valid_idempotency_key(raw.as_bytes()) => Ok(Some(key.to_string())),
        _ => Err(ApiError::validation(
            "Idempotency-Key",
            "must be 1-255 visible ASCII characters",
        )),
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
    let Some(tenant) = api.principal.as_ref().map(|p| p.tenant.clone()) else {
        let result = (function.handler)(ctx.clone(), api).await;
        return (Final::from_result(result, trace_id, function.name), None);
    };
    let tenant_name = Some(tenant.to_string());
    let key = match idempotency_key(&api.method, &api.headers) {
        Ok(key) => key,
        Err(e) => return (fail(e), tenant_name),
    };
    let Some(key) = key else {
        let result = (function.handler)(ctx.clone(), api).await;
        return (
            Final::from_result(result, trace_id, function.name),
            tenant_name,
        );
    };
    let intent = Intent {
        key,
        fingerprint: fingerprint(&api.method, &api.path, &api.body),
        trace_id: trace_id.to_string(),
        at: ctx.now(),
    };
    api.intent = Some(intent.clone());
    let result = (function.handler)(ctx.clone(), api).await;
    let out = Final::from_result(result, trace_id, function.name);
    if out.status == 400 && !out.recorded {
        // A request run again after its first run took effect can be refused by what
        // that effect changed (a group's members are now its own): the record of the
        // first run, if any, answers.
        return match ctx.store.idempotency_record(&tenant, &intent.key).await {
            Ok(Some(found)) => match intent.judge(&found) {
                Verdict::Replay(stored) => (Final::replay(stored), tenant_name),
                Verdict::Reused | Verdict::Free => (out, tenant_name),
            },
            Ok(None) | Err(_) => (out, tenant_name),
        };
    }
    if out.recorded || !is_recorded(out.status) {
        return (out, tenant_name);
    }
    // A refusal that is replayed (404, a business 409) has no effect to record it
    // with: its own conditional put, which loses to a success committed meanwhile.
    match ctx
        .store
        .record_outcome(&tenant, &intent, &out.stored())
        .await
    {
        Ok(None) => (out, tenant_name),
        Ok(Some(found)) => match intent.judge(&found) {
            Verdict::Replay(stored) => (Final::replay(stored), tenant_name),
            Verdict::Reused => (fail(ApiError::IdempotencyKeyReused), tenant_name),
            Verdict::Free => (out, tenant_name),
        },
        Err(e) => {
            // The refusal stands; a retry runs the request again.
            tracing::error!(trace_id = %trace_id, error = %e, "idempotency record not written");
            (out, tenant_name)
        }
    }
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
    let budget = budget(function, &req);
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
    fn an_idempotency_key_of_any_bytes_is_read_never_dropped() {
        let mut h = http::HeaderMap::new();
        assert_eq!(idempotency_key("POST", &h), Ok(None), "absent");
        for bytes in [
            &b"order-42"[..],
            "acc-clé-1".as_bytes(),
            &b"a\xffb"[..],
            &b"a b"[..],
        ] {
            h.insert(
                "idempotency-key",
                http::HeaderValue::from_bytes(bytes).unwrap(),
            );
            let read = idempotency_key("POST", &h);
            if bytes == b"order-42" {
                assert_eq!(read, Ok(Some("order-42".to_string())));
            } else {
                assert!(
                    matches!(&read, Err(ApiError::Validation(i)) if i[0].field == "Idempotency-Key"),
                    "{bytes:?}: {read:?}"
                );
            }
            assert_eq!(
                idempotency_key("PATCH", &h),
                Ok(None),
                "only a POST has a key"
            );
        }
    }

    static PROBE_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn probe(_: Ctx, _: ApiRequest) -> super::super::HandlerFuture {
        PROBE_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { ApiResponse::created(serde_json::json!({"done": true})) })
    }

    /// A `POST` as Lambda delivers it (the API Gateway event of `events/`), with the
    /// key's bytes in the event's JSON: refused before the handler runs.
    #[tokio::test]
    async fn a_key_that_is_not_visible_ascii_is_400_and_nothing_runs() {
        // A table of its own on the tests' DynamoDB Local (the kit's fixtures are for
        // the crates that depend on this one).
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT is set");
        let table = format!("test-{}", uuid::Uuid::new_v4().simple());
        let ctx = Ctx::new(crate::store::Store::local(&endpoint, &table));
        ctx.store.ensure_table().await.unwrap();
        let acme = crate::domain::ids::TenantId::parse("acme").unwrap();
        let scopes = [crate::domain::auth::Scope::Write];
        let (_, api_key) = ctx
            .store
            .create_key(&acme, None, &scopes, ctx.now())
            .await
            .unwrap();
        let function = Function {
            name: "probe",
            access: Access::Write,
            handler: probe,
            timeout: FUNCTION_TIMEOUT,
        };
        let sample = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/create-allotment.json"
        ))
        .unwrap();
        let send = |idempotency_key: Option<&str>| {
            let mut event: serde_json::Value = serde_json::from_str(&sample).unwrap();
            event["headers"]["x-api-key"] = serde_json::json!(api_key);
            if let Some(k) = idempotency_key {
                event["headers"]["idempotency-key"] = serde_json::json!(k);
            }
            let req = lambda_http::request::from_str(&event.to_string()).unwrap();
            dispatch(&function, &ctx, req)
        };
        for bad in ["acc-clé-1", "clé", "ключ-1", "tab\tkey"] {
            let before = PROBE_CALLS.load(std::sync::atomic::Ordering::SeqCst);
            let resp = send(Some(bad)).await;
            assert_eq!(resp.status(), 400, "{bad:?}");
            let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
            assert_eq!(body["code"], "VALIDATION_ERROR");
            assert_eq!(
                body["details"],
                serde_json::json!([{"field": "Idempotency-Key", "issue": "must be 1-255 visible ASCII characters"}]),
                "{bad:?}"
            );
            assert_eq!(
                PROBE_CALLS.load(std::sync::atomic::Ordering::SeqCst),
                before,
                "{bad:?}: the handler did not run"
            );
        }
        assert_eq!(send(Some("acc-cle-1")).await.status(), 201);
        assert_eq!(send(None).await.status(), 201);
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
