//! The one error type every handler returns. The HTTP edge maps it to the envelope.

use chrono::NaiveDate;

/// One failing field of a `VALIDATION_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub issue: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, issue: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            issue: issue.into(),
        }
    }
}

/// One short night of a per-night conflict (`INSUFFICIENT_CAPACITY`, ...).
/// `actual` is reported under the name the conflict's code uses
/// (`available`, `remaining`, `pickedUp`, `allotted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightConflict {
    pub unit_type_id: String,
    pub date: NaiveDate,
    pub requested: i64,
    pub actual: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    Validation(Vec<FieldIssue>),
    Unauthenticated,
    Forbidden(String),
    NotFound(String),
    /// The methods the path accepts (sent in `Allow`).
    MethodNotAllowed(Vec<String>),
    InsufficientCapacity(Vec<NightConflict>),
    AllotmentExhausted(Vec<NightConflict>),
    BelowPickedUp(Vec<NightConflict>),
    CapacityBelowAllotted(Vec<NightConflict>),
    InvalidState(String),
    AllotmentHasPickups,
    NameTaken,
    IdempotencyInProgress,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    /// A feed cursor older than what the feed keeps (`GET /v1/events`).
    CursorExpired,
    /// The store is unreachable or throttling. The text is for logs only.
    Unavailable(String),
    /// A bug. The text is for logs only, never for the response.
    Internal(String),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, issue: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldIssue::new(field, issue)])
    }

    pub fn status(&self) -> u16 {
        use ApiError::*;
        match self {
            BadRequest(_) | Validation(_) => 400,
            Unauthenticated => 401,
            Forbidden(_) => 403,
            NotFound(_) => 404,
            MethodNotAllowed(_) => 405,
            InsufficientCapacity(_)
            | AllotmentExhausted(_)
            | BelowPickedUp(_)
            | CapacityBelowAllotted(_)
            | InvalidState(_)
            | AllotmentHasPickups
            | NameTaken
            | IdempotencyInProgress => 409,
            PreconditionFailed => 412,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            CursorExpired => 410,
            IdempotencyKeyReused => 422,
            Unavailable(_) => 503,
            Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            BadRequest(_) => "BAD_REQUEST",
            Validation(_) => "VALIDATION_ERROR",
            Unauthenticated => "UNAUTHENTICATED",
            Forbidden(_) => "FORBIDDEN",
            NotFound(_) => "NOT_FOUND",
            MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            InsufficientCapacity(_) => "INSUFFICIENT_CAPACITY",
            AllotmentExhausted(_) => "ALLOTMENT_EXHAUSTED",
            BelowPickedUp(_) => "BELOW_PICKED_UP",
            CapacityBelowAllotted(_) => "CAPACITY_BELOW_ALLOTTED",
            InvalidState(_) => "INVALID_STATE",
            AllotmentHasPickups => "ALLOTMENT_HAS_PICKUPS",
            NameTaken => "NAME_TAKEN",
            IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            PreconditionFailed => "PRECONDITION_FAILED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            CursorExpired => "CURSOR_EXPIRED",
            Unavailable(_) => "UNAVAILABLE",
            Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The message shown to the client. Never carries internal text.
    pub fn message(&self) -> String {
        use ApiError::*;
        fn nights(n: usize) -> String {
            if n == 1 {
                "1 night".to_string()
            } else {
                format!("{n} nights")
            }
        }
        match self {
            BadRequest(m) | Forbidden(m) | NotFound(m) | InvalidState(m) => m.clone(),
            Validation(issues) => {
                if issues.len() == 1 {
                    "1 field is invalid".to_string()
                } else {
                    format!("{} fields are invalid", issues.len())
                }
            }
            Unauthenticated => "Missing, unknown or revoked API key".to_string(),
            MethodNotAllowed(_) => "This path does not accept that method".to_string(),
            InsufficientCapacity(d) => {
                format!("Not enough rooms in the pool on {}", nights(d.len()))
            }
            AllotmentExhausted(d) => {
                format!(
                    "Not enough rooms left in the allotment on {}",
                    nights(d.len())
                )
            }
            BelowPickedUp(d) => format!(
                "The quantity would drop below rooms already picked up on {}",
                nights(d.len())
            ),
            CapacityBelowAllotted(d) => format!(
                "The capacity would drop below rooms already allotted on {}",
                nights(d.len())
            ),
            AllotmentHasPickups => "The allotment still has active pickups".to_string(),
            NameTaken => "This name is already used in the establishment".to_string(),
            IdempotencyInProgress => {
                "A request with this Idempotency-Key is still being processed; retry later"
                    .to_string()
            }
            PreconditionFailed => "If-Match does not match the current version".to_string(),
            PayloadTooLarge => "The request body is larger than 256 KiB".to_string(),
            UnsupportedMediaType => "The request body must be application/json".to_string(),
            IdempotencyKeyReused => {
                "This Idempotency-Key was used with a different request".to_string()
            }
            CursorExpired => format!(
                "This cursor is older than the {} days events are kept: read the feed from its start (no cursor)",
                super::event::RETENTION_DAYS
            ),
            Unavailable(_) => "The service is temporarily unavailable; retry later".to_string(),
            Internal(_) => "An internal error occurred".to_string(),
        }
    }

    /// The name under which a night conflict reports its `actual` figure.
    pub fn conflict_field(&self) -> Option<(&'static str, &[NightConflict])> {
        use ApiError::*;
        match self {
            InsufficientCapacity(d) => Some(("available", d)),
            AllotmentExhausted(d) => Some(("remaining", d)),
            BelowPickedUp(d) => Some(("pickedUp", d)),
            CapacityBelowAllotted(d) => Some(("allotted", d)),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_status_of_the_contract() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400, "BAD_REQUEST"),
            (ApiError::Validation(vec![]), 400, "VALIDATION_ERROR"),
            (ApiError::Unauthenticated, 401, "UNAUTHENTICATED"),
            (ApiError::Forbidden("x".into()), 403, "FORBIDDEN"),
            (ApiError::NotFound("x".into()), 404, "NOT_FOUND"),
            (
                ApiError::MethodNotAllowed(vec![]),
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                ApiError::InsufficientCapacity(vec![]),
                409,
                "INSUFFICIENT_CAPACITY",
            ),
            (
                ApiError::CapacityBelowAllotted(vec![]),
                409,
                "CAPACITY_BELOW_ALLOTTED",
            ),
            (ApiError::InvalidState("x".into()), 409, "INVALID_STATE"),
            (ApiError::PreconditionFailed, 412, "PRECONDITION_FAILED"),
            (ApiError::PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                ApiError::IdempotencyKeyReused,
                422,
                "IDEMPOTENCY_KEY_REUSED",
            ),
            (ApiError::CursorExpired, 410, "CURSOR_EXPIRED"),
            (ApiError::Internal("secret".into()), 500, "INTERNAL_ERROR"),
            (ApiError::Unavailable("secret".into()), 503, "UNAVAILABLE"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{code}");
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn internal_text_never_reaches_the_message() {
        let e = ApiError::Internal("table allotments-prod ResourceNotFound".into());
        assert!(!e.message().contains("allotments-prod"));
        let e = ApiError::Unavailable("dispatch failure: connection refused".into());
        assert!(!e.message().contains("refused"));
    }
}
