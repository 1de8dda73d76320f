//! The DynamoDB fault proxy (to be written).
