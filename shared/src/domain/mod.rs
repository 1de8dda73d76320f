//! Pure rules: value types that validate on construction, validation, errors.

pub mod allotment;
pub mod auth;
pub mod cursor;
pub mod cutoff;
pub mod dates;
pub mod error;
pub mod establishment;
pub mod event;
pub mod group;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod pickup;
pub mod plan;
pub mod settlement;
pub mod steps;
pub mod validate;
