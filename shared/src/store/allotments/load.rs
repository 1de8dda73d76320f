//! Reading one allotment: its header, grid months and group membership in one query.

use uuid::Uuid;

use super::super::attr::get_s;
use super::super::{grid, keys, Store};
use super::header::parse_header;
use crate::domain::allotment::{AllotmentRecord, Grid};
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

impl Store {
    /// The header and grid of an allotment of this tenant (`None` otherwise).
    pub async fn load_allotment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<(AllotmentRecord, Grid)>, ApiError> {
        let (pk, _) = keys::allotment(t, id);
        let mut header = None;
        let mut group = None;
        let mut grid = Grid::new();
        // The header ("A"), the grid months ("G#...") and the membership ("GROUP"):
        // every item of the partition before the history ("H#...").
        let query = self.sort_key_range(pk, "A", "H");
        for item in self.query_all("load_allotment", query).await? {
            match get_s(&item, keys::SK)? {
                "A" => header = Some(parse_header(&item)?),
                "GROUP" => {
                    group = item
                        .get("groupId")
                        .and_then(|v| v.as_s().ok())
                        .and_then(|g| Uuid::parse_str(g).ok())
                }
                sk if sk.starts_with("G#") => grid::decode_month(&item, &mut grid)?,
                _ => {}
            }
        }
        if let Some(h) = &header {
            self.remember_establishment(t, id, h.establishment_id);
        }
        Ok(header.map(|mut h| {
            h.group_id = group;
            (h, grid)
        }))
    }

    /// Like [`Self::load_allotment`], `NOT_FOUND` when absent.
    pub async fn require_allotment(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<(AllotmentRecord, Grid), ApiError> {
        self.load_allotment(t, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such allotment".into()))
    }
}
