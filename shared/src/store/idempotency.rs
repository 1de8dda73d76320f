//! Idempotency records: `T#<tenant>#IDEM#<sha256(key)>` / `IDEM`.
//!
//! Taking a key is one conditional put (free, expired after 24 h, or an abandoned
//! lock); completing stores the response; a response that must not be stored frees
//! the key. Expiry is checked from the stored time; the TTL attribute only cleans up.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::attr::{get_n, get_s, key, n, s};
use super::{sdk_error, Store};
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

/// How long a stored response is replayed.
pub const RETENTION_SECS: i64 = 24 * 3600;
/// How long a request may hold a key before another may take it over (well above
/// the function timeout).
pub const LOCK_SECS: i64 = 60;

/// A stored response, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub trace_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is ours: run the request, then complete or release.
    Proceed {
        owner: String,
    },
    Replay(StoredResponse),
    InProgress,
    Mismatch,
}

fn record_key(t: &TenantId, idempotency_key: &str) -> super::attr::Item {
    let digest: String = Sha256::digest(idempotency_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    key(format!("T#{t}#IDEM#{digest}"), "IDEM".into())
}

/// The request's fingerprint: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    pub async fn idempotency_begin(
        &self,
        t: &TenantId,
        idempotency_key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Begin, ApiError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let now_s = now.timestamp();
        let mut item = record_key(t, idempotency_key);
        item.insert("fp".into(), s(fingerprint));
        item.insert("state".into(), s("pending"));
        item.insert("owner".into(), s(&owner));
        item.insert("createdAt".into(), n(now_s));
        item.insert("lockUntil".into(), n(now_s + LOCK_SECS));
        item.insert("expiresAt".into(), n(now_s + RETENTION_SECS + 3600));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR createdAt <= :expired OR (#state = :pending AND lockUntil < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":expired", n(now_s - RETENTION_SECS))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now_s))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Begin::Proceed { owner }),
            Err(e) => e,
        };
        let old = match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                c.item().cloned()
            }
            _ => return Err(sdk_error("idempotency_begin", err)),
        };
        let Some(old) = old else {
            return Ok(Begin::InProgress);
        };
        if get_s(&old, "fp")? != fingerprint {
            return Ok(Begin::Mismatch);
        }
        if get_s(&old, "state")? != "done" {
            return Ok(Begin::InProgress);
        }
        let headers: Vec<(String, String)> = serde_json::from_str(get_s(&old, "headers")?)
            .map_err(|e| ApiError::Internal(format!("stored headers: {e}")))?;
        Ok(Begin::Replay(StoredResponse {
            status: get_n(&old, "status")? as u16,
            headers,
            body: match old.get("body") {
                Some(AttributeValue::S(b)) => Some(b.clone()),
                _ => None,
            },
            trace_id: get_s(&old, "traceId")?.to_string(),
        }))
    }

    /// Stores the response of the request that holds the key.
    pub async fn idempotency_complete(
        &self,
        t: &TenantId,
        idempotency_key: &str,
        owner: &str,
        response: &StoredResponse,
    ) -> Result<(), ApiError> {
        let headers = serde_json::to_string(&response.headers)
            .map_err(|e| ApiError::Internal(format!("headers: {e}")))?;
        let mut update = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(record_key(t, idempotency_key)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(response.status as i64))
            .expression_attribute_values(":headers", s(headers))
            .expression_attribute_values(":trace", s(&response.trace_id));
        update = match &response.body {
            Some(body) => update
                .update_expression("SET #state = :done, #status = :status, headers = :headers, traceId = :trace, body = :body")
                .expression_attribute_values(":body", s(body)),
            None => update.update_expression(
                "SET #state = :done, #status = :status, headers = :headers, traceId = :trace",
            ),
        };
        update
            .expression_attribute_names("#status", "status")
            .send()
            .await
            .map_err(|e| sdk_error("idempotency_complete", e))?;
        Ok(())
    }

    /// Frees the key (the response is not one that is stored).
    pub async fn idempotency_release(
        &self,
        t: &TenantId,
        idempotency_key: &str,
        owner: &str,
    ) -> Result<(), ApiError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(record_key(t, idempotency_key)))
            .condition_expression("#owner = :owner AND #state = :pending")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Taken over after the lock expired: not ours to free any more.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("idempotency_release", e)),
        }
    }
}

/// An `Idempotency-Key` is 1–255 visible ASCII characters.
pub fn valid_idempotency_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|c| (0x21..=0x7e).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys() {
        assert!(valid_idempotency_key("abc-123_XYZ"));
        assert!(valid_idempotency_key(&"k".repeat(255)));
        assert!(!valid_idempotency_key(&"k".repeat(256)));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key("has space"));
        assert!(!valid_idempotency_key("clé"));
    }

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let a = fingerprint("POST", "/v1/allotments", b"{}");
        assert_eq!(a, fingerprint("POST", "/v1/allotments", b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/allotments", b"{ }"));
        assert_ne!(a, fingerprint("POST", "/v1/allotmentsx", b"{}"));
        assert_ne!(
            fingerprint("POST", "/a", b"b"),
            fingerprint("POST", "/ab", b"")
        );
    }
}
