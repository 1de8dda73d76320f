//! Capacity groups: header (`G`), night grid (`M#<YYYY-MM>`, `n.<unit>.<dd>` =
//! `{s shared, u used, v available}`: see `grid`), a name item that makes names unique
//! per establishment, and one membership item per member allotment (in the member's
//! partition). Every write of a group is a planned command (`domain::group`) applied
//! by `Store::apply`; this file maps items to records.

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use super::attr::{get_n, get_s, key, n, s, Item};
use super::{keys, Store};
use crate::domain::error::ApiError;
use crate::domain::group::{Candidate, Candidates, GroupRecord};
use crate::domain::ids::TenantId;

pub use crate::domain::group::{GroupGrid, LoadedGroup};

/// The header's set of member ids.
pub(crate) const MEMBERS: &str = "members";

pub(crate) fn header_item(
    t: &TenantId,
    g: &GroupRecord,
    active_draws: i64,
) -> Result<Item, ApiError> {
    let (pk, sk) = keys::group(t, g.capacity_group_id);
    let (gpk, gsk) = keys::group_index(t, g.establishment_id, &g.name, g.capacity_group_id);
    let mut item = key(pk, sk);
    item.insert(keys::GSI1PK.into(), s(gpk));
    item.insert(keys::GSI1SK.into(), s(gsk));
    item.insert("version".into(), n(g.version));
    item.insert("activeDraws".into(), n(active_draws));
    // What a pickup's draw requires to name its allotment (a set: none when empty).
    if !g.allotment_ids.is_empty() {
        let ids = g.allotment_ids.iter().map(Uuid::to_string).collect();
        item.insert(MEMBERS.into(), AttributeValue::Ss(ids));
    }
    let doc = serde_json::to_string(g).map_err(|e| ApiError::Internal(format!("group: {e}")))?;
    item.insert("doc".into(), s(doc));
    if let Some((rpk, rsk)) = super::releases::group_index_keys(g) {
        item.insert(super::releases::GSI2PK.into(), s(rpk));
        item.insert(super::releases::GSI2SK.into(), s(rsk));
    }
    Ok(item)
}

/// A stored header; a document that does not read (an unknown time zone, say) is an
/// `INTERNAL_ERROR`, logged, never a default.
fn parse_header(item: &Item) -> Result<(GroupRecord, i64), ApiError> {
    let mut g: GroupRecord = serde_json::from_str(get_s(item, "doc")?).map_err(|e| {
        let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
        tracing::error!(item = ?pk, error = %e, "stored capacity group does not read");
        ApiError::Internal(format!("stored group: {e}"))
    })?;
    g.version = get_n(item, "version")?;
    Ok((g, get_n(item, "activeDraws").unwrap_or(0)))
}

impl Store {
    pub async fn load_group(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Option<LoadedGroup>, ApiError> {
        let (pk, _) = keys::group(t, id);
        let query = self.partition(pk);
        let mut header = None;
        let mut grid = GroupGrid::new();
        for item in self.query_all("load_group", query).await? {
            match get_s(&item, keys::SK)? {
                "G" => header = Some(parse_header(&item)?),
                sk if sk.starts_with("M#") => super::grid::decode_month(&item, &mut grid)?,
                _ => {}
            }
        }
        Ok(header.map(|(record, active_draws)| LoadedGroup {
            record,
            grid,
            active_draws,
        }))
    }

    pub async fn require_group(&self, t: &TenantId, id: Uuid) -> Result<LoadedGroup, ApiError> {
        self.load_group(t, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such capacity group".into()))
    }

    /// The group holding a name in an establishment, if any.
    pub async fn group_name_holder(
        &self,
        t: &TenantId,
        est: Uuid,
        name: &str,
    ) -> Result<Option<Uuid>, ApiError> {
        let item = self
            .get("group_name", keys::group_name(t, est, name))
            .await?;
        Ok(item.as_ref().and_then(group_id))
    }

    /// What the member rules need of each allotment named (its header and membership
    /// items, strongly consistent, about two round trips for 100): `None` for an id
    /// that is no allotment of this tenant.
    pub async fn load_candidates(
        &self,
        t: &TenantId,
        ids: &[Uuid],
    ) -> Result<Candidates, ApiError> {
        let mut wanted = Vec::new();
        for id in ids {
            let (pk, sk) = keys::allotment(t, *id);
            wanted.push(key(pk, sk));
            let (pk, sk) = keys::membership(t, *id);
            wanted.push(key(pk, sk));
        }
        let mut headers = std::collections::HashMap::new();
        let mut groups = std::collections::HashMap::new();
        for item in self.batch_get("load_candidates", wanted).await? {
            let pk = get_s(&item, keys::PK)?.to_string();
            if get_s(&item, keys::SK)? == keys::membership(t, Uuid::nil()).1 {
                groups.insert(pk, group_id(&item));
            } else {
                headers.insert(pk, super::allotments::parse_header(&item)?);
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                let pk = keys::allotment(t, *id).0;
                let candidate = headers.get(&pk).map(|a| Candidate {
                    establishment_id: a.establishment_id,
                    status: a.status,
                    group_id: groups.get(&pk).copied().flatten(),
                });
                (*id, candidate)
            })
            .collect())
    }

    /// A page of an establishment's groups ordered by name: at most `limit` after the
    /// position `after` (the index sort key of the last one seen), and the position to
    /// continue from when more follow.
    pub async fn list_groups(
        &self,
        t: &TenantId,
        est: Uuid,
        (limit, after): (usize, Option<&str>),
    ) -> Result<(Vec<Uuid>, Option<String>), ApiError> {
        let (gpk, _) = keys::group_index(t, est, "", Uuid::nil());
        let query = match after {
            Some(pos) => self
                .list_index(gpk)
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":after", s(pos)),
            None => self.list_index(gpk).key_condition_expression("#pk = :pk"),
        };
        // One more than asked: whether another page follows.
        let read = Some(limit as i32 + 1);
        let (items, _) = self.query_page("list_groups", &query, read, None).await?;
        let mut page = Vec::new();
        for item in items.iter().take(limit) {
            let sk = get_s(item, keys::GSI1SK)?;
            let id = sk
                .rsplit_once('#')
                .and_then(|(_, id)| Uuid::parse_str(id).ok())
                .ok_or_else(|| ApiError::Internal("group index key".into()))?;
            page.push((id, sk.to_string()));
        }
        let next = match items.len() > limit {
            true => page.last().map(|(_, sk)| sk.clone()),
            false => None,
        };
        Ok((page.into_iter().map(|(id, _)| id).collect(), next))
    }
}

/// The `groupId` of a name or membership item.
fn group_id(item: &Item) -> Option<Uuid> {
    item.get("groupId")
        .and_then(|v| v.as_s().ok())
        .and_then(|g| Uuid::parse_str(g).ok())
}
