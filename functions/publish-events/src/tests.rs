//! The publisher on DynamoDB Local's stream: event items are written to a table created
//! from the template (with its stream), the stream is read with the DynamoDB Streams
//! API, its records are turned into the JSON Lambda delivers, and the handler runs on
//! that with an in-memory bus. Decoding and cutting into calls are checked without a
//! store too.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use aws_sdk_dynamodb::types::{AttributeValue as Av, Put, TransactWriteItem};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

// ---------------------------------------------------------------- buses

/// Records every call; refuses the entries whose event id it is told to, and fails the
/// calls whose number (from 0) it is told to.
#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<Vec<Entry>>>,
    refuse: HashSet<String>,
    fail_calls: HashSet<usize>,
}

impl Recording {
    fn refusing(ids: &[&str]) -> Self {
        Recording {
            refuse: ids.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn failing_call(n: usize) -> Self {
        Recording {
            fail_calls: HashSet::from([n]),
            ..Default::default()
        }
    }

    fn calls(&self) -> Vec<Vec<Entry>> {
        self.calls.lock().unwrap().clone()
    }

    /// The number of entries of each call.
    fn sizes(&self) -> Vec<usize> {
        self.calls().iter().map(Vec::len).collect()
    }

    /// The event ids the bus took, in order.
    fn accepted(&self) -> Vec<String> {
        self.calls()
            .iter()
            .enumerate()
            .filter(|(n, _)| !self.fail_calls.contains(n))
            .flat_map(|(_, c)| c.clone())
            .filter(|e| !self.refuse.contains(&e.id))
            .map(|e| e.id)
            .collect()
    }
}

impl Bus for Recording {
    async fn put(&self, entries: &[Entry]) -> Result<Vec<Refusal>, String> {
        assert!(entries.len() <= MAX_ENTRIES, "{} entries", entries.len());
        let bytes: usize = entries.iter().map(Entry::size).sum();
        assert!(bytes <= MAX_REQUEST_BYTES, "{bytes} bytes in one call");
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(entries.to_vec());
            calls.len() - 1
        };
        if self.fail_calls.contains(&n) {
            return Err("connection reset".into());
        }
        Ok(entries
            .iter()
            .map(|e| {
                self.refuse
                    .contains(&e.id)
                    .then(|| "ThrottlingException".to_string())
            })
            .collect())
    }
}

// ---------------------------------------------------------------- event items

const TENANT: &str = "acme";
const DAY: &str = "2026-06-01";

fn establishment() -> String {
    "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0".to_string()
}

/// A public event of the contract's shape.
fn event(est: &str, kind: &str, sequence: u64, data: Value) -> Value {
    json!({
        "id": Uuid::now_v7().to_string(),
        "type": kind,
        "occurredAt": "2026-06-01T10:00:00Z",
        "establishmentId": est,
        "subject": {"type": "allotment", "id": "6f1c2a9e-7b3d-4e8f-9a01-2b3c4d5e3a4b"},
        "sequence": sequence,
        "data": data,
    })
}

fn pickup(est: &str, sequence: u64) -> Value {
    event(
        est,
        "pickup.created",
        sequence,
        json!({"quantity": 1, "guestName": "Ada Lovelace"}),
    )
}

/// An event item of the outbox layout, carrying `events`.
fn event_item(tenant: &str, est: &str, events: &[Value]) -> HashMap<String, Av> {
    HashMap::from([
        ("PK".into(), Av::S(format!("T#{tenant}#EV#{est}#{DAY}"))),
        ("SK".into(), Av::S(format!("EV#{}", Uuid::now_v7()))),
        (
            "events".into(),
            Av::S(Value::from(events.to_vec()).to_string()),
        ),
        ("tenant".into(), Av::S(tenant.into())),
        ("expiresAt".into(), Av::N("1781000000".into())),
    ])
}

/// Some other item of the table (an establishment's header, say).
fn other_item() -> HashMap<String, Av> {
    HashMap::from([
        (
            "PK".into(),
            Av::S(format!("T#{TENANT}#EST#{}", establishment())),
        ),
        ("SK".into(), Av::S("META".into())),
        ("name".into(), Av::S("Hôtel du Port".into())),
    ])
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- the stream

struct Table {
    store: shared::store::Store,
    client: aws_sdk_dynamodb::Client,
}

impl Table {
    async fn new() -> Table {
        Table {
            store: kit::store_with_stream().await,
            client: kit::client(),
        }
    }

    async fn put(&self, item: HashMap<String, Av>) {
        self.client
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    async fn put_all(&self, items: Vec<HashMap<String, Av>>) {
        for item in items {
            self.put(item).await;
        }
    }

    /// Every record the table's stream holds, in stream order (every shard, from its
    /// oldest record).
    async fn stream(&self) -> (String, Vec<Record>) {
        let described = self
            .client
            .describe_table()
            .table_name(self.store.table())
            .send()
            .await
            .unwrap();
        let arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table has a stream (the template's StreamSpecification)")
            .to_string();
        let streams = streams_client();
        let description = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap();
        let mut records = Vec::new();
        for shard in description.stream_description().unwrap().shards() {
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id().unwrap())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator()
                .map(str::to_string);
            // An open shard always has a next iterator: read until a page comes back empty.
            while let Some(it) = iterator {
                let page = streams
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .unwrap();
                if page.records().is_empty() {
                    break;
                }
                records.extend(page.records().iter().cloned());
                iterator = page.next_shard_iterator().map(str::to_string);
            }
        }
        records.sort_by_key(|r| {
            let n = r.dynamodb().unwrap().sequence_number().unwrap().to_string();
            (n.len(), n)
        });
        (arn, records)
    }

    /// The stream as one Lambda event, of the records `keep` selects.
    async fn lambda_event(&self, keep: impl Fn(&Value) -> bool) -> Event {
        let (arn, records) = self.stream().await;
        let records: Vec<Value> = records
            .iter()
            .map(|r| lambda_record(r, &arn))
            .filter(|r| keep(r))
            .collect();
        serde_json::from_value(json!({ "Records": records }))
            .expect("the records deserialize as Lambda's DynamoDB event")
    }

    async fn inserts(&self) -> Event {
        self.lambda_event(|r| r["eventName"] == "INSERT").await
    }

    /// `n` event items of one pickup each: their events, and the stream's INSERTs.
    async fn single_event_items(&self, n: u64) -> (Vec<Vec<Value>>, Event) {
        let est = establishment();
        let events: Vec<Vec<Value>> = (1..=n).map(|n| vec![pickup(&est, n)]).collect();
        self.put_all(events.iter().map(|e| event_item(TENANT, &est, e)).collect())
            .await;
        (events, self.inserts().await)
    }
}

fn streams_client() -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(kit::endpoint())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "local"))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(conf)
}

/// A stream record as the event source mapping hands it to Lambda (DynamoDB JSON
/// images, the creation time in epoch seconds).
fn lambda_record(r: &Record, arn: &str) -> Value {
    let s = r.dynamodb().expect("a stream record");
    let image = |m: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        m.map(|m| serde_json::to_value(serde_dynamo::Item::from(m.clone())).unwrap())
    };
    let mut change = json!({
        "Keys": image(s.keys()),
        "SequenceNumber": s.sequence_number(),
        "SizeBytes": s.size_bytes(),
        "StreamViewType": s.stream_view_type().map(|v| v.as_str()),
    });
    if let Some(t) = s.approximate_creation_date_time() {
        change["ApproximateCreationDateTime"] = json!(t.secs());
    }
    if let Some(new) = image(s.new_image()) {
        change["NewImage"] = new;
    }
    if let Some(old) = image(s.old_image()) {
        change["OldImage"] = old;
    }
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": arn,
        "dynamodb": change,
    })
}

fn sequence(event: &Event, i: usize) -> String {
    event.records[i].change.sequence_number.clone().unwrap()
}

fn retry_from(outcome: &Outcome) -> Vec<Option<String>> {
    outcome
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// The event Lambda sends again after a partial failure: the records from the failed
/// sequence number on.
fn rest_of(event: &Event, sequence: &str) -> Event {
    let at = event
        .records
        .iter()
        .position(|r| r.change.sequence_number.as_deref() == Some(sequence))
        .unwrap();
    let mut rest = event.clone();
    rest.records.drain(..at);
    rest
}

// ---------------------------------------------------------------- on the stream

#[tokio::test]
async fn every_event_of_every_inserted_item_is_put_once_as_its_tenant_s() {
    let t = Table::new().await;
    let est = establishment();
    let first = vec![pickup(&est, 1), pickup(&est, 2)];
    let second = vec![event(
        &est,
        "allotment.released",
        3,
        json!({"nights": [{"date": "2026-09-01", "unitTypeId": "dbl", "quantity": 2}]}),
    )];
    t.put_all(vec![
        event_item(TENANT, &est, &first),
        other_item(),
        event_item(TENANT, &est, &second),
    ])
    .await;
    let event = t.lambda_event(|_| true).await;
    assert_eq!(event.records.len(), 3, "three INSERTs on the stream");

    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(retry_from(&outcome), Vec::<Option<String>>::new());
    assert_eq!(answer(&outcome), json!({"batchItemFailures": []}));
    assert_eq!(
        (
            outcome.published,
            outcome.ignored,
            outcome.failed,
            outcome.corrupt
        ),
        (3, 1, 0, 0)
    );
    // One call (3 entries), in stream order, each event whole inside its tenant's detail.
    let calls = bus.calls();
    assert_eq!(bus.sizes(), [3]);
    let all: Vec<Value> = first.iter().chain(&second).cloned().collect();
    for (entry, event) in calls[0].iter().zip(&all) {
        assert_eq!(entry.id, event["id"].as_str().unwrap());
        assert_eq!(entry.detail_type, event["type"].as_str().unwrap());
        let detail: Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(detail, json!({"tenant": TENANT, "event": event}));
    }
    assert_eq!(
        calls[0].iter().map(|e| e.record).collect::<Vec<_>>(),
        [0, 0, 2]
    );
}

#[tokio::test]
async fn an_event_item_written_in_a_transaction_is_published_and_its_companions_ignored() {
    let t = Table::new().await;
    let est = establishment();
    let events = vec![pickup(&est, 1)];
    let put = |item| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(t.store.table())
                    .set_item(Some(item))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    t.client
        .transact_write_items()
        .transact_items(put(other_item()))
        .transact_items(put(event_item(TENANT, &est, &events)))
        .send()
        .await
        .unwrap();
    let event = t.lambda_event(|_| true).await;
    assert_eq!(
        event.records.len(),
        2,
        "a transaction's items are records too"
    );
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(bus.accepted(), ids(&events));
    assert_eq!((outcome.published, outcome.ignored), (1, 1));
}

#[tokio::test]
async fn removes_and_modifies_publish_nothing() {
    let t = Table::new().await;
    let est = establishment();
    let item = event_item(TENANT, &est, &[pickup(&est, 1)]);
    let key = HashMap::from([
        ("PK".to_string(), item["PK"].clone()),
        ("SK".to_string(), item["SK"].clone()),
    ]);
    t.put(item).await;
    t.client
        .update_item()
        .table_name(t.store.table())
        .set_key(Some(key.clone()))
        .update_expression("SET expiresAt = :e")
        .expression_attribute_values(":e", Av::N("1781000001".into()))
        .send()
        .await
        .unwrap();
    t.client
        .delete_item()
        .table_name(t.store.table())
        .set_key(Some(key))
        .send()
        .await
        .unwrap();
    let (arn, records) = t.stream().await;
    let names: Vec<&str> = records
        .iter()
        .map(|r| r.event_name().unwrap().as_str())
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    // The MODIFY, and the REMOVE as a TTL expiry delivers it (by the DynamoDB service).
    let mut later: Vec<Value> = records[1..]
        .iter()
        .map(|r| lambda_record(r, &arn))
        .collect();
    later[1]["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    let event: Event = serde_json::from_value(json!({ "Records": later })).unwrap();
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert!(bus.calls().is_empty());
    assert_eq!((outcome.published, outcome.ignored), (0, 2));
    assert_eq!(retry_from(&outcome), Vec::<Option<String>>::new());
}

#[tokio::test]
async fn more_than_ten_events_go_in_calls_of_ten_and_large_ones_within_256_kib() {
    let t = Table::new().await;
    let est = establishment();
    let twelve: Vec<Value> = (1..=12).map(|n| pickup(&est, n)).collect();
    let three: Vec<Value> = (13..=15).map(|n| pickup(&est, n)).collect();
    // Three events of ~90 KB in one item (270 KB): two fit a call, the third does not.
    let big: Vec<Value> = (16..=18)
        .map(|n| {
            event(
                &est,
                "allotment.updated",
                n,
                json!({"notes": "x".repeat(90_000)}),
            )
        })
        .collect();
    t.put_all(vec![
        event_item(TENANT, &est, &twelve),
        event_item(TENANT, &est, &three),
        event_item(TENANT, &est, &big),
    ])
    .await;
    let event = t.inserts().await;
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(retry_from(&outcome), Vec::<Option<String>>::new());
    // Ten a call; the 5 small ones left and two large ones fill the second call
    // (~180 KB), the third large one would pass 256 KiB: a call of its own.
    assert_eq!(bus.sizes(), [10, 7, 1]);
    let all: Vec<Value> = twelve.iter().chain(&three).chain(&big).cloned().collect();
    assert_eq!(bus.accepted(), ids(&all), "every event once, in order");
    assert_eq!(outcome.published, 18);
}

#[tokio::test]
async fn a_refused_entry_makes_lambda_retry_from_its_record_and_nothing_after_is_lost() {
    let (events, event) = Table::new().await.single_event_items(4).await;
    let refused = events[1][0]["id"].as_str().unwrap();
    let bus = Recording::refusing(&[refused]);
    let outcome = handle(&bus, &event, None).await.unwrap();
    // The first failed record's sequence number, exactly, and only it.
    assert_eq!(retry_from(&outcome), [Some(sequence(&event, 1))]);
    assert_eq!(
        answer(&outcome),
        json!({"batchItemFailures": [{"itemIdentifier": sequence(&event, 1)}]})
    );
    assert_eq!((outcome.published, outcome.failed), (3, 1));

    // Lambda sends records 1..4 again; the bus takes everything now. Records 2 and 3
    // were already put in the same call: consumers see them twice (same id).
    let retry = rest_of(&event, &sequence(&event, 1));
    let again = Recording::default();
    let outcome = handle(&again, &retry, None).await.unwrap();
    assert_eq!(retry_from(&outcome), Vec::<Option<String>>::new());
    let mut seen = bus.accepted();
    seen.extend(again.accepted());
    let expected: Vec<String> = events.iter().flat_map(|e| ids(e)).collect();
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        distinct,
        expected.iter().collect::<HashSet<_>>(),
        "none lost"
    );
    assert_eq!(seen.len(), 4 + 2, "the two after the refused one, twice");
}

#[tokio::test]
async fn a_failed_call_stops_the_batch_at_its_first_record() {
    let (_, event) = Table::new().await.single_event_items(12).await;
    let bus = Recording::failing_call(1);
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(bus.sizes(), [10, 2]);
    assert_eq!(retry_from(&outcome), [Some(sequence(&event, 10))]);
    assert_eq!((outcome.published, outcome.failed), (10, 2));
}

#[tokio::test]
async fn a_spent_budget_puts_nothing_and_retries_the_whole_batch() {
    let (_, event) = Table::new().await.single_event_items(1).await;
    let bus = Recording::default();
    let past = SystemTime::now() - std::time::Duration::from_secs(1);
    let outcome = handle(&bus, &event, Some(past)).await.unwrap();
    assert!(bus.calls().is_empty());
    assert_eq!(retry_from(&outcome), [Some(sequence(&event, 0))]);
}

#[tokio::test]
async fn a_corrupt_item_is_reported_and_nothing_after_it_is_put() {
    let t = Table::new().await;
    let est = establishment();
    let good = vec![pickup(&est, 1)];
    let mut corrupt = event_item(TENANT, &est, &[pickup(&est, 2)]);
    corrupt.insert("events".into(), Av::S("[{\"id\": \"unterminated".into()));
    let after = vec![pickup(&est, 3)];
    t.put_all(vec![
        event_item(TENANT, &est, &good),
        corrupt,
        event_item(TENANT, &est, &after),
    ])
    .await;
    let event = t.inserts().await;
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(bus.accepted(), ids(&good));
    assert_eq!(retry_from(&outcome), [Some(sequence(&event, 1))]);
    assert_eq!((outcome.published, outcome.corrupt), (1, 1));

    // Alone (as Lambda's bisection leaves it), it fails again, never panics; the record
    // after it goes through once it is in the on-failure queue.
    let mut alone = event.clone();
    alone.records = vec![event.records[1].clone()];
    let outcome = handle(&Recording::default(), &alone, None).await.unwrap();
    assert_eq!(retry_from(&outcome), [Some(sequence(&event, 1))]);
    let rest = rest_of(&event, &sequence(&event, 2));
    let bus = Recording::default();
    handle(&bus, &rest, None).await.unwrap();
    assert_eq!(bus.accepted(), ids(&after));
}

// ---------------------------------------------------------------- without a store

/// A record as Lambda delivers it, of the item `image`.
fn record_of(name: &str, image: Value) -> EventRecord {
    serde_json::from_value(json!({
        "eventID": "1",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "Keys": {"PK": image["PK"], "SK": image["SK"]},
            "NewImage": image,
            "SequenceNumber": "100",
            "SizeBytes": 10,
        },
    }))
    .unwrap()
}

fn image(pk: &str, sk: &str, tenant: Option<&str>, events: Value) -> Value {
    let mut item = json!({"PK": {"S": pk}, "SK": {"S": sk}, "expiresAt": {"N": "1781000000"}});
    if let Some(t) = tenant {
        item["tenant"] = json!({"S": t});
    }
    if !events.is_null() {
        item["events"] = events;
    }
    item
}

#[test]
fn decoding_refuses_every_kind_of_corrupt_item_by_a_reason_without_its_content() {
    let est = establishment();
    let pk = format!("T#{TENANT}#EV#{est}#{DAY}");
    let ok = pickup(&est, 1);
    let text = |v: &Value| json!({"S": v.to_string()});
    let without = |field: &str| {
        let mut e = ok.clone();
        e.as_object_mut().unwrap().remove(field);
        json!([e])
    };
    let other_est = pickup("2489e9ad-2ee2-8e00-8ec9-32d5f69181c1", 1);
    let huge = event(
        &est,
        "allotment.updated",
        1,
        json!({"notes": "x".repeat(262_144)}),
    );
    let cases: Vec<(&str, Value, Option<&str>, &str)> = vec![
        (
            "no events",
            Value::Null,
            Some(TENANT),
            "no events string (NEW_IMAGE)",
        ),
        (
            "events a number",
            json!({"N": "3"}),
            Some(TENANT),
            "no events string (NEW_IMAGE)",
        ),
        (
            "not JSON",
            json!({"S": "[{"}),
            Some(TENANT),
            "events is no JSON array",
        ),
        (
            "an object",
            text(&ok),
            Some(TENANT),
            "events is no JSON array",
        ),
        ("empty", text(&json!([])), Some(TENANT), "events is empty"),
        (
            "no id",
            text(&without("id")),
            Some(TENANT),
            "an event without a UUID id",
        ),
        (
            "no type",
            text(&without("type")),
            Some(TENANT),
            "an event without a type",
        ),
        (
            "other establishment",
            text(&json!([other_est])),
            Some(TENANT),
            "an event of another establishment than its key",
        ),
        (
            "no tenant",
            text(&json!([ok])),
            None,
            "no valid tenant attribute",
        ),
        (
            "another tenant than the key's",
            text(&json!([ok])),
            Some("globex"),
            "the key is no event partition of its tenant",
        ),
        (
            "too large",
            text(&json!([huge])),
            Some(TENANT),
            "an event larger than EventBridge takes (256 KiB)",
        ),
    ];
    for (what, events, tenant, reason) in cases {
        let record = record_of("INSERT", image(&pk, "EV#1", tenant, events));
        assert_eq!(decode(0, &record), Err(Corrupt(reason)), "{what}");
        assert!(!reason.contains("Ada"), "{what}");
    }
    let record = record_of(
        "INSERT",
        image(&pk, "EV#1", Some(TENANT), text(&json!([ok]))),
    );
    assert_eq!(decode(3, &record).unwrap().unwrap()[0].record, 3);
}

#[test]
fn only_event_items_inserts_are_decoded() {
    let est = establishment();
    let pk = format!("T#{TENANT}#EV#{est}#{DAY}");
    let events = json!({"S": json!([pickup(&est, 1)]).to_string()});
    for (name, sk) in [("MODIFY", "EV#1"), ("REMOVE", "EV#1"), ("INSERT", "META")] {
        let record = record_of(name, image(&pk, sk, Some(TENANT), events.clone()));
        assert_eq!(decode(0, &record), Ok(None), "{name} {sk}");
    }
}

#[test]
fn calls_hold_at_most_ten_entries_and_256_kib() {
    let entry = |bytes: usize| Entry {
        record: 0,
        id: String::new(),
        detail_type: "t".into(),
        detail: "x".repeat(bytes - SOURCE.len() - 1),
    };
    assert_eq!(chunks(&[]), Vec::<Range<usize>>::new());
    let small: Vec<Entry> = (0..21).map(|_| entry(100)).collect();
    assert_eq!(chunks(&small), [0..10, 10..20, 20..21]);
    let exact: Vec<Entry> = (0..3).map(|_| entry(MAX_REQUEST_BYTES / 2)).collect();
    assert_eq!(chunks(&exact), [0..2, 2..3]);
    let mixed = vec![
        entry(MAX_REQUEST_BYTES),
        entry(1000),
        entry(MAX_REQUEST_BYTES - 1000),
    ];
    assert_eq!(chunks(&mixed), [0..1, 1..3]);
}

#[tokio::test]
async fn an_event_id_is_put_once_per_invocation() {
    let est = establishment();
    let pk = format!("T#{TENANT}#EV#{est}#{DAY}");
    let events = json!({"S": json!([pickup(&est, 1)]).to_string()});
    let record = record_of("INSERT", image(&pk, "EV#1", Some(TENANT), events));
    let mut event = Event::default();
    event.records = vec![record.clone(), record];
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(bus.sizes(), [1]);
    assert_eq!((outcome.published, outcome.repeated), (1, 1));
}

/// `events/publish-events.json` is what `cargo lambda invoke` sends: it deserializes as
/// Lambda's DynamoDB event and publishes its event (the log bus answers it locally).
#[tokio::test]
async fn the_sample_event_publishes_its_pickup() {
    let text = std::fs::read_to_string(kit::events_dir().join("publish-events.json")).unwrap();
    let event: Event = serde_json::from_str(&text).unwrap();
    let bus = Recording::default();
    let outcome = handle(&bus, &event, None).await.unwrap();
    assert_eq!(answer(&outcome), json!({"batchItemFailures": []}));
    let calls = bus.calls();
    assert_eq!(bus.sizes(), [1]);
    assert_eq!(calls[0][0].detail_type, "pickup.created");
    let detail: Value = serde_json::from_str(&calls[0][0].detail).unwrap();
    assert_eq!(detail["tenant"], "demo");
    assert_eq!(outcome.ignored, 1, "its REMOVE (a TTL expiry) is ignored");
    let logged = handle(&bus::LogBus, &event, None).await.unwrap();
    assert_eq!(logged.published, 1);
}

#[test]
fn the_metric_document_declares_each_metric_it_carries() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T10:05:00.250Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let outcome = Outcome {
        published: 7,
        failed: 1,
        ..Outcome::default()
    };
    let d = metrics::document(&outcome, "stack-PublishEvents-abc", at);
    let directive = &d["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], metrics::NAMESPACE);
    for m in directive["Metrics"].as_array().unwrap() {
        assert!(d[m["Name"].as_str().unwrap()].is_u64(), "{m}");
    }
    assert_eq!(d[metrics::PUBLISHED], 7);
    assert_eq!(d[metrics::FAILURES], 1);
    assert_eq!(d["level"], "ERROR");
    assert_eq!(d[metrics::DIMENSION], "stack-PublishEvents-abc");
}
