//! The Allotments domain crate shared by every function.
//!
//! - [`domain`]: pure rules and value types (no I/O).
//! - [`store`]: the one DynamoDB adapter.
//! - [`http`]: the edge: request parsing, auth, the error envelope, responses.
//! - [`template`]: reads `infra/template.yaml` (routes and table definition), so the
//!   local server and the tests use exactly what is deployed.

pub mod command;
pub mod domain;
pub mod http;
pub mod store;
pub mod template;

pub use domain::error::ApiError;

/// An instant in UTC, as used throughout the crate.
pub type Instant = chrono::DateTime<chrono::Utc>;
