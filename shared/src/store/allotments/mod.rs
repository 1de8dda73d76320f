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

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use uuid::Uuid;

use super::attr::{key, n};
use super::{keys, Store};
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;

pub(crate) use header::header_item;
pub use list::AllotmentFilter;

impl Store {
    /// Changes the establishment's count of active holdings (allotments, groups),
    /// which freezes its time zone; also checks that it exists. Allotment plans say
    /// this with `Change::EstablishmentHolds`; the group store still builds it here.
    pub(crate) fn establishment_holds(
        &self,
        t: &TenantId,
        est: Uuid,
        delta: i64,
    ) -> Result<TransactWriteItem, ApiError> {
        let (pk, sk) = keys::establishment(t, est);
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .update_expression("ADD activeHolds :d")
            .expression_attribute_values(":d", n(delta))
            .build()
            .map_err(|e| ApiError::Internal(format!("establishment holds: {e}")))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
