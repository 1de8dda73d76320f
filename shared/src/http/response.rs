//! Success bodies (`{"data": ...}`) and the one error envelope.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::dates::format_date;
use crate::domain::error::ApiError;
use crate::domain::idempotency::StoredResponse;

pub const BOUNDED_CONTEXT: &str = "allotments";

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// `None` for `204`.
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// The request's `Idempotency-Key` recorded this response with its effect.
    pub(crate) recorded: bool,
    /// A recorded response answered again (sent byte for byte, as it was).
    pub(crate) replayed: Option<StoredResponse>,
}

impl ApiResponse {
    fn data(status: u16, data: impl Serialize) -> Result<Self, ApiError> {
        let data = serde_json::to_value(data)
            .map_err(|e| ApiError::Internal(format!("serialize response: {e}")))?;
        Ok(ApiResponse {
            status,
            body: Some(json!({ "data": data })),
            ..ApiResponse::no_content()
        })
    }

    pub fn ok(data: impl Serialize) -> Result<Self, ApiError> {
        Self::data(200, data)
    }

    pub fn created(data: impl Serialize) -> Result<Self, ApiError> {
        Self::data(201, data)
    }

    pub fn no_content() -> Self {
        ApiResponse {
            status: 204,
            body: None,
            headers: Vec::new(),
            recorded: false,
            replayed: None,
        }
    }

    /// A body sent as is (the OpenAPI document).
    pub fn raw(status: u16, body: Value) -> Self {
        ApiResponse {
            status,
            body: Some(body),
            ..ApiResponse::no_content()
        }
    }

    /// The response exactly as it goes on the wire (`Content-Type` with a body).
    pub fn to_stored(&self, trace_id: &str) -> StoredResponse {
        let mut headers = self.headers.clone();
        let body = self.body.as_ref().map(|v| {
            headers.push(("Content-Type".into(), "application/json".into()));
            v.to_string()
        });
        StoredResponse {
            status: self.status,
            headers,
            body,
            trace_id: trace_id.to_string(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// The error envelope of API.md. Never carries internal text.
pub fn error_body(err: &ApiError, trace_id: &str, module: &str) -> Value {
    let mut body = json!({
        "code": err.code(),
        "message": err.message(),
        "status": err.status(),
        "traceId": trace_id,
        "origin": {"boundedContext": BOUNDED_CONTEXT, "module": module},
    });
    let details: Option<Vec<Value>> = match err {
        ApiError::Validation(issues) => Some(
            issues
                .iter()
                .map(|i| json!({"field": i.field, "issue": i.issue}))
                .collect(),
        ),
        _ => err.conflict_field().map(|(name, nights)| {
            nights
                .iter()
                .map(|c| {
                    let mut v = json!({
                        "unitTypeId": c.unit_type_id,
                        "date": format_date(c.date),
                        "requested": c.requested,
                    });
                    v[name] = json!(c.actual);
                    v
                })
                .collect()
        }),
    };
    if let Some(details) = details {
        body["details"] = Value::Array(details);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;
    use crate::domain::error::{FieldIssue, NightConflict};

    #[test]
    fn envelope_for_a_conflict_names_the_figure_of_its_code() {
        let err = ApiError::InsufficientCapacity(vec![NightConflict {
            unit_type_id: "dbl".into(),
            date: parse_date("2026-09-03").unwrap(),
            requested: 5,
            actual: 3,
        }]);
        let body = error_body(&err, "t1", "create-allotment");
        assert_eq!(
            body,
            json!({
                "code": "INSUFFICIENT_CAPACITY",
                "message": "Not enough rooms in the pool on 1 night",
                "status": 409,
                "traceId": "t1",
                "origin": {"boundedContext": "allotments", "module": "create-allotment"},
                "details": [{"unitTypeId": "dbl", "date": "2026-09-03", "requested": 5, "available": 3}]
            })
        );
        let below = ApiError::CapacityBelowAllotted(vec![NightConflict {
            unit_type_id: "dbl".into(),
            date: parse_date("2026-09-03").unwrap(),
            requested: 2,
            actual: 4,
        }]);
        assert_eq!(error_body(&below, "t", "m")["details"][0]["allotted"], 4);
    }

    #[test]
    fn envelope_for_validation_lists_fields_and_others_have_no_details() {
        let err = ApiError::Validation(vec![
            FieldIssue::new("periodTo", "must be on or after periodFrom"),
            FieldIssue::new("x", "is not a known field"),
        ]);
        let body = error_body(&err, "t", "m");
        assert_eq!(body["details"].as_array().unwrap().len(), 2);
        assert_eq!(body["details"][0]["field"], "periodTo");
        let body = error_body(&ApiError::Internal("ddb table xyz".into()), "t", "m");
        assert!(body.get("details").is_none());
        assert!(!body.to_string().contains("xyz"));
    }
}
