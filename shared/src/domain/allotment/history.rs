//! The allocation history: immutable entries, one per unit type and change.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::grid::Grid;
use super::record::AllotmentRecord;
use crate::domain::ids::UnitTypeId;

/// One night's change in an allocation history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NightChange {
    pub date: NaiveDate,
    pub previous_quantity: i64,
    pub quantity: i64,
}

/// An allocation history entry: immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationEntry {
    pub allocation_id: Uuid,
    pub allotment_id: Uuid,
    pub unit_type_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub quantity: Option<i64>,
    pub previous_quantity: Option<i64>,
    pub memo: Option<String>,
    #[serde(serialize_with = "crate::domain::establishment::instant")]
    pub timestamp: DateTime<Utc>,
    pub nights: Vec<NightChange>,
}

impl AllocationEntry {
    /// An entry over some nights of one unit type; `quantity`/`previousQuantity` are
    /// set when uniform over those nights, else `None`.
    pub fn new(
        allotment_id: Uuid,
        unit_type_id: &UnitTypeId,
        nights: Vec<NightChange>,
        memo: Option<String>,
        timestamp: DateTime<Utc>,
    ) -> Option<Self> {
        let first = nights.first()?;
        let last = nights.last()?;
        let uniform = |f: fn(&NightChange) -> i64| {
            let v = f(first);
            nights.iter().all(|n| f(n) == v).then_some(v)
        };
        Some(AllocationEntry {
            allocation_id: Uuid::new_v4(),
            allotment_id,
            unit_type_id: unit_type_id.to_string(),
            from: first.date,
            to: last.date,
            quantity: uniform(|n| n.quantity),
            previous_quantity: uniform(|n| n.previous_quantity),
            memo,
            timestamp,
            nights,
        })
    }
}

/// The initial history of a new allotment: one entry per unit type over the whole
/// period (from 0 to the quantity agreed).
pub fn initial_entries(record: &AllotmentRecord, grid: &Grid) -> Vec<AllocationEntry> {
    let mut by_unit: BTreeMap<&UnitTypeId, Vec<NightChange>> = BTreeMap::new();
    for ((ut, d), night) in grid {
        by_unit.entry(ut).or_default().push(NightChange {
            date: *d,
            previous_quantity: 0,
            quantity: night.allocated,
        });
    }
    by_unit
        .into_iter()
        .filter_map(|(ut, nights)| {
            AllocationEntry::new(
                record.allotment_id,
                ut,
                nights,
                Some("initial allocation".into()),
                record.created_at,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{d, now, u};
    use super::*;

    fn night(date: &str, previous: i64, quantity: i64) -> NightChange {
        NightChange {
            date: d(date),
            previous_quantity: previous,
            quantity,
        }
    }

    #[test]
    fn quantities_are_set_only_when_uniform() {
        let cases = [
            (
                vec![night("2026-09-01", 4, 6), night("2026-09-02", 4, 6)],
                Some(6),
                Some(4),
            ),
            (
                vec![night("2026-09-01", 4, 6), night("2026-09-02", 5, 6)],
                Some(6),
                None,
            ),
            (
                vec![night("2026-09-01", 4, 6), night("2026-09-02", 4, 3)],
                None,
                Some(4),
            ),
        ];
        for (nights, quantity, previous) in cases {
            let e = AllocationEntry::new(Uuid::nil(), &u("dbl"), nights, None, now()).unwrap();
            assert_eq!((e.quantity, e.previous_quantity), (quantity, previous));
            assert_eq!((e.from, e.to), (d("2026-09-01"), d("2026-09-02")));
        }
        assert!(AllocationEntry::new(Uuid::nil(), &u("dbl"), vec![], None, now()).is_none());
    }
}
