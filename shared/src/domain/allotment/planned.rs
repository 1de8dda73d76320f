//! What a command on one allotment decided.

use super::grid::Grid;
use super::record::AllotmentRecord;
use chrono::{DateTime, Utc};

use crate::domain::event::{Event, EventData, EventType};
use std::collections::BTreeSet;

use crate::domain::dates::Month;
use crate::domain::plan::{whole_unit_writes, Change, GridStamp, Guard, MonthWrite, Plan};

/// A command's plan and the record and grid it leaves once applied: the command
/// answers their representation without reading them back.
#[derive(Debug, Clone, PartialEq)]
pub struct AllotmentPlan {
    pub plan: Plan,
    pub record: AllotmentRecord,
    pub grid: Grid,
}

impl AllotmentPlan {
    /// A change of an allotment that exists: `next` replaces the header read (guarded
    /// by the version read), the `nights` of `grid` take their new values (their
    /// months guarded by the revisions read, see [`GridStamp`]), and the `other`
    /// changes come with them. When `next` takes pickups and `read` did not, or the
    /// other way round, every month of `grid` is written (its mark).
    pub fn change(
        read: &AllotmentRecord,
        next: AllotmentRecord,
        grid: &Grid,
        nights: Grid,
        other: impl IntoIterator<Item = Change>,
    ) -> Self {
        let mut next_grid = grid.clone();
        next_grid.extend(nights.clone());
        // Each unit type of a month written is written whole, exact under the
        // revision guard.
        let mut months = whole_unit_writes(grid, &nights);
        if read.takes_pickups() != next.takes_pickups() {
            let written: BTreeSet<Month> = months.iter().map(|m| m.month).collect();
            let all: BTreeSet<Month> = grid.keys().map(|(_, d)| Month::of(*d)).collect();
            months.extend(all.difference(&written).map(|month| MonthWrite {
                month: *month,
                new_item: false,
                units: Vec::new(),
            }));
            months.sort_by_key(|m| m.month);
        }
        let stamp = GridStamp {
            revisions: months
                .iter()
                .map(|m| {
                    (
                        m.month,
                        read.grid_revisions.get(&m.month).copied().unwrap_or(0),
                    )
                })
                .collect(),
            takes_pickups: next.takes_pickups(),
        };
        // The record left: its months written are one revision on.
        let mut next = next;
        for (month, revision) in &stamp.revisions {
            next.grid_revisions.insert(*month, revision + 1);
        }
        let mut plan = Plan::new();
        plan.push(Change::Allotment {
            record: Box::new(next.clone()),
            guard: Guard::Version(read.version),
        });
        plan.push(Change::AllotmentNights {
            allotment_id: read.allotment_id,
            months,
            stamp,
        });
        for change in other {
            plan.push(change);
        }
        AllotmentPlan {
            plan,
            record: next,
            grid: next_grid,
        }
    }

    /// The plan with its event `event_type`, whose `data` is the representation the
    /// plan leaves.
    pub fn announce(self, event_type: EventType, occurred_at: DateTime<Utc>) -> Self {
        let data = EventData::Allotment(Box::new(self.record.representation(&self.grid)));
        self.announce_with(event_type, occurred_at, data)
    }

    /// The plan with its event `event_type` carrying `data`.
    pub fn announce_with(
        mut self,
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        data: EventData,
    ) -> Self {
        let event = Event::allotment(event_type, occurred_at, &self.record, data);
        self.plan.push(event);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::cancel::plan_cancel;
    use super::super::fixtures::{created, d, now, u};
    use super::*;
    use serde_json::json;

    /// Three months, nothing allocated in October: a cancel changes no night there,
    /// yet writes it (closed to pickups), every month guarded by the revision read.
    #[test]
    fn a_change_guards_the_revisions_read_and_marks_every_month_when_pickups_stop() {
        let (mut record, mut grid) =
            created(json!({"periodFrom": "2026-09-28", "periodTo": "2026-11-02"}));
        for ((_, date), n) in grid.iter_mut() {
            if date.format("%m").to_string() == "10" {
                n.allocated = 0;
            }
        }
        let (sep, oct, nov) = (
            Month::of(d("2026-09-28")),
            Month::of(d("2026-10-01")),
            Month::of(d("2026-11-01")),
        );
        record.grid_revisions = [(sep, 4), (oct, 0), (nov, 9)].into();
        let p = plan_cancel(&record, &grid, now()).unwrap().unwrap();
        let Some(Change::AllotmentNights { months, stamp, .. }) = p
            .plan
            .changes
            .iter()
            .find(|c| matches!(c, Change::AllotmentNights { .. }))
        else {
            panic!("no months written")
        };
        let written: Vec<(Month, usize)> =
            months.iter().map(|m| (m.month, m.units.len())).collect();
        assert_eq!(written, [(sep, 1), (oct, 0), (nov, 1)]);
        assert!(!stamp.takes_pickups);
        assert_eq!(stamp.revisions, record.grid_revisions, "each month as read");
        assert_eq!(
            p.record.grid_revisions,
            [(sep, 5), (oct, 1), (nov, 10)].into(),
            "the record left is one revision on"
        );
        assert!(p.grid.contains_key(&(u("dbl"), d("2026-10-15"))));

        // A change that keeps it open writes only the months it changes.
        let (open, open_grid) = created(json!({}));
        let mut nights = Grid::new();
        let key = (u("dbl"), d("2026-09-02"));
        nights.insert(key.clone(), open_grid[&key].clone());
        let p = AllotmentPlan::change(&open, open.next_version(now()), &open_grid, nights, []);
        let Change::AllotmentNights { months, stamp, .. } = &p.plan.changes[1] else {
            panic!("the months second")
        };
        assert_eq!(months.len(), 1);
        assert!(stamp.takes_pickups);
        assert_eq!(stamp.revisions, [(Month::of(d("2026-09-02")), 0)].into());
    }
}
