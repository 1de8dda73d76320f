//! Pickups: `T#<t>#A#<allotment>` / `P#<pickupId>` (ids are UUIDv7, so the sort key
//! orders pickups by creation). A pickup and its cancel are planned commands
//! (`domain::pickup`) applied by `Store::apply`; this file maps items to pickups.

use uuid::Uuid;

use super::attr::{get_s, key, s, Item};
use super::{keys, Store};
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;
use crate::domain::pickup::{Pickup, PickupStatus};

pub(crate) fn pickup_item(t: &TenantId, p: &Pickup) -> Result<Item, ApiError> {
    let (pk, sk) = keys::pickup(t, p.allotment_id, p.pickup_id);
    let mut item = key(pk, sk);
    item.insert(
        "status".into(),
        s(match p.status {
            PickupStatus::Active => "active",
            PickupStatus::Cancelled => "cancelled",
        }),
    );
    let doc = serde_json::to_string(p).map_err(|e| ApiError::Internal(format!("pickup: {e}")))?;
    item.insert("doc".into(), s(doc));
    Ok(item)
}

/// A stored pickup; one that does not read, or whose nights or unit type make no
/// sense, is an `INTERNAL_ERROR`, logged.
fn parse_pickup(item: &Item) -> Result<Pickup, ApiError> {
    let corrupt = |e: ApiError| {
        let sk = item.get(keys::SK).and_then(|v| v.as_s().ok());
        tracing::error!(item = ?sk, error = ?e, "stored pickup does not read");
        e
    };
    let p: Pickup = serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| corrupt(ApiError::Internal(format!("stored pickup: {e}"))))?;
    p.nights().map_err(corrupt)?;
    p.unit().map_err(corrupt)?;
    Ok(p)
}

impl Store {
    pub async fn get_pickup(
        &self,
        t: &TenantId,
        allotment: Uuid,
        pickup: Uuid,
    ) -> Result<Option<Pickup>, ApiError> {
        self.get_as(
            "get_pickup",
            keys::pickup(t, allotment, pickup),
            parse_pickup,
        )
        .await
    }

    /// A page of pickups, most recent first, after the pickup id `after`.
    pub async fn list_pickups(
        &self,
        t: &TenantId,
        allotment: Uuid,
        limit: usize,
        after: Option<Uuid>,
    ) -> Result<(Vec<Pickup>, Option<Uuid>), ApiError> {
        let (pk, _) = keys::allotment(t, allotment);
        let hi = match after {
            Some(id) => keys::pickup(t, allotment, id).1,
            None => "P#~".to_string(),
        };
        let resp = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s("P#"))
            .expression_attribute_values(":hi", s(hi.clone()))
            .limit(limit as i32 + 2)
            .send()
            .await
            .map_err(|e| super::sdk_error("list_pickups", e))?;
        let mut out = Vec::new();
        for item in resp.items() {
            if get_s(item, keys::SK)? == hi {
                continue;
            }
            if out.len() == limit {
                let next = out.last().map(|p: &Pickup| p.pickup_id);
                return Ok((out, next));
            }
            out.push(parse_pickup(item)?);
        }
        Ok((out, None))
    }
}
