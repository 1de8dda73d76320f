//! The test request builder: a sample event of `events/` adjusted per test, sent
//! through a function as Lambda would, its response checked against the OpenAPI
//! document.

use lambda_http::RequestExt;
use shared::http::{Ctx, Function};
use uuid::Uuid;

use crate::spec;

/// The `events/` folder: one API Gateway v2 sample request per function (the same
/// files `cargo lambda invoke --data-file` uses).
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

/// A request built from a sample event of `events/`, adjusted per test.
pub struct TestRequest {
    req: lambda_http::Request,
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: serde_json::Value,
    pub raw: String,
}

impl TestResponse {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &serde_json::Value {
        &self.body["data"]
    }

    /// The `field` of every item of a list's `data`, as text.
    pub fn list(&self, field: &str) -> Vec<String> {
        let items = self.data().as_array().expect("a list");
        let text = |item: &serde_json::Value| item[field].as_str().map(str::to_string);
        items
            .iter()
            .map(|i| text(i).expect("a text field"))
            .collect()
    }

    /// The `field` of every `details` entry.
    pub fn fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the status and the error envelope of API.md.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.raw);
        assert_eq!(self.code(), code, "body: {}", self.raw);
        assert_eq!(self.body["status"], status);
        let trace = self.headers["x-trace-id"].to_str().unwrap();
        assert_eq!(self.body["traceId"], trace);
        assert_eq!(self.body["origin"]["boundedContext"], "allotments");
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    /// Asserts a `400 VALIDATION_ERROR` naming exactly `fields`, in order.
    pub fn assert_invalid(&self, fields: &[&str]) {
        self.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(self.fields(), fields, "body: {}", self.raw);
    }

    /// Asserts a `409` of `code` whose `details` are `details`.
    pub fn assert_conflict(&self, code: &str, details: serde_json::Value) {
        self.assert_error(409, code);
        assert_eq!(self.body["details"], details, "body: {}", self.raw);
    }

    /// Asserts that the answer is one of `allowed`: `(status, code)`, an empty code
    /// standing for any (a success has none). `what` names the request in the message.
    pub fn assert_among(&self, allowed: &[(u16, &str)], what: &str) {
        let ok = allowed.iter().any(|(status, code)| {
            *status == self.status && (code.is_empty() || *code == self.code())
        });
        assert!(
            ok,
            "{what}: {} {} is not one of {allowed:?}",
            self.status, self.raw
        );
    }

    /// Asserts the status (the body in the message otherwise) and returns the data.
    pub fn expect(&self, status: u16) -> &serde_json::Value {
        assert_eq!(self.status, status, "{}", self.raw);
        self.data()
    }
}

impl TestRequest {
    /// Loads `events/<name>.json`.
    pub fn event(name: &str) -> Self {
        let path = events_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
        TestRequest { req }
    }

    /// The sample event `name` on the allotment `id` (its `allotmentId` path parameter).
    pub fn on_allotment(name: &str, id: &str) -> Self {
        Self::event(name).path_param("allotmentId", id)
    }

    /// The sample event `name` on the capacity group `id`.
    pub fn on_group(name: &str, id: &str) -> Self {
        Self::event(name).path_param("capacityGroupId", id)
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.req
            .headers_mut()
            .insert(name, http::HeaderValue::from_str(value).unwrap());
        self
    }

    /// The header `name: value` when there is a value.
    pub fn header_opt(self, name: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.req.headers_mut().remove(name);
        self
    }

    pub fn key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    pub fn path_param(self, name: &str, value: &str) -> Self {
        let mut params: std::collections::HashMap<String, String> = self
            .req
            .path_parameters()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.insert(name.to_string(), value.to_string());
        TestRequest {
            req: self.req.with_path_parameters(params),
        }
    }

    pub fn establishment(self, id: Uuid) -> Self {
        self.path_param("establishmentId", &id.to_string())
    }

    pub fn query(self, pairs: &[(&str, &str)]) -> Self {
        let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (k, v) in pairs {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        TestRequest {
            req: self.req.with_query_string_parameters(map),
        }
    }

    pub fn json(self, body: serde_json::Value) -> Self {
        self.raw_body(body.to_string().into_bytes(), Some("application/json"))
    }

    /// No body and no `Content-Type`.
    pub fn empty(self) -> Self {
        self.raw_body(Vec::new(), None)
    }

    pub fn raw_body(mut self, body: Vec<u8>, content_type: Option<&str>) -> Self {
        match content_type {
            Some(ct) => {
                self = self.header("content-type", ct);
            }
            None => {
                self = self.without_header("content-type");
            }
        }
        *self.req.body_mut() = if body.is_empty() {
            lambda_http::Body::Empty
        } else {
            lambda_http::Body::Binary(body)
        };
        self
    }

    /// The body of the sample event, as JSON (`null` when it has none).
    pub fn body_json(&self) -> serde_json::Value {
        match self.req.body() {
            lambda_http::Body::Empty => serde_json::Value::Null,
            body => serde_json::from_slice(body.as_ref()).expect("a JSON sample body"),
        }
    }

    /// The request as built, for a caller that dispatches it itself (the benchmark).
    pub fn into_request(self) -> lambda_http::Request {
        self.req
    }

    /// The route key of the sample event (`POST /v1/allotments`, `$default`).
    fn route_key(&self) -> Option<String> {
        use lambda_http::request::RequestContext;
        match self.req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.route_key.clone(),
            _ => None,
        }
    }

    /// Runs the request through `function` (as Lambda would) and checks the response
    /// against the OpenAPI document: a declared status and a body of its schema.
    pub async fn send(self, function: &Function, ctx: &Ctx) -> TestResponse {
        let route = self.route_key().expect("sample events carry a routeKey");
        let resp = shared::http::dispatch(function, ctx, self.req).await;
        let (parts, body) = resp.into_parts();
        let raw = String::from_utf8(body.to_vec()).expect("utf-8 body");
        let body = if raw.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&raw).expect("JSON body")
        };
        assert!(
            parts.headers.contains_key("x-trace-id"),
            "every response has X-Trace-Id"
        );
        spec::assert_response(&route, parts.status.as_u16(), &raw);
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            raw,
        }
    }
}
