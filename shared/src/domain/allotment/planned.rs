//! What a command on one allotment decided.

use super::grid::Grid;
use super::record::AllotmentRecord;
use chrono::{DateTime, Utc};

use crate::domain::event::{Event, EventData, EventType};
use crate::domain::plan::{month_writes, Change, Guard, Plan};

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
    /// by the version read), the `nights` of `grid` take their new values, and the
    /// `other` changes come with them.
    pub fn change(
        read: &AllotmentRecord,
        next: AllotmentRecord,
        grid: &Grid,
        nights: Grid,
        other: impl IntoIterator<Item = Change>,
    ) -> Self {
        let mut plan = Plan::new();
        plan.push(Change::Allotment {
            record: Box::new(next.clone()),
            guard: Guard::Version(read.version),
        });
        plan.push(Change::AllotmentNights {
            allotment_id: read.allotment_id,
            months: month_writes(grid, &nights),
        });
        for change in other {
            plan.push(change);
        }
        let mut next_grid = grid.clone();
        next_grid.extend(nights);
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
