//! Establishments of a tenant.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::attr::{get_s, instant, key, s, Item};
use super::{keys, sdk_error, Store};
use crate::domain::error::ApiError;
use crate::domain::establishment::{format_instant, Establishment, EstablishmentInput};
use crate::domain::ids::TenantId;

fn parse(id: Uuid, item: &Item) -> Result<Establishment, ApiError> {
    let time_zone: Tz = get_s(item, "timeZone")?
        .parse()
        .map_err(|_| ApiError::Internal("stored time zone".into()))?;
    Ok(Establishment {
        establishment_id: id,
        name: get_s(item, "name")?.to_string(),
        time_zone,
        created_at: instant(item, "createdAt")?,
        updated_at: instant(item, "updatedAt")?,
    })
}

impl Store {
    /// Creates or updates an establishment; `true` when it was created.
    /// A time-zone change is refused (`INVALID_STATE`) while the establishment has
    /// active holdings (`activeHolds`, kept by allotments and capacity groups).
    pub async fn put_establishment(
        &self,
        t: &TenantId,
        id: Uuid,
        input: &EstablishmentInput,
        now: DateTime<Utc>,
    ) -> Result<(Establishment, bool), ApiError> {
        let (pk, sk) = keys::establishment(t, id);
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .update_expression(
                "SET #name = :name, #tz = :tz, #u = :now, #c = if_not_exists(#c, :now)",
            )
            .condition_expression(
                "attribute_not_exists(#tz) OR #tz = :tz OR attribute_not_exists(#holds) OR #holds <= :zero",
            )
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#tz", "timeZone")
            .expression_attribute_names("#u", "updatedAt")
            .expression_attribute_names("#c", "createdAt")
            .expression_attribute_names("#holds", "activeHolds")
            .expression_attribute_values(":name", s(&input.name))
            .expression_attribute_values(":tz", s(input.time_zone.name()))
            .expression_attribute_values(":now", s(format_instant(&now)))
            .expression_attribute_values(":zero", super::attr::n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                // The old item tells created (none) from updated, and keeps createdAt.
                let old = out.attributes().filter(|a| !a.is_empty());
                let created_at = match old {
                    Some(item) => instant(item, "createdAt")?,
                    None => now,
                };
                let est = Establishment {
                    establishment_id: id,
                    name: input.name.clone(),
                    time_zone: input.time_zone,
                    created_at,
                    updated_at: now,
                };
                Ok((est, old.is_none()))
            }
            Err(e)
                if e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(ApiError::InvalidState(
                    "The time zone cannot change while the establishment has active allotments or capacity groups".into(),
                ))
            }
            Err(e) => Err(sdk_error("put_establishment", e)),
        }
    }

    pub async fn get_establishment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<Establishment>, ApiError> {
        let item = self
            .get("get_establishment", keys::establishment(t, id))
            .await?;
        item.map(|item| parse(id, &item)).transpose()
    }

    /// The establishment, or `NOT_FOUND` (also for another tenant's id).
    pub async fn require_establishment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Establishment, ApiError> {
        self.get_establishment(t, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such establishment".into()))
    }
}
