//! Small helpers to build and read DynamoDB attribute values.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::error::ApiError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        (super::keys::PK.to_string(), s(pk)),
        (super::keys::SK.to_string(), s(sk)),
    ])
}

fn corrupt(name: &str) -> ApiError {
    ApiError::Internal(format!(
        "item attribute {name} missing or of the wrong type"
    ))
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, ApiError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(name)),
    }
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, ApiError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(name)),
        _ => Err(corrupt(name)),
    }
}

pub fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

pub fn get_m<'a>(item: &'a Item, name: &str) -> Result<&'a Item, ApiError> {
    match item.get(name) {
        Some(AttributeValue::M(m)) => Ok(m),
        _ => Err(corrupt(name)),
    }
}

pub fn get_ss(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::Ss(v)) => v.clone(),
        Some(AttributeValue::L(v)) => v.iter().filter_map(|a| a.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    }
}

pub fn instant(item: &Item, name: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let raw = get_s(item, name)?;
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| corrupt(name))
}
