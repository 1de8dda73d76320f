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
    match &response.body {
        Some(body) if body.len() > INLINE_BODY => {
            item.insert("bodyZ".into(), AttributeValue::B(compress(body)?.into()));
        }
        Some(body) => {
            item.insert("body".into(), s(body));
        }
        None => {}
    }
    Ok(item)
}

/// The largest body stored as is; a larger one (a capacity group's `usage` runs to
/// 36,550 rows, about 3 MB) is stored deflated (`bodyZ`), under the 400 KB item limit
/// for all but bodies that hardly compress.
const INLINE_BODY: usize = 64 * 1024;

fn compress(body: &str) -> Result<Vec<u8>, ApiError> {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(body.as_bytes())
        .and_then(|()| z.finish())
        .map_err(|e| ApiError::Internal(format!("deflate: {e}")))
}

fn decompress(bytes: &[u8]) -> Result<String, ApiError> {
    use std::io::Read;
    let mut body = String::new();
    flate2::read::DeflateDecoder::new(bytes)
        .read_to_string(&mut body)
        .map_err(|e| ApiError::Internal(format!("stored body: {e}")))?;
    Ok(body)
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
            body: match (item.get("body"), item.get("bodyZ")) {
                (Some(AttributeValue::S(b)), _) => Some(b.clone()),
                (_, Some(AttributeValue::B(z))) => Some(decompress(z.as_ref())?),
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
    /// Holds a key while a keyed plan's steps run (`store::steps`): a `pending` record
    /// of the run `run` until `lease`, put only if the key is free — never used,
    /// expired, or a pending lock whose lease ran out. `None`: held; else the record
    /// that holds the key (a response to replay, or another run's live lock).
    pub(crate) async fn hold_key(
        &self,
        t: &TenantId,
        intent: &Intent,
        run: &str,
        lease: chrono::DateTime<Utc>,
    ) -> Result<Option<Recorded>, ApiError> {
        let at = intent.at.timestamp();
        let mut item = record_key(t, &intent.key);
        item.insert("fp".into(), s(&intent.fingerprint));
        item.insert("state".into(), s("pending"));
        item.insert("run".into(), s(run));
        item.insert("createdAt".into(), n(at));
        item.insert("leaseUntil".into(), n(lease.timestamp()));
        item.insert("expiresAt".into(), n(at + RETENTION_SECS + 3600));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR #created <= :expired \
                 OR (#state = :pending AND (attribute_not_exists(#lease) OR #lease < :now))",
            )
            .expression_attribute_names("#created", "createdAt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_values(":expired", n(at - RETENTION_SECS))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
            .send()
            .await;
        match super::written("hold_key", result)? {
            true => Ok(None),
            false => self.idempotency_record(t, &intent.key).await,
        }
    }

    /// Gives up the key held by `run` (its steps undone or failed), if it still holds it:
    /// a retry may take it at once. Best effort: a lock left runs out with its lease.
    pub(crate) async fn release_key(&self, t: &TenantId, intent: &Intent, run: &str) {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(record_key(t, &intent.key)))
            .condition_expression("#state = :pending AND #run = :run")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":run", s(run))
            .send()
            .await;
        if super::written("release_key", result).is_err() {
            tracing::warn!("key left to its lease");
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_body_is_stored_deflated_and_read_back_byte_for_byte() {
        let t = TenantId::parse("acme").unwrap();
        let intent = Intent {
            key: "k".into(),
            fingerprint: "fp".into(),
            trace_id: "tr".into(),
            at: Utc.timestamp_opt(1_790_000_000, 0).unwrap(),
        };
        // The usage of a group of 50 unit types over a year: 18,250 rows.
        let rows: Vec<String> = (0..18_250)
            .map(|i| {
                format!(
                    r#"{{"date":"2026-09-{:02}","unitTypeId":"u{:02}","shared":5,"used":{},"available":{}}}"#,
                    i % 28 + 1,
                    i % 50,
                    i % 3,
                    5 - i % 3
                )
            })
            .collect();
        for body in [
            r#"{"data":{}}"#.to_string(),
            format!("[{}]", rows.join(",")),
        ] {
            let response = StoredResponse {
                status: 201,
                headers: vec![("ETag".into(), "\"1\"".into())],
                body: Some(body.clone()),
                trace_id: "tr".into(),
            };
            let item = record_item(&t, &intent, &response).unwrap();
            let large = body.len() > INLINE_BODY;
            assert_eq!(item.contains_key("bodyZ"), large);
            if let Some(AttributeValue::B(z)) = item.get("bodyZ") {
                assert!(z.as_ref().len() < 300_000, "{} bytes", z.as_ref().len());
            }
            let read = parse_record(&item).unwrap();
            assert_eq!(read.response, Some(response));
        }
    }
}
