//! Idempotency records: `T#<tenant>#IDEM#<sha256(key)>` / `IDEM`, holding the
//! request's fingerprint, when it was recorded and the whole response (see
//! `domain::idempotency` for the design: the record is written with the effect).
//! Expiry is checked from the stored time; the TTL attribute only cleans up.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{TimeZone, Utc};

use super::attr::{get_n, get_s, key, n, s, Item};
use super::expr::Expr;
use super::{sdk_error, Store};
use crate::domain::error::ApiError;
use crate::domain::idempotency::{key_digest, Intent, Recorded, StoredResponse, RETENTION_SECS};
use crate::domain::ids::TenantId;

fn record_key(t: &TenantId, idempotency_key: &str) -> Item {
    key(
        format!("T#{t}#IDEM#{}", key_digest(idempotency_key)),
        "IDEM".into(),
    )
}

fn record_item(t: &TenantId, intent: &Intent, response: &StoredResponse) -> Result<Item, ApiError> {
    let at = intent.at.timestamp();
    let headers = serde_json::to_string(&response.headers)
        .map_err(|e| ApiError::Internal(format!("headers: {e}")))?;
    let mut item = record_key(t, &intent.key);
    item.insert("fp".into(), s(&intent.fingerprint));
    item.insert("state".into(), s("done"));
    item.insert("createdAt".into(), n(at));
    item.insert("expiresAt".into(), n(at + RETENTION_SECS + 3600));
    item.insert("status".into(), n(i64::from(response.status)));
    item.insert("headers".into(), s(headers));
    item.insert("traceId".into(), s(&response.trace_id));
    if let Some(body) = &response.body {
        item.insert("body".into(), s(body));
    }
    Ok(item)
}

/// The record's put: only if the key is free (never used, expired, or a lock of the
/// earlier lock-based design that never completed).
fn record_put(
    table: &str,
    t: &TenantId,
    intent: &Intent,
    response: &StoredResponse,
) -> Result<TransactWriteItem, ApiError> {
    let mut e = Expr::new();
    let created = e.name("createdAt");
    let state = e.name("state");
    let expired = e.value(n(intent.at.timestamp() - RETENTION_SECS));
    let pending = e.value(s("pending"));
    e.require(format!(
        "attribute_not_exists(PK) OR {created} <= {expired} OR {state} = {pending}"
    ));
    e.put(table, record_item(t, intent, response)?)
}

/// A stored record.
pub(crate) fn parse_record(item: &Item) -> Result<Recorded, ApiError> {
    let at = Utc
        .timestamp_opt(get_n(item, "createdAt")?, 0)
        .single()
        .ok_or_else(|| ApiError::Internal("stored idempotency time".into()))?;
    let response = match get_s(item, "state")? {
        "done" => Some(StoredResponse {
            status: u16::try_from(get_n(item, "status")?)
                .map_err(|_| ApiError::Internal("stored idempotency status".into()))?,
            headers: serde_json::from_str(get_s(item, "headers")?)
                .map_err(|e| ApiError::Internal(format!("stored headers: {e}")))?,
            body: match item.get("body") {
                Some(AttributeValue::S(b)) => Some(b.clone()),
                _ => None,
            },
            trace_id: get_s(item, "traceId")?.to_string(),
        }),
        _ => None,
    };
    Ok(Recorded {
        fingerprint: get_s(item, "fp")?.to_string(),
        at,
        response,
    })
}

impl Store {
    /// The transaction item that records a keyed request's response with its effect.
    pub(crate) fn idempotency_item(
        &self,
        t: &TenantId,
        intent: &Intent,
        response: &StoredResponse,
    ) -> Result<TransactWriteItem, ApiError> {
        record_put(self.table(), t, intent, response)
    }

    /// The record under a key, if any (strongly consistent).
    pub async fn idempotency_record(
        &self,
        t: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Recorded>, ApiError> {
        let k = record_key(t, idempotency_key);
        let pk = get_s(&k, super::keys::PK)?.to_string();
        let sk = get_s(&k, super::keys::SK)?.to_string();
        self.get_as("idempotency_record", (pk, sk), parse_record)
            .await
    }

    /// Records an outcome that had no effect to be recorded with (a `404`, a business
    /// `409`) under its key, if the key is free:
    /// `None` when recorded, else the record that holds the key (a success that
    /// committed meanwhile, or another request's).
    pub async fn record_outcome(
        &self,
        t: &TenantId,
        intent: &Intent,
        response: &StoredResponse,
    ) -> Result<Option<Recorded>, ApiError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(record_item(t, intent, response)?))
            .condition_expression(
                "attribute_not_exists(PK) OR #created <= :expired OR #state = :pending",
            )
            .expression_attribute_names("#created", "createdAt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":expired", n(intent.at.timestamp() - RETENTION_SECS))
            .expression_attribute_values(":pending", s("pending"))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(None),
            Err(e) => e,
        };
        match err.as_service_error() {
            Some(
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                    c,
                ),
            ) => match c.item() {
                Some(old) => parse_record(old).map(Some),
                None => self.idempotency_record(t, &intent.key).await,
            },
            _ => Err(sdk_error("record_outcome", err)),
        }
    }
}
