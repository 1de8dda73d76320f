//! History pages: the entries of each change, newest first.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::attr::{get_s, Item};
use super::super::{keys, Store};
use crate::domain::allotment::AllocationEntry;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

/// History items read per request while filling a page.
const ITEMS_PER_READ: i32 = 25;

/// The stored `doc` of history entries: each entry as its representation, its
/// `nights` kept as runs of consecutive nights with the same change (`runs`:
/// `[first, last, previousQuantity, quantity]`), so a change of 731 nights × 50 unit
/// types that is uniform per unit type is 50 short entries, not 36,550 nights.
pub(crate) fn history_doc(entries: &[AllocationEntry]) -> Result<String, ApiError> {
    let bad = |e: serde_json::Error| ApiError::Internal(format!("history: {e}"));
    let mut docs = Vec::with_capacity(entries.len());
    for e in entries {
        let mut doc = serde_json::to_value(e).map_err(bad)?;
        let mut runs: Vec<(NaiveDate, NaiveDate, i64, i64)> = Vec::new();
        for n in &e.nights {
            match runs.last_mut() {
                Some(r)
                    if r.1.succ_opt() == Some(n.date)
                        && (r.2, r.3) == (n.previous_quantity, n.quantity) =>
                {
                    r.1 = n.date
                }
                _ => runs.push((n.date, n.date, n.previous_quantity, n.quantity)),
            }
        }
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("nights");
            obj.insert("runs".into(), serde_json::to_value(runs).map_err(bad)?);
        }
        docs.push(doc);
    }
    serde_json::to_string(&docs).map_err(bad)
}

fn entries(item: &Item) -> Result<Vec<AllocationEntry>, ApiError> {
    let bad = |e: serde_json::Error| ApiError::Internal(format!("stored history: {e}"));
    let docs: Vec<serde_json::Value> = serde_json::from_str(get_s(item, "doc")?).map_err(bad)?;
    docs.into_iter()
        .map(|mut doc| {
            if let Some(obj) = doc.as_object_mut() {
                if let Some(runs) = obj.remove("runs") {
                    let runs: Vec<(NaiveDate, NaiveDate, i64, i64)> =
                        serde_json::from_value(runs).map_err(bad)?;
                    let mut nights = Vec::new();
                    for (first, last, previous, quantity) in runs {
                        let mut d = first;
                        while d <= last {
                            nights.push(serde_json::json!({"date": d, "previousQuantity": previous, "quantity": quantity}));
                            d = d.succ_opt().ok_or_else(|| ApiError::Internal("stored history: date".into()))?;
                        }
                    }
                    obj.insert("nights".into(), serde_json::Value::Array(nights));
                }
            }
            serde_json::from_value(doc).map_err(bad)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::allotment::NightChange;
    use crate::domain::ids::UnitTypeId;

    #[test]
    fn stored_entries_keep_their_nights_as_runs() {
        let d = |s: &str| crate::domain::dates::parse_date(s).unwrap();
        let night = |day: &str, previous, quantity| NightChange {
            date: d(day),
            previous_quantity: previous,
            quantity,
        };
        let nights = vec![
            night("2026-09-01", 5, 0),
            night("2026-09-02", 5, 0),
            night("2026-09-03", 4, 0),
            night("2026-09-05", 4, 0),
        ];
        let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let unit = UnitTypeId::parse("dbl").unwrap();
        let entry =
            AllocationEntry::new(Uuid::nil(), &unit, nights, Some("memo".into()), at).unwrap();
        let doc = history_doc(std::slice::from_ref(&entry)).unwrap();
        assert!(!doc.contains("nights"), "{doc}");
        assert!(doc.contains(r#""runs":[["2026-09-01","2026-09-02",5,0],["2026-09-03","2026-09-03",4,0],["2026-09-05","2026-09-05",4,0]]"#), "{doc}");
        let mut item = Item::new();
        item.insert("doc".into(), crate::store::attr::s(doc));
        assert_eq!(entries(&item).unwrap(), vec![entry]);
    }
}
