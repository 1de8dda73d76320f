//! The fault proxy against DynamoDB Local, seen through the AWS SDK and the project's
//! store: each fault, seeded reproducibility, and the transaction conflict rule.
//! `DYNAMODB_ENDPOINT` must point at DynamoDB Local (`make test` starts one).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use kit::proxy::{Config, ConflictRule, Fault, FaultKind, Proxy};
use shared::store::Store;

type Item = HashMap<String, AttributeValue>;

/// A fresh table (created directly on DynamoDB Local) and a proxy in front of it.
async fn setup(config: Config) -> (Store, Proxy) {
    let direct = kit::store().await;
    let proxy = Proxy::start_at(&kit::endpoint(), config)
        .await
        .expect("start the proxy");
    (direct, proxy)
}

/// The project's client configuration through the proxy (standard retries, 3 attempts).
fn client(proxy: &Proxy) -> Client {
    kit::client_at(&proxy.endpoint())
}

/// A client through the proxy with `attempts` attempts of at most `attempt_timeout`.
fn client_with(proxy: &Proxy, attempts: u32, attempt_timeout: Duration) -> Client {
    Client::from_conf(
        Store::local_config(&proxy.endpoint())
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(attempt_timeout)
                    .build(),
            )
            .build(),
    )
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("PK".to_string(), s(pk)), ("SK".to_string(), s(sk))])
}

fn unique(name: &str) -> String {
    format!("{name}-{:016x}", rand::random::<u64>())
}

async fn get(direct: &Store, pk: &str, sk: &str) -> Option<Item> {
    kit::client()
        .get_item()
        .table_name(direct.table())
        .set_key(Some(key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .expect("direct read")
        .item()
        .cloned()
}

async fn counter(direct: &Store, pk: &str, sk: &str) -> Option<i64> {
    let item = get(direct, pk, sk).await?;
    match item.get("n") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

fn put(table: &str, pk: &str, sk: &str) -> TransactWriteItem {
    let mut item = key(pk, sk);
    item.insert("v".into(), s("x"));
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .unwrap(),
        )
        .build()
}

fn add(table: &str, pk: &str, sk: &str, by: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .update_expression("ADD n :by")
                .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
                .build()
                .unwrap(),
        )
        .build()
}

fn exists(table: &str, pk: &str, sk: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .condition_expression("attribute_exists(PK)")
                .build()
                .unwrap(),
        )
        .build()
}

async fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<(), SdkError<TransactWriteItemsError>> {
    client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
        .map(|_| ())
}

/// The cancellation reason codes of a cancelled transaction (panics on another error).
fn reasons(err: &SdkError<TransactWriteItemsError>) -> Vec<String> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("(none)").to_string())
            .collect(),
        _ => panic!("expected a TransactionCanceledException, got {err:?}"),
    }
}

/// Waits until `n` transactions are in flight in the proxy.
async fn until_in_flight(proxy: &Proxy, n: usize) {
    let start = Instant::now();
    while proxy.in_flight() < n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{n} transactions never in flight"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// How the SDK reports a connection closed without an answer (dropped request or lost
/// answer): hyper's `IncompleteMessage`, a transient dispatch failure (so it retries).
fn is_connection_failure<E>(err: &SdkError<E>) -> bool {
    matches!(err, SdkError::DispatchFailure(f) if !f.is_timeout() && !f.is_user())
}

#[tokio::test]
async fn the_projects_store_answers_through_the_proxy() {
    let (direct, proxy) = setup(Config::default()).await;
    let store = Store::local(&proxy.endpoint(), direct.table());
    store.ensure_table().await.expect("describe the table");
    let est = kit::stocked_establishment(&store, "proxied").await;
    let got = store
        .get_establishment(&kit::tenant("proxied"), est)
        .await
        .expect("read through the proxy");
    assert!(got.is_some());
    let through = kit::pool_nights(&store, "proxied", est, "2026-09-01", "2026-09-30").await;
    let beside = kit::pool_nights(&direct, "proxied", est, "2026-09-01", "2026-09-30").await;
    assert_eq!(through.len(), beside.len());
    assert!(through.len() >= 29, "{} nights", through.len());
    for ((_, _, a), (_, _, b)) in through.iter().zip(&beside) {
        assert_eq!((a.capacity, a.available), (30, 30));
        assert_eq!((a.capacity, a.available), (b.capacity, b.available));
    }
    let stats = proxy.stats();
    println!("{stats}");
    assert!(stats.operations.contains_key("DescribeTable"));
    assert!(stats.operations.contains_key("GetItem"));
    assert!(stats.operations.contains_key("TransactWriteItems"));
    assert_eq!((stats.faults_total(), stats.upstream_failures), (0, 0));
    // Keep-alive: the SDK's connections carried several requests each.
    assert!(
        stats.connections < stats.requests,
        "{} connections for {} requests",
        stats.connections,
        stats.requests
    );
}

#[tokio::test]
async fn a_dropped_request_writes_nothing_and_every_attempt_is_dropped() {
    let (direct, proxy) = setup(Config::faults(1, 1.0, &[Fault::Drop]).only(&["PutItem"])).await;
    let client = client(&proxy);
    let pk = unique("drop");
    let mut item = key(&pk, "a");
    item.insert("v".into(), s("x"));
    let err = client
        .put_item()
        .table_name(direct.table())
        .set_item(Some(item))
        .send()
        .await
        .expect_err("every attempt dropped");
    assert!(is_connection_failure(&err), "{err:?}");
    assert!(get(&direct, &pk, "a").await.is_none(), "nothing written");
    // The SDK tried three times (its standard retries), each one dropped.
    let stats = proxy.stats();
    assert_eq!(stats.faults_on(FaultKind::Drop, "PutItem"), 3, "{stats}");
    // Other operations pass.
    let read = client
        .get_item()
        .table_name(direct.table())
        .set_key(Some(key(&pk, "a")))
        .send()
        .await
        .expect("reads are not faulted");
    assert!(read.item().is_none());
}

#[tokio::test]
async fn a_lost_transaction_answer_is_retried_with_its_token_and_applied_once() {
    let config = Config::faults(2, 1.0, &[Fault::LoseAnswer])
        .only(&["TransactWriteItems"])
        .max_faults(1);
    let (direct, proxy) = setup(config).await;
    let client = client(&proxy);
    let table = direct.table();
    let pk = unique("lose-tx");
    // The first attempt commits and its answer is lost; the SDK sends the same request
    // (same ClientRequestToken) again, and DynamoDB answers it as the commit it was:
    // the condition is not evaluated again, the counter not added twice.
    transact(
        &client,
        vec![put(table, &pk, "new"), add(table, &pk, "n", 1)],
    )
    .await
    .expect("the retry with the same token succeeds");
    assert!(get(&direct, &pk, "new").await.is_some());
    assert_eq!(counter(&direct, &pk, "n").await, Some(1), "applied once");
    let stats = proxy.stats();
    assert_eq!(
        stats.faults_on(FaultKind::LoseAnswer, "TransactWriteItems"),
        1
    );
    assert_eq!(stats.operations["TransactWriteItems"], 2, "{stats}");

    // Without the SDK's retry: the caller gets an error, yet the transaction committed.
    proxy.set_config(
        Config::faults(2, 1.0, &[Fault::LoseAnswer])
            .only(&["TransactWriteItems"])
            .max_faults(1),
    );
    let once = client_with(&proxy, 1, Duration::from_secs(3));
    let pk = unique("lose-tx");
    let token = unique("token");
    let send = || {
        once.transact_write_items()
            .set_transact_items(Some(vec![put(table, &pk, "new"), add(table, &pk, "n", 1)]))
            .client_request_token(&token)
            .send()
    };
    let err = send().await.expect_err("the answer is lost");
    assert!(is_connection_failure(&err), "{err:?}");
    assert!(get(&direct, &pk, "new").await.is_some(), "committed");
    assert_eq!(counter(&direct, &pk, "n").await, Some(1));
    send()
        .await
        .expect("the same token is answered as the commit");
    assert_eq!(
        counter(&direct, &pk, "n").await,
        Some(1),
        "not applied again"
    );
}

#[tokio::test]
async fn a_lost_single_write_answer_is_retried_and_meets_its_own_write() {
    let config = Config::faults(3, 1.0, &[Fault::LoseAnswer])
        .only(&["PutItem"])
        .max_faults(1);
    let (direct, proxy) = setup(config).await;
    let client = client(&proxy);
    let pk = unique("lose-put");
    let mut item = key(&pk, "a");
    item.insert("v".into(), s("x"));
    // PutItem has no request token: the retry is a new write, and its condition fails
    // on the item the first (unanswered) attempt wrote.
    let err = client
        .put_item()
        .table_name(direct.table())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await
        .expect_err("the retry fails its condition");
    assert!(
        matches!(
            err.as_service_error(),
            Some(PutItemError::ConditionalCheckFailedException(_))
        ),
        "{err:?}"
    );
    assert!(
        get(&direct, &pk, "a").await.is_some(),
        "the write is applied"
    );
    assert_eq!(proxy.stats().operations["PutItem"], 2);
}

#[tokio::test]
async fn every_lost_answer_of_an_update_applies_it_once_more() {
    let config = Config::faults(4, 1.0, &[Fault::LoseAnswer]).only(&["UpdateItem"]);
    let (direct, proxy) = setup(config).await;
    let client = client(&proxy);
    let pk = unique("lose-all");
    let err = client
        .update_item()
        .table_name(direct.table())
        .set_key(Some(key(&pk, "n")))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect_err("no attempt is answered");
    assert!(is_connection_failure(&err), "{err:?}");
    // An error for the caller, yet three increments: one per attempt.
    assert_eq!(counter(&direct, &pk, "n").await, Some(3));
    assert_eq!(
        proxy.stats().faults_on(FaultKind::LoseAnswer, "UpdateItem"),
        3
    );
}

#[tokio::test]
async fn a_delay_past_the_attempt_timeout_is_a_timeout_yet_the_write_is_applied() {
    let delay = Duration::from_millis(800);
    let (direct, proxy) = setup(Config::faults(5, 1.0, &[Fault::Delay(delay)])).await;
    let client = client_with(&proxy, 2, Duration::from_millis(250));
    let pk = unique("delay");
    let mut item = key(&pk, "a");
    item.insert("v".into(), s("x"));
    let err = client
        .put_item()
        .table_name(direct.table())
        .set_item(Some(item))
        .send()
        .await
        .expect_err("both attempts time out");
    assert!(matches!(err, SdkError::TimeoutError(_)), "{err:?}");
    assert!(
        get(&direct, &pk, "a").await.is_some(),
        "applied nonetheless"
    );
    assert_eq!(proxy.stats().faults_on(FaultKind::Delay, "PutItem"), 2);

    // A delay within the timeout: answered, late.
    let short = Duration::from_millis(150);
    proxy.set_config(Config::faults(5, 1.0, &[Fault::Delay(short)]).only(&["GetItem"]));
    let client = client_with(&proxy, 1, Duration::from_secs(2));
    let start = Instant::now();
    let read = client
        .get_item()
        .table_name(direct.table())
        .set_key(Some(key(&pk, "a")))
        .send()
        .await
        .expect("answered within the timeout");
    assert!(read.item().is_some());
    assert!(start.elapsed() >= short);
}

/// What one request of the sequence ended in, as the client saw it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered,
    Failed,
    TimedOut,
}

fn outcome<T, E>(result: Result<T, SdkError<E>>) -> Outcome {
    match result {
        Ok(_) => Outcome::Answered,
        Err(SdkError::TimeoutError(_)) => Outcome::TimedOut,
        Err(_) => Outcome::Failed,
    }
}

/// 30 requests one after the other, without SDK retries (so the sequence of requests
/// is the same whatever the faults): what each ended in, and the faults injected.
async fn sequence(direct: &Store, seed: u64) -> (Vec<Outcome>, Vec<kit::proxy::FaultEvent>) {
    let kinds = [
        Fault::Drop,
        Fault::LoseAnswer,
        Fault::Delay(Duration::from_millis(1000)),
    ];
    let config = Config::faults(seed, 0.3, &kinds);
    let proxy = Proxy::start_at(&kit::endpoint(), config.clone())
        .await
        .unwrap();
    // Generous against a loaded machine: only a delayed answer may time out.
    let client = client_with(&proxy, 1, Duration::from_millis(800));
    let pk = unique("seq");
    let mut outcomes = Vec::new();
    for i in 0..30 {
        let outcome = if i % 2 == 0 {
            let result = client
                .put_item()
                .table_name(direct.table())
                .set_item(Some(key(&pk, &i.to_string())))
                .send()
                .await;
            outcome(result)
        } else {
            let result = client
                .get_item()
                .table_name(direct.table())
                .set_key(Some(key(&pk, &(i - 1).to_string())))
                .send()
                .await;
            outcome(result)
        };
        outcomes.push(outcome);
    }
    let log = proxy.fault_log();
    // Each logged fault is the one the seed decides for that request.
    for event in &log {
        assert_eq!(
            config.decide(event.request, &event.operation),
            Some(event.fault)
        );
    }
    assert_eq!(proxy.stats().requests, 30);
    (outcomes, log)
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults_for_the_same_requests() {
    let direct = kit::store().await;
    let (outcomes_a, log_a) = sequence(&direct, 11).await;
    let (outcomes_b, log_b) = sequence(&direct, 11).await;
    let (_, log_c) = sequence(&direct, 12).await;
    assert_eq!(log_a, log_b);
    assert_eq!(outcomes_a, outcomes_b);
    assert_ne!(log_a, log_c);
    assert!(!log_a.is_empty());
    // Each fault shows as the client would see it.
    for event in &log_a {
        let outcome = &outcomes_a[event.request as usize];
        let want = match event.fault {
            Fault::Drop | Fault::LoseAnswer => Outcome::Failed,
            Fault::Delay(_) => Outcome::TimedOut,
        };
        assert_eq!(outcome, &want, "{event:?}");
    }
    let answered = outcomes_a
        .iter()
        .filter(|o| **o == Outcome::Answered)
        .count();
    assert_eq!(answered, 30 - log_a.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_on_an_item_in_flight_is_cancelled_for_that_item() {
    let rule = ConflictRule {
        hold: Duration::from_secs(1),
    };
    let (direct, proxy) = setup(Config::default().with_conflicts(rule)).await;
    let client = client(&proxy);
    let table = direct.table().to_string();
    let pk = unique("conflict");
    let first = {
        let (client, table, pk) = (client.clone(), table.clone(), pk.clone());
        tokio::spawn(async move {
            transact(
                &client,
                vec![add(&table, &pk, "x", 1), put(&table, &pk, "y")],
            )
            .await
        })
    };
    until_in_flight(&proxy, 1).await;
    // Touches x (in flight) second: cancelled at once, x named, z not.
    let err = transact(
        &client,
        vec![put(&table, &pk, "z"), add(&table, &pk, "x", 10)],
    )
    .await
    .expect_err("conflicts with the transaction in flight");
    assert_eq!(reasons(&err), ["None", "TransactionConflict"]);
    let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
    else {
        unreachable!()
    };
    assert_eq!(
        e.cancellation_reasons()[1].message(),
        Some("Transaction is ongoing for the item")
    );
    assert_eq!(
        err.message(),
        Some("Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]")
    );
    assert_eq!(err.code(), Some("TransactionCanceledException"));
    // Answered while the first one is still in flight: not queued behind it.
    assert_eq!(proxy.in_flight(), 1);

    first.await.unwrap().expect("the first one commits");
    assert_eq!(counter(&direct, &pk, "x").await, Some(1));
    assert!(get(&direct, &pk, "y").await.is_some());
    assert!(
        get(&direct, &pk, "z").await.is_none(),
        "cancelled: nothing written"
    );
    let stats = proxy.stats();
    assert_eq!(stats.conflicts["TransactWriteItems"], 1);
    assert_eq!(
        stats.operations["TransactWriteItems"], 2,
        "not retried by the SDK"
    );

    // Once the first has answered, the same transaction commits.
    transact(
        &client,
        vec![put(&table, &pk, "z"), add(&table, &pk, "x", 10)],
    )
    .await
    .expect("no conflict any more");
    assert_eq!(counter(&direct, &pk, "x").await, Some(11));

    // DynamoDB Local's own cancellation (a false condition) has the same shape.
    proxy.set_config(Config::default());
    let err = transact(
        &client,
        vec![put(&table, &pk, "w"), exists(&table, &pk, "missing")],
    )
    .await
    .expect_err("a false condition");
    assert_eq!(reasons(&err), ["None", "ConditionalCheckFailed"]);
    assert_eq!(
        err.message(),
        Some("Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_transactions_on_one_item_one_commits() {
    let rule = ConflictRule {
        hold: Duration::from_secs(2),
    };
    let (direct, proxy) = setup(Config::default().with_conflicts(rule)).await;
    let client = client(&proxy);
    let table = direct.table().to_string();
    let pk = unique("burst");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (client, table, pk, barrier) =
                (client.clone(), table.clone(), pk.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let own = format!("own-{i}");
                (
                    own.clone(),
                    transact(
                        &client,
                        vec![add(&table, &pk, "hot", 1), put(&table, &pk, &own)],
                    )
                    .await,
                )
            })
        })
        .collect();
    let mut committed = Vec::new();
    for task in tasks {
        let (own, result) = task.await.unwrap();
        match result {
            Ok(()) => committed.push(own),
            Err(err) => {
                assert_eq!(reasons(&err), ["TransactionConflict", "None"]);
                assert!(get(&direct, &pk, &own).await.is_none());
            }
        }
    }
    assert_eq!(committed.len(), 1, "{committed:?}");
    assert!(get(&direct, &pk, &committed[0]).await.is_some());
    assert_eq!(counter(&direct, &pk, "hot").await, Some(1));
    assert_eq!(proxy.stats().conflicts["TransactWriteItems"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_on_disjoint_items_both_commit_and_each_is_held() {
    let hold = Duration::from_secs(1);
    let (direct, proxy) = setup(Config::default().with_conflicts(ConflictRule { hold })).await;
    let client = client(&proxy);
    let table = direct.table().to_string();
    let pk = unique("disjoint");
    let spawn = |sk: &'static str| {
        let (client, table, pk) = (client.clone(), table.clone(), pk.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let result = transact(&client, vec![add(&table, &pk, sk, 1)]).await;
            (result, start.elapsed())
        })
    };
    let a = spawn("a");
    until_in_flight(&proxy, 1).await;
    // Same partition, another item: no conflict.
    let b = spawn("b");
    until_in_flight(&proxy, 2).await;
    for task in [a, b] {
        let (result, elapsed) = task.await.unwrap();
        result.expect("disjoint transactions both commit");
        assert!(elapsed >= hold, "held {elapsed:?}");
    }
    assert_eq!(counter(&direct, &pk, "a").await, Some(1));
    assert_eq!(counter(&direct, &pk, "b").await, Some(1));
    assert_eq!(proxy.stats().conflicts_total(), 0);
    assert_eq!(proxy.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_write_of_an_item_in_flight_gets_transaction_conflict_exception() {
    let rule = ConflictRule {
        hold: Duration::from_secs(1),
    };
    let (direct, proxy) = setup(Config::default().with_conflicts(rule)).await;
    let client = client(&proxy);
    let table = direct.table().to_string();
    let pk = unique("single");
    let first = {
        let (client, table, pk) = (client.clone(), table.clone(), pk.clone());
        // A Put names its item through PK/SK in `Item`, an Update through `Key`.
        tokio::spawn(async move {
            transact(
                &client,
                vec![put(&table, &pk, "p"), add(&table, &pk, "u", 1)],
            )
            .await
        })
    };
    until_in_flight(&proxy, 1).await;

    let update = client
        .update_item()
        .table_name(&table)
        .set_key(Some(key(&pk, "p")))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect_err("the Put's item is in flight");
    assert!(
        matches!(
            update.as_service_error(),
            Some(UpdateItemError::TransactionConflictException(_))
        ),
        "{update:?}"
    );
    assert_eq!(update.code(), Some("TransactionConflictException"));
    let put_item = client
        .put_item()
        .table_name(&table)
        .set_item(Some(key(&pk, "u")))
        .send()
        .await
        .expect_err("the Update's item is in flight");
    assert!(
        matches!(
            put_item.as_service_error(),
            Some(PutItemError::TransactionConflictException(_))
        ),
        "{put_item:?}"
    );
    let delete = client
        .delete_item()
        .table_name(&table)
        .set_key(Some(key(&pk, "u")))
        .send()
        .await
        .expect_err("in flight");
    assert!(
        matches!(
            delete.as_service_error(),
            Some(DeleteItemError::TransactionConflictException(_))
        ),
        "{delete:?}"
    );
    // Another item, and reads, are not affected.
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(key(&pk, "other")))
        .send()
        .await
        .expect("not in flight");
    client
        .get_item()
        .table_name(&table)
        .set_key(Some(key(&pk, "p")))
        .send()
        .await
        .expect("reads never conflict");
    assert_eq!(proxy.in_flight(), 1);

    first.await.unwrap().expect("the transaction commits");
    assert_eq!(
        counter(&direct, &pk, "u").await,
        Some(1),
        "refused writes changed nothing"
    );
    let stats = proxy.stats();
    for op in ["UpdateItem", "PutItem", "DeleteItem"] {
        assert_eq!(stats.conflicts[op], 1, "{op}: not retried by the SDK");
    }
    client
        .update_item()
        .table_name(&table)
        .set_key(Some(key(&pk, "p")))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("no longer in flight");
    assert_eq!(counter(&direct, &pk, "p").await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_token_in_flight_is_in_progress() {
    let rule = ConflictRule {
        hold: Duration::from_secs(1),
    };
    let (direct, proxy) = setup(Config::default().with_conflicts(rule)).await;
    let client = client_with(&proxy, 1, Duration::from_secs(5));
    let table = direct.table().to_string();
    let pk = unique("token");
    let token = unique("token");
    let send = |client: Client, table: String, pk: String, token: String| async move {
        client
            .transact_write_items()
            .set_transact_items(Some(vec![add(&table, &pk, "n", 1)]))
            .client_request_token(token)
            .send()
            .await
    };
    let first = tokio::spawn(send(
        client.clone(),
        table.clone(),
        pk.clone(),
        token.clone(),
    ));
    until_in_flight(&proxy, 1).await;
    let err = send(client.clone(), table.clone(), pk.clone(), token.clone())
        .await
        .expect_err("the same token is in flight");
    assert!(
        matches!(
            err.as_service_error(),
            Some(TransactWriteItemsError::TransactionInProgressException(_))
        ),
        "{err:?}"
    );
    first.await.unwrap().expect("the first commits");
    assert_eq!(counter(&direct, &pk, "n").await, Some(1));

    // Another transaction (another token) holds the item now. The first one sent again
    // is answered as the commit it was: not cancelled, not held, not applied again.
    let other = tokio::spawn(send(
        client.clone(),
        table.clone(),
        pk.clone(),
        unique("other"),
    ));
    until_in_flight(&proxy, 1).await;
    send(client, table, pk.clone(), token)
        .await
        .expect("a committed token is answered as its commit");
    assert_eq!(
        proxy.in_flight(),
        1,
        "answered while the other is in flight"
    );
    other.await.unwrap().expect("the other commits");
    assert_eq!(counter(&direct, &pk, "n").await, Some(2));
    let stats = proxy.stats();
    assert_eq!((stats.in_progress, stats.conflicts_total()), (1, 0));
}

/// Whether a transaction's outcome, as its caller saw it, leaves its write certain,
/// impossible or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Seen {
    Committed,
    Cancelled,
    Unknown,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_contended_workload_ends_consistent_with_what_clients_saw() {
    // 8 clients × 10 transactions, each adding 1 to one of two hot counters and putting
    // its own item, with 25 % faults on every request and the conflict rule on.
    let kinds = [
        Fault::Drop,
        Fault::LoseAnswer,
        Fault::Delay(Duration::from_millis(1200)),
    ];
    let config = Config::faults(99, 0.25, &kinds).with_conflicts(ConflictRule::default());
    let (direct, proxy) = setup(config).await;
    let client = client_with(&proxy, 3, Duration::from_secs(1));
    let table = direct.table().to_string();
    let pk = unique("workload");
    let tasks: Vec<_> = (0..8)
        .map(|c| {
            let (client, table, pk) = (client.clone(), table.clone(), pk.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for i in 0..10 {
                    let (hot, own) = (format!("hot-{}", i % 2), format!("own-{c}-{i}"));
                    let result = transact(
                        &client,
                        vec![add(&table, &pk, &hot, 1), put(&table, &pk, &own)],
                    )
                    .await;
                    let outcome = match &result {
                        Ok(()) => Seen::Committed,
                        Err(e) => match e.as_service_error() {
                            Some(TransactWriteItemsError::TransactionCanceledException(_)) => {
                                let codes = reasons(e);
                                assert!(
                                    codes
                                        .iter()
                                        .all(|c| c == "TransactionConflict" || c == "None"),
                                    "{codes:?}"
                                );
                                Seen::Cancelled
                            }
                            Some(other) => panic!("unexpected {other:?}"),
                            None => Seen::Unknown,
                        },
                    };
                    seen.push((hot, own, outcome));
                }
                seen
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.extend(task.await.unwrap());
    }
    proxy.set_config(Config::default());
    let mut written = HashMap::<String, i64>::new();
    let mut tally = HashMap::<Seen, usize>::new();
    for (hot, own, outcome) in &seen {
        *tally.entry(*outcome).or_default() += 1;
        let exists = get(&direct, &pk, own).await.is_some();
        match outcome {
            Seen::Committed => assert!(exists, "{own}: answered, so written"),
            Seen::Cancelled => assert!(!exists, "{own}: cancelled, so not written"),
            Seen::Unknown => {}
        }
        if exists {
            *written.entry(hot.clone()).or_default() += 1;
        }
    }
    // Each transaction applied at most once, and atomically: every hot counter is the
    // number of own items written with it.
    for hot in ["hot-0", "hot-1"] {
        assert_eq!(
            counter(&direct, &pk, hot).await.unwrap_or(0),
            written.get(hot).copied().unwrap_or(0),
            "{hot}"
        );
    }
    let stats = proxy.stats();
    println!("{stats}\n{tally:?}");
    assert!(
        stats.faults_total() > 0 && stats.conflicts_total() > 0,
        "{stats}"
    );
    assert_eq!(stats.upstream_failures, 0);
    assert_eq!(proxy.in_flight(), 0, "nothing left in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_transactions_retry_conflicts_then_answer_unavailable() {
    use shared::domain::dates::NightRange;
    use shared::domain::ids::UnitTypeId;
    use shared::domain::inventory::InventoryChange;

    // The first holds its items longer than the second retries conflicts, and shorter
    // than the SDK's 2 s attempt timeout (past it, the first's own retry would conflict
    // with itself).
    let rule = ConflictRule {
        hold: Duration::from_millis(1_500),
    };
    let (direct, proxy) = setup(Config::default()).await;
    let est = kit::stocked_establishment(&direct, "contended").await;
    let store = Store::local(&proxy.endpoint(), direct.table())
        .with_conflict_budget(Duration::from_millis(500));
    let change = |capacity| InventoryChange {
        unit_type_id: UnitTypeId::parse("dbl").unwrap(),
        range: NightRange::new(kit::date("2026-09-01"), kit::date("2026-09-30"), 731).unwrap(),
        capacity,
    };
    proxy.set_config(Config::default().with_conflicts(rule));
    let first = {
        let (store, change) = (store.clone(), change(25));
        tokio::spawn(async move {
            kit::set_capacity(&store, &kit::tenant("contended"), est, &change).await
        })
    };
    until_in_flight(&proxy, 1).await;
    // The same pool month while the first holds it: the adapter retries the
    // conflict with backoff, within its budget, then gives up as unavailable (503).
    let second = kit::set_capacity(&store, &kit::tenant("contended"), est, &change(20)).await;
    assert!(
        matches!(second, Err(shared::ApiError::Unavailable(_))),
        "{second:?}"
    );
    let conflicts = proxy.stats().conflicts["TransactWriteItems"];
    assert!(conflicts >= 2, "retried: {conflicts} conflicts");
    first.await.unwrap().expect("the first commits");
    let nights = kit::pool_nights(&direct, "contended", est, "2026-09-01", "2026-09-30").await;
    assert!(!nights.is_empty());
    for (_, _, night) in nights {
        assert_eq!(night.capacity, 25, "only the first change is applied");
    }
}

#[test]
fn a_proxy_on_its_own_thread_outlives_the_runtimes_that_use_it() {
    let endpoint = kit::endpoint();
    let upstream = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(kit::proxy::upstream_of(&endpoint))
        .unwrap();
    let proxy = Proxy::spawn(upstream, Config::default()).expect("spawn the proxy");
    let table = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(kit::store())
        .table()
        .to_string();
    let pk = unique("spawned");
    for sk in ["a", "b"] {
        // A runtime per use, as each #[tokio::test] has its own.
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            client(&proxy)
                .put_item()
                .table_name(&table)
                .set_item(Some(key(&pk, sk)))
                .send()
                .await
                .expect("through the proxy");
        });
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let direct = Store::local(&endpoint, &table);
    for sk in ["a", "b"] {
        assert!(runtime.block_on(get(&direct, &pk, sk)).is_some());
    }
    assert_eq!(proxy.stats().operations["PutItem"], 2);
    let addr = proxy.addr();
    drop(proxy);
    // Stopped: nothing listens any more.
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(start.elapsed() < Duration::from_secs(5), "still listening");
        std::thread::sleep(Duration::from_millis(10));
    }
}
