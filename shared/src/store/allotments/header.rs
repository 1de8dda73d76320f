//! The header item of an allotment: the record as a JSON `doc`, with the attributes
//! that conditions, indexes and filters read beside it.

use super::super::attr::{get_n, get_s, key, n, s, Item};
use super::super::{keys, releases};
use crate::domain::allotment::AllotmentRecord;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

/// The header item of a record (with its list index and, while nights remain to
/// release, its release index keys).
pub(crate) fn header_item(t: &TenantId, r: &AllotmentRecord) -> Result<Item, ApiError> {
    let (pk, sk) = keys::allotment(t, r.allotment_id);
    let (gpk, gsk) = keys::allotment_index(t, r.establishment_id, r.period_from, r.allotment_id);
    let doc = serde_json::to_string(r).map_err(|e| ApiError::Internal(format!("record: {e}")))?;
    let mut item = key(pk, sk);
    item.insert(keys::GSI1PK.into(), s(gpk));
    item.insert(keys::GSI1SK.into(), s(gsk));
    item.insert("status".into(), s(r.status.as_str()));
    item.insert("allotmentType".into(), s(r.allotment_type.as_str()));
    item.insert("channelType".into(), s(r.channel_type.as_str()));
    item.insert("periodFrom".into(), s(r.period_from.to_string()));
    item.insert("periodTo".into(), s(r.period_to.to_string()));
    item.insert("version".into(), n(r.version));
    if let Some(through) = r.released_through {
        item.insert("releasedThrough".into(), s(through.to_string()));
    }
    // The sparse release index: present while nights remain to release.
    if let Some((rpk, rsk)) = releases::index_keys(r) {
        item.insert(releases::GSI2PK.into(), s(rpk));
        item.insert(releases::GSI2SK.into(), s(rsk));
    }
    item.insert("doc".into(), s(doc));
    Ok(item)
}

/// The record of a header item. A stored value no write makes (an unknown time zone,
/// a period without nights, a missing counter) is `INTERNAL_ERROR`, logged.
pub(crate) fn parse_header(item: &Item) -> Result<AllotmentRecord, ApiError> {
    let parsed = (|| {
        let mut r: AllotmentRecord = serde_json::from_str(get_s(item, "doc")?)
            .map_err(|e| ApiError::Internal(format!("stored allotment: {e}")))?;
        r.version = get_n(item, "version")?;
        r.check_stored()?;
        Ok(r)
    })();
    if let Err(e) = &parsed {
        let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
        tracing::error!(pk = pk.map(String::as_str).unwrap_or("?"), error = ?e, "unreadable allotment header");
    }
    parsed
}
