//! History pages: the entries of each change, newest first.

use uuid::Uuid;

use super::super::attr::{get_s, s};
use super::super::{keys, sdk_error, Store};
use crate::domain::allotment::AllocationEntry;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

impl Store {
    /// Every history entry, newest first.
    pub async fn allocation_history(
        &self,
        t: &TenantId,
        id: Uuid,
    ) -> Result<Vec<AllocationEntry>, ApiError> {
        let (pk, _) = keys::allotment(t, id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :h)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":h", s("H#"));
        let mut out = Vec::new();
        for item in self.query_all("allocation_history", query).await? {
            let entries: Vec<AllocationEntry> = serde_json::from_str(get_s(&item, "doc")?)
                .map_err(|e| ApiError::Internal(format!("stored history: {e}")))?;
            out.extend(entries);
        }
        Ok(out)
    }

    /// A page of the allocation history, newest first. `after` is the position a
    /// previous page ended at (`<history sort key>|<entries already taken from it>`).
    pub async fn allocation_history_page(
        &self,
        t: &TenantId,
        id: Uuid,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<AllocationEntry>, Option<String>), ApiError> {
        // Positions come from signed cursors this store issued: one that does not
        // parse is a bug, not a request error.
        let invalid = || ApiError::Internal(format!("history position {after:?}"));
        let (hi, skip) = match after {
            Some(p) => {
                let (sk, idx) = p.split_once('|').ok_or_else(invalid)?;
                (sk.to_string(), idx.parse::<usize>().map_err(|_| invalid())?)
            }
            None => ("H#~".to_string(), 0),
        };
        let (pk, _) = keys::allotment(t, id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .consistent_read(true)
            .scan_index_forward(false)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s("H#"))
            .expression_attribute_values(":hi", s(hi.clone()));
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = query
                .clone()
                .limit(25)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("allocation_history", e))?;
            for item in resp.items() {
                let sk = get_s(item, keys::SK)?;
                let entries: Vec<AllocationEntry> = serde_json::from_str(get_s(item, "doc")?)
                    .map_err(|e| ApiError::Internal(format!("stored history: {e}")))?;
                let first = if sk == hi { skip } else { 0 };
                for (i, e) in entries.into_iter().enumerate().skip(first) {
                    if out.len() == limit {
                        return Ok((out, Some(format!("{sk}|{i}"))));
                    }
                    out.push(e);
                }
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((out, None)),
            }
        }
    }
}
