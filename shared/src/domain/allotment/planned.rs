//! What a command on one allotment decided.

use super::grid::Grid;
use super::record::AllotmentRecord;
use crate::domain::plan::Plan;

/// A command's plan and the record and grid it leaves once applied: the command
/// answers their representation without reading them back.
#[derive(Debug, Clone, PartialEq)]
pub struct AllotmentPlan {
    pub plan: Plan,
    pub record: AllotmentRecord,
    pub grid: Grid,
}
