//! History pages: the entries of each change, newest first.

use uuid::Uuid;

use super::super::attr::{get_s, Item};
use super::super::{keys, Store};
use crate::domain::allotment::AllocationEntry;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

/// History items read per request while filling a page.
const ITEMS_PER_READ: i32 = 25;

fn entries(item: &Item) -> Result<Vec<AllocationEntry>, ApiError> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|e| ApiError::Internal(format!("stored history: {e}")))
}

impl Store {
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
        let query = self.sort_key_range(pk, "H#", &hi).scan_index_forward(false);
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self
                .query_page("allocation_history", &query, Some(ITEMS_PER_READ), start)
                .await?;
            for item in &items {
                let sk = get_s(item, keys::SK)?;
                let first = if sk == hi { skip } else { 0 };
                for (i, e) in entries(item)?.into_iter().enumerate().skip(first) {
                    if out.len() == limit {
                        return Ok((out, Some(format!("{sk}|{i}"))));
                    }
                    out.push(e);
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok((out, None)),
            }
        }
    }
}
