//! The test kit shared by every crate's tests (never by production code).
//!
//! - fixtures: a fresh table on DynamoDB Local per test ([`ctx`], [`store`]), the
//!   fixed clock [`now`], keys, establishments with rooms, the usual bodies;
//! - [`TestRequest`]: a sample event of `events/` adjusted per test and sent through a
//!   function as Lambda would, every response checked against `infra/openapi.yaml`
//!   ([`spec`]);
//! - typed helpers that build state as a client would, through the domain plans and
//!   `Store::apply` ([`create_allotment`], [`pickup`], [`allocation`], [`group`], ...),
//!   so that no crate's tests need another function crate;
//! - [`check_invariants`]: the invariants of API.md on what the store holds;
//! - raw reads and writes no production code makes ([`allocation_history`],
//!   [`put_pending_idempotency_lock`], ...);
//! - [`proxy`]: a TCP/HTTP proxy between a store client and DynamoDB Local that brings
//!   back what DynamoDB Local hides: lost answers, dropped requests, slow answers, and
//!   the real service's `TransactionConflict` rule.

mod commands;
mod concurrent;
mod feed;
mod fixtures;
mod invariants;
mod pool;
pub mod proxy;
mod raw;
mod request;
pub mod spec;

pub use commands::*;
pub use concurrent::concurrently;
pub use feed::{assert_rebuilds, feed, follow, replay, Rebuilt};
pub use fixtures::*;
pub use invariants::check_invariants;
pub use pool::{consistent, hold, plan_holds, NightHold};
pub use raw::*;
pub use request::{events_dir, TestRequest, TestResponse};
