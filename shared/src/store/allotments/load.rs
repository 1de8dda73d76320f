//! Reading one allotment (its header, grid months and group membership in one query),
//! and the headers and some grid months of many at once (the cutoff).

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::super::attr::{get_s, key};
use super::super::{grid, keys, Store};
use super::header::parse_header;
use crate::domain::allotment::{AllotmentRecord, Grid};
use crate::domain::dates::Month;
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
        let mut months = Vec::new();
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
                sk if sk.starts_with("G#") => {
                    grid::decode_month(&item, &mut grid)?;
                    months.push(grid::month_counters(&item)?);
                }
                _ => {}
            }
        }
        if let Some(h) = &header {
            self.remember_establishment(t, id, h.establishment_id);
        }
        Ok(header.map(|mut h| {
            h.group_id = group;
            h.active_pickups = months.iter().map(|(_, _, active)| active).sum();
            h.grid_revisions = months.iter().map(|(m, rev, _)| (*m, *rev)).collect();
            (h, grid)
        }))
    }

    /// The headers of allotments of this tenant (absent ones left out), 100 per
    /// request: what the cutoff reads of many allotments at once.
    pub async fn allotment_headers(
        &self,
        t: &TenantId,
        ids: &[Uuid],
    ) -> Result<Vec<AllotmentRecord>, ApiError> {
        let wanted = ids.iter().map(|id| {
            let (pk, sk) = keys::allotment(t, *id);
            key(pk, sk)
        });
        let items = self
            .batch_get("allotment_headers", wanted.collect())
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let r = parse_header(item)?;
            self.remember_establishment(t, r.allotment_id, r.establishment_id);
            out.push(r);
        }
        Ok(out)
    }

    /// Some grid months of allotments of this tenant, 100 per request: each
    /// allotment's nights of those months (a month never written holds none), with
    /// the revision of each month read (see `AllotmentRecord::grid_revisions`).
    pub async fn allotment_months(
        &self,
        t: &TenantId,
        wanted: &[(Uuid, Vec<Month>)],
    ) -> Result<HashMap<Uuid, (Grid, BTreeMap<Month, i64>)>, ApiError> {
        let mut of_pk = HashMap::new();
        let mut keys_wanted = Vec::new();
        for (id, months) in wanted {
            for m in months {
                let (pk, sk) = keys::allotment_grid(t, *id, *m);
                of_pk.insert(pk.clone(), *id);
                keys_wanted.push(key(pk, sk));
            }
        }
        let mut out: HashMap<Uuid, (Grid, BTreeMap<Month, i64>)> = wanted
            .iter()
            .map(|(id, _)| (*id, Default::default()))
            .collect();
        for item in self.batch_get("allotment_months", keys_wanted).await? {
            let id = of_pk.get(get_s(&item, keys::PK)?).copied();
            let Some((grid, revisions)) = id.and_then(|id| out.get_mut(&id)) else {
                return Err(ApiError::Internal(
                    "a grid month of no allotment asked".into(),
                ));
            };
            grid::decode_month(&item, grid)?;
            let (month, revision, _) = grid::month_counters(&item)?;
            revisions.insert(month, revision);
        }
        Ok(out)
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
