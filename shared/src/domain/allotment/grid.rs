//! The nights of an allotment: one [`GridNight`] per unit type and night.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::dates::NightRange;
use crate::domain::ids::UnitTypeId;

/// One night of one unit type of an allotment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridNight {
    pub contracted: i64,
    pub allocated: i64,
    pub picked_up: i64,
    /// Of `picked_up`, the rooms a capacity group supplied.
    pub from_group: i64,
    pub released: i64,
    pub released_at: Option<DateTime<Utc>>,
}

impl GridNight {
    /// Rooms picked up from the allotment's own allocation.
    pub fn own_picked_up(&self) -> i64 {
        self.picked_up - self.from_group
    }

    /// Rooms of its own allocation still free for pickups.
    pub fn remaining(&self) -> i64 {
        self.allocated - self.own_picked_up()
    }
}

/// The nights of an allotment, by unit type then date.
pub type Grid = std::collections::BTreeMap<(UnitTypeId, NaiveDate), GridNight>;

/// The grid of a new allotment: every night of the period at the agreed quantity.
pub fn initial_grid(period: &NightRange, allocations: &[(UnitTypeId, i64)]) -> Grid {
    let mut grid = Grid::new();
    for (ut, q) in allocations {
        for night in period.iter() {
            grid.insert(
                (ut.clone(), night),
                GridNight {
                    contracted: *q,
                    allocated: *q,
                    ..GridNight::default()
                },
            );
        }
    }
    grid
}

/// Totals of one unit type, in room-nights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UnitTotals {
    pub unit_type_id: String,
    pub contracted_room_nights: i64,
    pub allocated_room_nights: i64,
    pub picked_up_room_nights: i64,
    /// Of the picked-up room-nights, those a capacity group supplied.
    pub picked_up_from_group_room_nights: i64,
    pub released_room_nights: i64,
}

/// Totals per unit type, in unit type order.
pub fn totals(grid: &Grid) -> Vec<UnitTotals> {
    let mut out: Vec<UnitTotals> = Vec::new();
    for ((ut, _), n) in grid {
        if out.last().map(|t| t.unit_type_id.as_str()) != Some(ut.as_str()) {
            out.push(UnitTotals {
                unit_type_id: ut.to_string(),
                ..UnitTotals::default()
            });
        }
        let Some(t) = out.last_mut() else { continue };
        t.contracted_room_nights += n.contracted;
        t.allocated_room_nights += n.allocated;
        t.picked_up_room_nights += n.picked_up;
        t.picked_up_from_group_room_nights += n.from_group;
        t.released_room_nights += n.released;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{d, u};
    use super::*;

    #[test]
    fn totals_sum_each_unit_type_in_order() {
        let period = NightRange::new(d("2026-09-01"), d("2026-09-03"), 10).unwrap();
        let mut grid = initial_grid(&period, &[(u("sgl"), 2), (u("dbl"), 5)]);
        let night = grid.get_mut(&(u("dbl"), d("2026-09-02"))).unwrap();
        night.picked_up = 3;
        night.from_group = 1;
        let t = totals(&grid);
        assert_eq!(
            t.iter()
                .map(|t| (
                    t.unit_type_id.as_str(),
                    t.contracted_room_nights,
                    t.picked_up_room_nights,
                    t.picked_up_from_group_room_nights
                ))
                .collect::<Vec<_>>(),
            [("dbl", 15, 3, 1), ("sgl", 6, 0, 0)]
        );
        assert!(totals(&Grid::new()).is_empty());
    }
}
