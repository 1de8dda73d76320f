//! Allotments: what a request may create or change, the stored record and its
//! nights, and the plan of every command on an allotment.
//!
//! | file | what it holds |
//! |---|---|
//! | `terms` | enums, exact amounts, the commercial terms; parsing of the create, patch, confirm and reason bodies |
//! | `record` | the stored header and what follows from it alone (release moments, state, next version) |
//! | `grid` | the nights, their totals, the grid of a new allotment |
//! | `history` | allocation history entries |
//! | `view` | the representations (allotment, list item, nights) |
//! | `planned` | what a command decided: plan, next record and grid |
//! | `create`, `allocation`, `patch`, `confirm`, `release`, `cancel` | one plan each |
//!
//! Everything is re-exported here: `shared::domain::allotment::X` is the path.

mod allocation;
mod cancel;
mod confirm;
mod create;
mod grid;
mod history;
mod patch;
mod planned;
mod record;
mod release;
mod terms;
mod view;

#[cfg(test)]
pub(crate) mod fixtures;

pub use allocation::*;
pub use cancel::*;
pub use confirm::*;
pub use create::*;
pub use grid::*;
pub use history::*;
pub use patch::*;
pub use planned::*;
pub use record::*;
pub use release::*;
pub use terms::*;
pub use view::*;
