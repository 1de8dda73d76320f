//! Tenants and API keys (hashes only).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::attr::{get_bool, get_s, get_ss, key, s};
use super::{keys, sdk_error, written, Store};
use crate::domain::auth::{hash_secret, hashes_match, mint_key, split_key, Principal, Scope};
use crate::domain::error::ApiError;
use crate::domain::establishment::format_instant;
use crate::domain::ids::{parse_uuid, TenantId};

/// A key record as listed by the admin tool (never the secret): the principal it
/// authenticates, whether it is revoked, when it was minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub principal: Principal,
    pub revoked: bool,
    pub created_at: String,
}

fn parse_key_item(item: &super::attr::Item) -> Result<(StoredKey, String), ApiError> {
    let tenant = TenantId::parse(get_s(item, "tenant")?)
        .map_err(|_| ApiError::Internal("key tenant".into()))?;
    let establishments = if get_bool(item, "allEstablishments") {
        None
    } else {
        Some(
            get_ss(item, "establishments")
                .iter()
                .filter_map(|e| parse_uuid(e))
                .collect(),
        )
    };
    let mut scopes: Vec<Scope> = get_ss(item, "scopes")
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect();
    scopes.sort();
    Ok((
        StoredKey {
            principal: Principal {
                tenant,
                key_id: get_s(item, "keyId")?.to_string(),
                establishments,
                scopes,
            },
            revoked: get_bool(item, "revoked"),
            created_at: get_s(item, "createdAt")?.to_string(),
        },
        get_s(item, "secretHash")?.to_string(),
    ))
}

impl Store {
    /// Creates the tenant if unknown and mints a key; returns the full key, once.
    pub async fn create_key(
        &self,
        tenant: &TenantId,
        establishments: Option<&[Uuid]>,
        scopes: &[Scope],
        now: DateTime<Utc>,
    ) -> Result<(String, String), ApiError> {
        let (tpk, tsk) = keys::tenant(tenant);
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(tpk, tsk)))
            .update_expression("SET #c = if_not_exists(#c, :now), #t = :t")
            .expression_attribute_names("#c", "createdAt")
            .expression_attribute_names("#t", "tenant")
            .expression_attribute_values(":now", s(format_instant(&now)))
            .expression_attribute_values(":t", s(tenant.as_str()))
            .send()
            .await
            .map_err(|e| sdk_error("create_tenant", e))?;

        let new = mint_key();
        let (pk, sk) = keys::api_key(&new.key_id);
        let (gpk, gsk) = keys::tenant_keys_index(tenant, &new.key_id);
        let mut item = key(pk, sk);
        item.insert(keys::GSI1PK.into(), s(gpk));
        item.insert(keys::GSI1SK.into(), s(gsk));
        item.insert("keyId".into(), s(&new.key_id));
        item.insert("tenant".into(), s(tenant.as_str()));
        item.insert("secretHash".into(), s(&new.secret_hash));
        item.insert("createdAt".into(), s(format_instant(&now)));
        item.insert("revoked".into(), AttributeValue::Bool(false));
        let mut scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
        scope_names.sort();
        scope_names.dedup();
        item.insert("scopes".into(), AttributeValue::Ss(scope_names));
        match establishments {
            None => {
                item.insert("allEstablishments".into(), AttributeValue::Bool(true));
            }
            Some(list) => {
                let mut ids: Vec<String> = list.iter().map(|u| u.to_string()).collect();
                ids.sort();
                ids.dedup();
                item.insert("allEstablishments".into(), AttributeValue::Bool(false));
                item.insert(
                    "establishments".into(),
                    AttributeValue::L(ids.into_iter().map(s).collect()),
                );
            }
        }
        if !self.put_if_absent("create_key", item).await? {
            return Err(ApiError::Internal("a minted key id was taken".into()));
        }
        Ok((new.key_id, new.full))
    }

    /// Revokes a key; `false` if there is no such key.
    pub async fn revoke_key(&self, key_id: &str) -> Result<bool, ApiError> {
        let (pk, sk) = keys::api_key(key_id);
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("SET revoked = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        written("revoke_key", result)
    }

    pub async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, ApiError> {
        let (gpk, _) = keys::tenant_keys_index(tenant, "");
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", s(gpk));
        let mut out = Vec::new();
        for item in self.query_all("list_keys", query).await? {
            out.push(parse_key_item(&item)?.0);
        }
        Ok(out)
    }

    /// The principal of a presented key, or `UNAUTHENTICATED` (malformed, unknown,
    /// wrong secret or revoked: all alike).
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, ApiError> {
        let (key_id, secret) = split_key(presented).ok_or(ApiError::Unauthenticated)?;
        let item = self
            .get("authenticate", keys::api_key(key_id))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let (stored, hash) = parse_key_item(&item)?;
        if stored.revoked || !hashes_match(&hash_secret(secret), &hash) {
            return Err(ApiError::Unauthenticated);
        }
        Ok(stored.principal)
    }
}
