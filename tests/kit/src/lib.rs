//! The test kit shared by every crate's tests (never by production code).
//!
//! - [`proxy`]: a TCP/HTTP proxy between a store client and DynamoDB Local that brings
//!   back what DynamoDB Local hides: lost answers, dropped requests, slow answers, and
//!   the real service's `TransactionConflict` rule.

pub mod proxy;
