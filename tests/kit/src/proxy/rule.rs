//! The real service's conflict rule, as pure functions and a table of the items of
//! the transactions in flight: which items a write touches, whether it conflicts, and
//! the exact answers DynamoDB gives when it does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// The key attributes of the project's table (`PK` hash, `SK` range): a `Put` names
/// its item through them.
pub(super) const KEY_ATTRIBUTES: [&str; 2] = ["PK", "SK"];

/// An item: its table and its full key (attribute names sorted, values as JSON).
pub(super) type ItemKey = (String, String);

/// What a request writes, for the conflict rule.
#[derive(Debug, PartialEq)]
pub(super) enum Write {
    /// A `TransactWriteItems`: one entry per action, in request order (`None` when an
    /// action names no item the proxy can read; it never conflicts).
    Transaction {
        items: Vec<Option<ItemKey>>,
        token: Option<String>,
    },
    /// A `PutItem`, `UpdateItem` or `DeleteItem`.
    Single(ItemKey),
    /// Anything else (reads, batches, table operations, unreadable bodies).
    Other,
}

/// The key of an item from a `Key` map (all of it) or an `Item` map (its
/// [`KEY_ATTRIBUTES`]).
fn item_key(table: Option<&Value>, attrs: Option<&Value>, from_item: bool) -> Option<ItemKey> {
    let table = table?.as_str()?;
    let attrs: &Map<String, Value> = attrs?.as_object()?;
    let mut names: Vec<&String> = attrs
        .keys()
        .filter(|n| !from_item || KEY_ATTRIBUTES.contains(&n.as_str()))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort();
    let key = names
        .iter()
        .map(|n| format!("{n}={}", attrs[*n]))
        .collect::<Vec<_>>()
        .join(";");
    Some((table.to_string(), key))
}

/// Reads what a request of operation `op` (the `X-Amz-Target` suffix) writes.
pub(super) fn parse(op: &str, body: &[u8]) -> Write {
    if !matches!(
        op,
        "TransactWriteItems" | "PutItem" | "UpdateItem" | "DeleteItem"
    ) {
        return Write::Other;
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return Write::Other;
    };
    match op {
        "TransactWriteItems" => {
            let Some(actions) = req.get("TransactItems").and_then(Value::as_array) else {
                return Write::Other;
            };
            let items = actions
                .iter()
                .map(|action| {
                    let action = action.as_object()?;
                    if let Some(put) = action.get("Put") {
                        return item_key(put.get("TableName"), put.get("Item"), true);
                    }
                    ["Update", "Delete", "ConditionCheck"]
                        .iter()
                        .find_map(|kind| action.get(*kind))
                        .and_then(|a| item_key(a.get("TableName"), a.get("Key"), false))
                })
                .collect();
            let token = req
                .get("ClientRequestToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            Write::Transaction { items, token }
        }
        "PutItem" => item_key(req.get("TableName"), req.get("Item"), true)
            .map_or(Write::Other, Write::Single),
        "UpdateItem" | "DeleteItem" => item_key(req.get("TableName"), req.get("Key"), false)
            .map_or(Write::Other, Write::Single),
        _ => Write::Other,
    }
}

/// How long the service answers a repeated `ClientRequestToken` as the commit it was.
pub(super) const TOKEN_WINDOW: Duration = Duration::from_secs(600);

/// The items of the transactions in flight, their request tokens, and the tokens of
/// the transactions committed in the last [`TOKEN_WINDOW`].
#[derive(Debug, Default)]
pub(super) struct InFlight {
    items: HashMap<ItemKey, usize>,
    tokens: HashMap<String, usize>,
    transactions: usize,
    committed: HashMap<String, Instant>,
}

/// What the rule says about one write.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// Forward it (a transaction's items are then in flight until [`InFlight::end`]).
    Proceed,
    /// A transaction repeating the token of one committed: forward it without putting
    /// anything in flight (the service looks the token up and answers as it did).
    Repeat,
    /// A transaction touching items in flight: cancelled, with one reason per action.
    Cancelled(Vec<bool>),
    /// A single write of an item in flight.
    Conflict,
    /// A transaction whose `ClientRequestToken` is in flight already.
    InProgress,
}

impl InFlight {
    /// Applies the rule to a write and, for a transaction that proceeds, puts its items in
    /// flight (the caller must call [`InFlight::end`] with the same write afterwards).
    pub fn begin(&mut self, write: &Write, now: Instant) -> Verdict {
        match write {
            Write::Other => Verdict::Proceed,
            Write::Single(key) => {
                if self.items.contains_key(key) {
                    Verdict::Conflict
                } else {
                    Verdict::Proceed
                }
            }
            Write::Transaction { items, token } => {
                if token.as_ref().is_some_and(|t| self.tokens.contains_key(t)) {
                    return Verdict::InProgress;
                }
                let committed = token
                    .as_ref()
                    .and_then(|t| self.committed.get(t))
                    .is_some_and(|at| now.duration_since(*at) < TOKEN_WINDOW);
                if committed {
                    return Verdict::Repeat;
                }
                let conflicting: Vec<bool> = items
                    .iter()
                    .map(|k| k.as_ref().is_some_and(|k| self.items.contains_key(k)))
                    .collect();
                if conflicting.iter().any(|c| *c) {
                    return Verdict::Cancelled(conflicting);
                }
                for key in items.iter().flatten() {
                    *self.items.entry(key.clone()).or_default() += 1;
                }
                if let Some(t) = token {
                    *self.tokens.entry(t.clone()).or_default() += 1;
                }
                self.transactions += 1;
                Verdict::Proceed
            }
        }
    }

    /// The transaction `write` (which proceeded) is no longer in flight.
    pub fn end(&mut self, write: &Write) {
        let Write::Transaction { items, token } = write else {
            return;
        };
        fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
        for key in items.iter().flatten() {
            release(&mut self.items, key);
        }
        if let Some(t) = token {
            release(&mut self.tokens, t);
        }
        self.transactions = self.transactions.saturating_sub(1);
    }

    /// The transaction `write` committed (its answer was a success) at `now`.
    pub fn committed(&mut self, write: &Write, now: Instant) {
        if let Write::Transaction {
            token: Some(token), ..
        } = write
        {
            if self.committed.len() >= 100_000 {
                self.committed
                    .retain(|_, at| now.duration_since(*at) < TOKEN_WINDOW);
            }
            self.committed.insert(token.clone(), now);
        }
    }

    /// Transactions in flight now.
    pub fn transactions(&self) -> usize {
        self.transactions
    }
}

const TYPE_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";
const ONGOING: &str = "Transaction is ongoing for the item";

/// The body of DynamoDB's `TransactionCanceledException` for a transaction whose
/// actions conflict where `conflicting` is true (the others are `None`).
pub(super) fn cancelled_body(conflicting: &[bool]) -> String {
    let codes: Vec<&str> = conflicting
        .iter()
        .map(|c| if *c { "TransactionConflict" } else { "None" })
        .collect();
    let reasons: Vec<String> = conflicting
        .iter()
        .map(|c| {
            if *c {
                format!(r#"{{"Code":"TransactionConflict","Message":"{ONGOING}"}}"#)
            } else {
                r#"{"Code":"None"}"#.to_string()
            }
        })
        .collect();
    format!(
        r#"{{"__type":"{TYPE_PREFIX}TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [{}]","CancellationReasons":[{}]}}"#,
        codes.join(", "),
        reasons.join(",")
    )
}

/// The body of DynamoDB's `TransactionConflictException` (a single write of an item
/// that a transaction in flight holds).
pub(super) fn conflict_body() -> String {
    format!(r#"{{"__type":"{TYPE_PREFIX}TransactionConflictException","Message":"{ONGOING}"}}"#)
}

/// The body of DynamoDB's `TransactionInProgressException` (a transaction sent again
/// with the `ClientRequestToken` of one still in flight).
pub(super) fn in_progress_body() -> String {
    format!(
        r#"{{"__type":"{TYPE_PREFIX}TransactionInProgressException","Message":"Transaction with the given request token is already in progress"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tx(body: Value) -> Write {
        parse("TransactWriteItems", body.to_string().as_bytes())
    }

    fn key(table: &str, pk: &str, sk: &str) -> Option<ItemKey> {
        Some((
            table.to_string(),
            format!(r#"PK={{"S":"{pk}"}};SK={{"S":"{sk}"}}"#),
        ))
    }

    #[test]
    fn items_come_from_key_or_from_the_key_attributes_of_a_put() {
        let w = tx(json!({
            "ClientRequestToken": "tok",
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": {"SK": {"S": "b"}, "x": {"N": "1"}, "PK": {"S": "a"}}}},
                {"Update": {"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "c"}}, "UpdateExpression": "SET x = :x"}},
                {"Delete": {"TableName": "u", "Key": {"SK": {"S": "b"}, "PK": {"S": "a"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "d"}, "SK": {"S": "e"}}}},
                {"Unknown": {}}
            ]
        }));
        assert_eq!(
            w,
            Write::Transaction {
                items: vec![
                    key("t", "a", "b"),
                    key("t", "a", "c"),
                    key("u", "a", "b"),
                    key("t", "d", "e"),
                    None
                ],
                token: Some("tok".into()),
            }
        );
        let put = parse(
            "PutItem",
            json!({"TableName": "t", "Item": {"PK": {"S": "a"}, "SK": {"S": "b"}, "v": {"S": "z"}}})
                .to_string()
                .as_bytes(),
        );
        let update = parse(
            "UpdateItem",
            json!({"TableName": "t", "Key": {"SK": {"S": "b"}, "PK": {"S": "a"}}})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(put, Write::Single(key("t", "a", "b").unwrap()));
        assert_eq!(put, update);
        assert_eq!(parse("GetItem", b"{\"TableName\":\"t\"}"), Write::Other);
        assert_eq!(parse("PutItem", b"not json"), Write::Other);
    }

    #[test]
    fn a_transaction_on_an_item_in_flight_is_cancelled_for_that_item_only() {
        let now = Instant::now();
        let mut in_flight = InFlight::default();
        let a = Write::Transaction {
            items: vec![key("t", "x", "1"), key("t", "y", "1")],
            token: Some("a".into()),
        };
        assert_eq!(in_flight.begin(&a, now), Verdict::Proceed);
        assert_eq!(in_flight.transactions(), 1);

        let b = Write::Transaction {
            items: vec![key("t", "z", "1"), key("t", "y", "1"), None],
            token: Some("b".into()),
        };
        assert_eq!(
            in_flight.begin(&b, now),
            Verdict::Cancelled(vec![false, true, false])
        );
        // Same table and partition, another sort key; another table, same key.
        let disjoint = Write::Transaction {
            items: vec![key("t", "x", "2"), key("u", "x", "1")],
            token: None,
        };
        assert_eq!(in_flight.begin(&disjoint, now), Verdict::Proceed);
        assert_eq!(in_flight.transactions(), 2);

        assert_eq!(
            in_flight.begin(&Write::Single(key("t", "x", "1").unwrap()), now),
            Verdict::Conflict
        );
        assert_eq!(
            in_flight.begin(&Write::Single(key("t", "q", "1").unwrap()), now),
            Verdict::Proceed
        );
        let again = Write::Transaction {
            items: vec![key("t", "w", "1")],
            token: Some("a".into()),
        };
        assert_eq!(in_flight.begin(&again, now), Verdict::InProgress);

        in_flight.end(&a);
        in_flight.end(&disjoint);
        assert_eq!(in_flight.transactions(), 0);
        assert_eq!(in_flight.begin(&b, now), Verdict::Proceed);
        assert_eq!(
            in_flight.begin(&Write::Single(key("t", "x", "1").unwrap()), now),
            Verdict::Proceed
        );
        in_flight.end(&b);
        assert!(in_flight.items.is_empty() && in_flight.tokens.is_empty());
    }

    #[test]
    fn a_committed_token_is_answered_as_its_commit_for_ten_minutes() {
        let t0 = Instant::now();
        let mut in_flight = InFlight::default();
        let a = Write::Transaction {
            items: vec![key("t", "x", "1")],
            token: Some("a".into()),
        };
        assert_eq!(in_flight.begin(&a, t0), Verdict::Proceed);
        in_flight.committed(&a, t0);
        in_flight.end(&a);
        // Another transaction holds x now; a repeat of a is not cancelled.
        let b = Write::Transaction {
            items: vec![key("t", "x", "1")],
            token: Some("b".into()),
        };
        assert_eq!(in_flight.begin(&b, t0), Verdict::Proceed);
        assert_eq!(in_flight.begin(&a, t0), Verdict::Repeat);
        assert_eq!(
            in_flight.transactions(),
            1,
            "a repeat puts nothing in flight"
        );
        let later = t0 + TOKEN_WINDOW;
        assert_eq!(in_flight.begin(&a, later), Verdict::Cancelled(vec![true]));
        // A transaction that did not commit is not remembered.
        let c = Write::Transaction {
            items: vec![key("t", "y", "1")],
            token: Some("c".into()),
        };
        assert_eq!(in_flight.begin(&c, t0), Verdict::Proceed);
        in_flight.end(&c);
        in_flight.end(&b);
        assert_eq!(in_flight.begin(&c, t0), Verdict::Proceed);
    }

    #[test]
    fn answers_have_dynamodbs_exact_shape() {
        assert_eq!(
            cancelled_body(&[false, true]),
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}"#
        );
        assert_eq!(
            conflict_body(),
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","Message":"Transaction is ongoing for the item"}"#
        );
        for body in [cancelled_body(&[true, false, true]), in_progress_body()] {
            assert!(serde_json::from_str::<Value>(&body).is_ok(), "{body}");
        }
    }
}
