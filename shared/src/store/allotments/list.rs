//! An establishment's allotments (GSI1), filtered and paged.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::attr::{get_s, key, s};
use super::super::{keys, Store};
use super::header::parse_header;
use crate::domain::allotment::{AllotmentRecord, AllotmentType, ChannelType, Status};
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

/// Filters of `GET /v1/allotments`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllotmentFilter {
    pub status: Option<Status>,
    pub allotment_type: Option<AllotmentType>,
    pub channel_type: Option<ChannelType>,
    /// Keep allotments whose period overlaps `[from, to]`.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Store {
    /// A page of an establishment's allotments ordered by `periodFrom`, then id,
    /// starting after `after` (the GSI1 sort key of the last one seen). Returns the
    /// page and, when more may follow, the position to continue from.
    pub async fn list_allotments(
        &self,
        t: &TenantId,
        est: Uuid,
        filter: &AllotmentFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<AllotmentRecord>, Option<String>), ApiError> {
        let (gpk, _) = keys::allotment_index(t, est, NaiveDate::MIN, Uuid::nil());
        let mut conditions = Vec::new();
        let mut query = self.list_index(gpk.clone());
        let mut key_condition = "#pk = :pk".to_string();
        if let Some(to) = filter.to {
            // periodFrom <= to: sort keys start with periodFrom.
            let bound = to.succ_opt().unwrap_or(to).to_string();
            key_condition.push_str(" AND #sk < :hi");
            query = query
                .expression_attribute_names("#sk", keys::GSI1SK)
                .expression_attribute_values(":hi", s(bound));
        }
        let equal = [
            ("status", filter.status.map(Status::as_str)),
            (
                "allotmentType",
                filter.allotment_type.map(AllotmentType::as_str),
            ),
            ("channelType", filter.channel_type.map(ChannelType::as_str)),
        ];
        for (i, (attribute, value)) in equal.into_iter().enumerate() {
            if let Some(value) = value {
                conditions.push(format!("#f{i} = :f{i}"));
                query = query
                    .expression_attribute_names(format!("#f{i}"), attribute)
                    .expression_attribute_values(format!(":f{i}"), s(value));
            }
        }
        if let Some(from) = filter.from {
            conditions.push("#periodTo >= :from".to_string());
            query = query
                .expression_attribute_names("#periodTo", "periodTo")
                .expression_attribute_values(":from", s(from.to_string()));
        }
        query = query.key_condition_expression(key_condition);
        if !conditions.is_empty() {
            query = query.filter_expression(conditions.join(" AND "));
        }
        let mut start = match after {
            Some(position) => {
                let id = position
                    .rsplit_once('#')
                    .and_then(|(_, id)| Uuid::parse_str(id).ok())
                    // Positions come from signed cursors this store issued.
                    .ok_or_else(|| ApiError::Internal(format!("list position {position:?}")))?;
                let (pk, sk) = keys::allotment(t, id);
                let mut k = key(pk, sk);
                k.insert(keys::GSI1PK.into(), s(gpk.clone()));
                k.insert(keys::GSI1SK.into(), s(position));
                Some(k)
            }
            None => None,
        };
        let mut out = Vec::new();
        // Bounded work per request: at most 10 index pages of 100 items.
        for _ in 0..10 {
            let (items, next) = self
                .query_page("list_allotments", &query, Some(100), start.take())
                .await?;
            for item in &items {
                if out.len() >= limit {
                    let position = out.last().map(|last: &AllotmentRecord| {
                        keys::allotment_index(t, est, last.period_from, last.allotment_id).1
                    });
                    return Ok((out, position));
                }
                out.push(parse_header(item)?);
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok((out, None)),
            }
        }
        // Filters skipped many items: hand back a position to continue from.
        let position = match out.last() {
            Some(last) => keys::allotment_index(t, est, last.period_from, last.allotment_id).1,
            None => match &start {
                Some(k) => get_s(k, keys::GSI1SK)?.to_string(),
                None => return Ok((out, None)),
            },
        };
        Ok((out, Some(position)))
    }
}
