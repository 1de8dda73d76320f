//! The one builder of DynamoDB expressions: placeholders for names (`#0`, `#1`, ...,
//! one per distinct name) and values (`:0`, `:1`, ...), the `SET` clauses, the
//! condition, and the transaction items (`Put`, `Update`, `Delete`) built from them.
//! Short placeholders keep even a 31-night update well under the 4 KB expression limit.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::attr::Item;
use crate::domain::error::ApiError;

/// `builder` (of a `Put`, `Update` or `Delete`) with the condition, names and values
/// of `expr`, returning the old item when the condition is false.
macro_rules! conditioned {
    ($expr:ident, $builder:expr) => {
        $builder
            .set_condition_expression($expr.condition())
            .set_expression_attribute_names($expr.names())
            .set_expression_attribute_values($expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    };
}

#[derive(Debug, Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    sets: Vec<String>,
    adds: Vec<String>,
    conditions: Vec<String>,
}

impl Expr {
    pub fn new() -> Self {
        Expr::default()
    }

    /// The placeholder of an attribute name.
    pub fn name(&mut self, raw: &str) -> String {
        if let Some(p) = self.by_name.get(raw) {
            return p.clone();
        }
        let p = format!("#{}", self.by_name.len());
        self.by_name.insert(raw.to_string(), p.clone());
        self.names.insert(p.clone(), raw.to_string());
        p
    }

    /// The placeholder path of a nested attribute (`n.dbl.05.v` → `#0.#1.#2.#3`).
    pub fn path(&mut self, parts: &[&str]) -> String {
        parts
            .iter()
            .map(|p| self.name(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The placeholder of a new value.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// `SET <path> = <rhs>`.
    pub fn set(&mut self, path: &str, rhs: &str) {
        self.sets.push(format!("{path} = {rhs}"));
    }

    /// `SET <path> = <value>`.
    pub fn set_value(&mut self, path: &str, v: AttributeValue) {
        let v = self.value(v);
        self.set(path, &v);
    }

    /// `SET <path> = <path> + <delta>` (nothing when `delta` is 0).
    pub fn add_to(&mut self, path: &str, delta: i64) {
        if delta != 0 {
            let v = self.value(super::attr::n(delta));
            self.sets.push(format!("{path} = {path} + {v}"));
        }
    }

    /// `ADD <path> <delta>` on a top-level number (created at 0 if absent).
    pub fn add(&mut self, path: &str, delta: i64) {
        let v = self.value(super::attr::n(delta));
        self.adds.push(format!("{path} {v}"));
    }

    /// `ADD <path> <{member}>` on a top-level string set (created if absent; a member
    /// already there stays once).
    pub fn add_member(&mut self, path: &str, member: &str) {
        let v = self.value(AttributeValue::Ss(vec![member.to_string()]));
        self.adds.push(format!("{path} {v}"));
    }

    /// One more clause of the condition (all are required).
    pub fn require(&mut self, condition: impl Into<String>) {
        self.conditions.push(condition.into());
    }

    /// `<path> >= <n>`.
    pub fn require_at_least(&mut self, path: &str, n: i64) {
        let v = self.value(super::attr::n(n));
        self.require(format!("{path} >= {v}"));
    }

    /// `<path> = <value>`.
    pub fn require_equal(&mut self, path: &str, v: AttributeValue) {
        let v = self.value(v);
        self.require(format!("{path} = {v}"));
    }

    fn condition(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }

    fn update_expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        parts.join(" ")
    }

    /// The placeholders the expressions use (DynamoDB refuses unused ones): names may
    /// be taken for a path that a zero delta then leaves out.
    fn used(&self) -> std::collections::HashSet<String> {
        let text = format!(
            "{} {}",
            self.update_expression(),
            self.condition().unwrap_or_default()
        );
        let mut used = std::collections::HashSet::new();
        let mut token = String::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if c == '#' || c == ':' {
                token = c.to_string();
            } else if c.is_ascii_digit() && !token.is_empty() {
                token.push(c);
            } else if !token.is_empty() {
                used.insert(std::mem::take(&mut token));
            }
        }
        used
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        self.used_only(&self.names)
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        self.used_only(&self.values)
    }

    /// The placeholders of `all` that the expressions use (DynamoDB refuses unused
    /// ones); `None` when there are none.
    fn used_only<V: Clone>(&self, all: &HashMap<String, V>) -> Option<HashMap<String, V>> {
        let used = self.used();
        let kept: HashMap<String, V> = all
            .iter()
            .filter(|(p, _)| used.contains(*p))
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(kept)
    }

    /// An `Update` of the item at `key`; on a false condition the old item is returned.
    pub fn update(self, table: &str, key: Item) -> Result<TransactWriteItem, ApiError> {
        let u = conditioned!(self, Update::builder().table_name(table).set_key(Some(key)))
            .update_expression(self.update_expression())
            .build()
            .map_err(built("update"))?;
        Ok(TransactWriteItem::builder().update(u).build())
    }

    /// A `Put` of `item` under this expression's condition (if any).
    pub fn put(self, table: &str, item: Item) -> Result<TransactWriteItem, ApiError> {
        let p = conditioned!(self, Put::builder().table_name(table).set_item(Some(item)))
            .build()
            .map_err(built("put"))?;
        Ok(TransactWriteItem::builder().put(p).build())
    }

    /// A `Delete` of the item at `key` under this expression's condition (if any).
    pub fn delete(self, table: &str, key: Item) -> Result<TransactWriteItem, ApiError> {
        let d = conditioned!(self, Delete::builder().table_name(table).set_key(Some(key)))
            .build()
            .map_err(built("delete"))?;
        Ok(TransactWriteItem::builder().delete(d).build())
    }
}

/// A `Put` that requires the item not to exist yet.
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, ApiError> {
    let mut e = Expr::new();
    e.require("attribute_not_exists(PK)");
    e.put(table, item)
}

/// Requires the stored `version` to be `v`.
pub(crate) fn require_version(e: &mut Expr, v: i64) {
    let p = e.name("version");
    e.require_equal(&p, super::attr::n(v));
}

pub(crate) fn built(
    what: &'static str,
) -> impl Fn(aws_sdk_dynamodb::error::BuildError) -> ApiError {
    move |e| ApiError::Internal(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_values_fresh() {
        let mut e = Expr::new();
        let a = e.path(&["n", "dbl", "05", "v"]);
        let b = e.path(&["n", "dbl", "06", "v"]);
        assert_eq!(a, "#0.#1.#2.#3");
        assert_eq!(b, "#0.#1.#4.#3");
        e.add_to(&a, -2);
        e.add_to(&b, 0);
        e.require_at_least(&a, 2);
        let v = e.name("version");
        e.add(&v, 1);
        assert_eq!(
            e.update_expression(),
            "SET #0.#1.#2.#3 = #0.#1.#2.#3 + :0 ADD #5 :2"
        );
        assert_eq!(e.condition().as_deref(), Some("#0.#1.#2.#3 >= :1"));
        // `#4` (night 06) is named but unused: left out, as DynamoDB requires.
        assert_eq!(e.names().unwrap().len(), 5);
        assert!(!e.names().unwrap().contains_key("#4"));
        assert_eq!(e.values().unwrap().len(), 3);
    }
}
