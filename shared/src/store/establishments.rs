//! Establishments of a tenant.

use chrono_tz::Tz;
use uuid::Uuid;

use super::attr::{get_n, get_s, instant, Item};
use super::{keys, Store};
use crate::domain::error::ApiError;
use crate::domain::establishment::{Establishment, StoredEstablishment};
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
    /// An establishment with the count of its active allotments and groups.
    pub async fn load_establishment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<StoredEstablishment>, ApiError> {
        let item = self
            .get("load_establishment", keys::establishment(t, id))
            .await?;
        item.map(|item| {
            Ok(StoredEstablishment {
                establishment: parse(id, &item)?,
                active_holds: match item.get("activeHolds") {
                    Some(_) => get_n(&item, "activeHolds")?,
                    None => 0,
                },
                version: match item.get("version") {
                    Some(_) => get_n(&item, "version")?,
                    None => 0,
                },
            })
        })
        .transpose()
    }

    /// An establishment of this tenant, if any.
    pub async fn get_establishment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<Establishment>, ApiError> {
        let stored = self.load_establishment(t, id).await?;
        Ok(stored.map(|s| s.establishment))
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
