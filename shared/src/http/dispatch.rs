//! Runs one function on one request: limits, content type, auth, the handler, and
//! the mapping of its result to a response. Used by the Lambda runtime and by the
//! local server alike, so both answer byte for byte the same.

use std::collections::HashMap;
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};

use super::request::ApiRequest;
use super::response::error_body;
use super::{Access, ApiResponse, Ctx, Function};
use crate::domain::auth::Scope;
use crate::domain::error::ApiError;

/// Largest accepted request body (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

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

/// Serves one request with one function. Never fails: every outcome is a response.
pub async fn dispatch(function: &Function, ctx: &Ctx, req: Request) -> Response<Body> {
    let started = Instant::now();
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let mut api = to_api_request(req, trace_id.clone());
    let method = api.method.clone();
    let path = api.path.clone();
    let result = match prepare(function, ctx, &mut api).await {
        Ok(()) => {
            let tenant = api.principal.as_ref().map(|p| p.tenant.to_string());
            ((function.handler)(ctx.clone(), api).await, tenant)
        }
        Err(e) => (Err(e), None),
    };
    let (result, tenant) = result;
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
                body: Some(error_body(&err, &trace_id, function.name)),
                headers: Vec::new(),
            };
            if err.status() == 503 {
                r = r.with_header("Retry-After", "1");
            }
            r
        }
    };
    tracing::info!(
        function = function.name,
        method = %method,
        path = %path,
        status = response.status,
        latency_ms = started.elapsed().as_millis() as u64,
        trace_id = %trace_id,
        tenant = tenant.as_deref().unwrap_or("-"),
        "request"
    );
    into_lambda_response(response, &trace_id)
}

fn into_lambda_response(r: ApiResponse, trace_id: &str) -> Response<Body> {
    let mut builder = Response::builder()
        .status(r.status)
        .header("X-Trace-Id", trace_id);
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match r.body {
        Some(v) => {
            builder = builder.header("Content-Type", "application/json");
            Body::Text(v.to_string())
        }
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
