//! Allotments: the header, the night grid and the history of each allotment, under
//! the allotment's partition. Every write is a plan (`domain::allotment::plan_*`)
//! applied by `Store::apply`; this module maps items to records and reads.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | header | `T#<t>#A#<id>` | `A` (GSI1: `T#<t>#E#<est>#A` / `<periodFrom>#<id>`; GSI2: the release index) |
//! | grid month | `T#<t>#A#<id>` | `G#<YYYY-MM>`: `n.<unitType>.<dd>` (see `store::grid`) |
//! | history | `T#<t>#A#<id>` | `H#<version>`: the entries one change wrote |
//!
//! The header carries a `version`; every change of an allotment is conditioned on
//! it (optimistic concurrency), so two changes never interleave.
//!
//! | file | what it holds |
//! |---|---|
//! | `header` | the header item codec |
//! | `load` | reading one allotment (header, grid, group membership) |
//! | `history` | history pages |
//! | `list` | an establishment's allotments, filtered and paged |

mod header;
mod history;
mod list;
mod load;

pub(crate) use header::{header_item, parse_header};
pub(crate) use history::history_doc;
pub use list::AllotmentFilter;
