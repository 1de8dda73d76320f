//! The one DynamoDB adapter. Every read and write of the table goes through here.
//!
//! Single-table design (see `keys`): the table and its indexes are defined once, in
//! `infra/template.yaml`, and [`schema`] creates the same table locally and in tests.

mod allotments;
mod api_keys;
mod apply;
mod attr;
mod establishments;
mod events;
mod expr;
mod grid;
pub mod groups;
pub mod idempotency;
pub mod keys;
mod pickups;
mod pool;
pub mod releases;
pub mod schema;
mod steps;

pub use steps::STEPS_LEASE;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::Client;

use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;
use uuid::Uuid;

pub use allotments::AllotmentFilter;
pub use api_keys::StoredKey;
pub use apply::{Applied, AppliedParts, MAX_TRANSACTION_ITEMS};
pub use events::FeedPage;

/// Default table and endpoint of the local setup (`make dev`, the admin tool).
pub const LOCAL_TABLE: &str = "allotments";
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:8000";

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// The deployment's cursor-signing secret, read once per process.
    cursor_secret: std::sync::Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// The establishment of each allotment this process has read (it never changes),
    /// so a warm process can write a pickup without reading the allotment first.
    establishments_of: std::sync::Arc<std::sync::Mutex<HashMap<(String, Uuid), Uuid>>>,
    /// How old an event item must be before the feed serves it.
    event_settle: Duration,
    /// How long a transaction's conflicts are retried ([`CONFLICT_BUDGET`]).
    conflict_budget: Duration,
    /// A test's crash: a plan in steps stops after this many (see
    /// [`Store::dying_after_steps`]).
    die_after_steps: Option<usize>,
    /// A test's lost answer: the commit of a plan in steps is applied but answered with
    /// an error (see [`Store::losing_commit_answers`]).
    lose_commit_answers: bool,
}

/// How many allotments [`Store::known_establishment`] remembers (then it starts over).
const REMEMBERED_ALLOTMENTS: usize = 10_000;

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            cursor_secret: Default::default(),
            establishments_of: Default::default(),
            event_settle: Duration::from_secs(crate::domain::event::DEFAULT_SETTLE_SECONDS),
            conflict_budget: CONFLICT_BUDGET,
            die_after_steps: None,
            lose_commit_answers: false,
        }
    }

    /// This store as one whose commits of plans in steps are applied but their answers
    /// lost (a test of how the request tells, from the steps' marker, that it committed).
    pub fn losing_commit_answers(mut self) -> Self {
        self.lose_commit_answers = true;
        self
    }

    /// This store as a request that dies after `steps` steps of a plan too big for one
    /// transaction (a test of what a crash between steps leaves: nothing of it is
    /// resolved, the answer is `503`, as when the process is gone).
    pub fn dying_after_steps(mut self, steps: usize) -> Self {
        self.die_after_steps = Some(steps);
        self
    }

    /// This store with conflicts retried for `budget` instead of [`CONFLICT_BUDGET`]
    /// (a test that must outlast the budget with a transaction held shorter than the
    /// SDK's 2 s attempt timeout).
    pub fn with_conflict_budget(mut self, budget: Duration) -> Self {
        self.conflict_budget = budget;
        self
    }

    /// The establishment of an allotment this process has read before, if any.
    pub fn known_establishment(&self, t: &TenantId, allotment: Uuid) -> Option<Uuid> {
        let known = self.establishments_of.lock().ok()?;
        known.get(&(t.to_string(), allotment)).copied()
    }

    fn remember_establishment(&self, t: &TenantId, allotment: Uuid, establishment: Uuid) {
        if let Ok(mut known) = self.establishments_of.lock() {
            if known.len() >= REMEMBERED_ALLOTMENTS {
                known.clear();
            }
            known.insert((t.to_string(), allotment), establishment);
        }
    }

    /// The secret that signs list cursors: 32 random bytes kept in the table
    /// (`CONFIG` / `CURSOR_SECRET`), created by the first process that needs it.
    pub async fn cursor_secret(&self) -> Result<Vec<u8>, ApiError> {
        self.cursor_secret
            .get_or_try_init(|| async {
                let (pk, sk) = ("CONFIG".to_string(), "CURSOR_SECRET".to_string());
                let fresh: [u8; 32] = rand::random();
                let mut item = attr::key(pk.clone(), sk.clone());
                let secret = aws_sdk_dynamodb::types::AttributeValue::B(fresh.to_vec().into());
                item.insert("secret".into(), secret);
                if self.put_if_absent("cursor_secret", item).await? {
                    return Ok(fresh.to_vec());
                }
                let got = self.get("cursor_secret", (pk, sk)).await?;
                match got.as_ref().and_then(|i| i.get("secret")) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::B(b)) => Ok(b.as_ref().to_vec()),
                    _ => Err(ApiError::Internal("cursor secret missing".into())),
                }
            })
            .await
            .cloned()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The store the deployed functions use: `TABLE_NAME`, and the AWS endpoint
    /// unless `DYNAMODB_ENDPOINT` overrides it (local runs).
    pub async fn from_env() -> Result<Self, String> {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        match std::env::var("DYNAMODB_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => Ok(Store::local(&endpoint, &table)),
            _ => Ok(Store::aws(&table).await),
        }
    }

    /// The table on AWS, with the credentials and region of the environment.
    pub async fn aws(table: &str) -> Self {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries())
            .load()
            .await;
        Store::new(Client::new(&conf), table)
    }

    /// The store local tools use: `DYNAMODB_ENDPOINT` and `TABLE_NAME`, defaulting to
    /// DynamoDB Local on 127.0.0.1:8000 (or `DYNAMODB_PORT`) and the table `allotments`.
    pub fn local_from_env() -> Self {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| match std::env::var("DYNAMODB_PORT") {
                Ok(port) if !port.is_empty() => format!("http://127.0.0.1:{port}"),
                _ => LOCAL_ENDPOINT.to_string(),
            });
        let table = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| LOCAL_TABLE.to_string());
        Store::local(&endpoint, &table)
    }

    /// A client for DynamoDB Local (any credentials work with `-sharedDb`).
    pub fn local(endpoint: &str, table: &str) -> Self {
        Store::new(
            Client::from_conf(Store::local_config(endpoint).build()),
            table,
        )
    }

    /// The client configuration of [`Store::local`], for a caller that adds to it
    /// (the benchmark adds an interceptor that counts round trips).
    pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .timeout_config(timeouts())
            .retry_config(retries())
    }
}

/// Every call is bounded: an attempt still unanswered after 2 s is stuck (DynamoDB
/// answers in milliseconds, a 100-item transaction well under a second) and is retried
/// on a fresh connection; one operation gives up after 4 s (two stuck attempts, or three
/// quick failures with backoff) as `503`. The sum over a request's calls is bounded by
/// the edge's budget (`http::DEFAULT_BUDGET`, 9.5 s, inside the 10 s function timeout),
/// which fits at least two whole stuck operations.
pub fn timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    timeouts_of(Duration::from_secs(2), Duration::from_secs(4))
}

/// 1 s to connect, `attempt` an attempt, `operation` in all.
fn timeouts_of(
    attempt: Duration,
    operation: Duration,
) -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
}

/// The SDK timeouts of the commit of a plan in steps: one transaction of up to
/// megabytes (a release of 731 nights × 50 unit types rewrites 25 grid months), made
/// only by the functions with [`crate::http::LONG_FUNCTION_TIMEOUT`].
pub fn big_transaction_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    timeouts_of(Duration::from_secs(10), Duration::from_secs(20))
}

/// Three attempts per call (the SDK's standard, jittered retry of throttling and
/// transient errors), all within [`timeouts`]' operation timeout.
pub fn retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(3)
}

/// Maps an SDK failure: unreachable, timing out or throttling → `Unavailable`;
/// anything else is a bug → `Internal`. The detail goes to the log only.
pub(crate) fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => matches!(
            e.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "LimitExceededException"
                    | "TransactionConflictException"
            )
        ),
        _ => false,
    };
    let detail = format!(
        "{op}: {} ({})",
        err.code().unwrap_or("no code"),
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    if unavailable {
        tracing::warn!(error = %detail, "store unavailable");
        ApiError::Unavailable(detail)
    } else {
        tracing::error!(error = %detail, "store error");
        ApiError::Internal(detail)
    }
}

/// Whether a conditional write of one item happened: `false` when its condition was
/// false (nothing written).
pub(crate) fn written<T, E, R>(
    op: &str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(sdk_error(op, e)),
    }
}

/// A query being built.
pub(crate) type Query = aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

/// How a transaction ended when it did not fail outright.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TxResult {
    Done,
    /// A condition was false: nothing was written. Each item whose condition failed,
    /// by its position, with the item as it was (when DynamoDB returned it).
    ConditionFailed(Vec<(usize, Option<attr::Item>)>),
}

/// What to do with a cancelled transaction, from its cancellation reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancelled {
    ConditionFailed,
    Retry,
    Fail,
}

/// Classifies `CancellationReasons` codes: a false condition is an answer; conflicts
/// with other transactions and throttling are retried; anything else is a bug.
pub(crate) fn classify_cancellation<'a>(
    codes: impl IntoIterator<Item = Option<&'a str>>,
) -> Cancelled {
    let mut retry = false;
    for code in codes {
        match code {
            Some("ConditionalCheckFailed") => return Cancelled::ConditionFailed,
            None | Some("None") => {}
            Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded") => {
                retry = true
            }
            Some(_) => return Cancelled::Fail,
        }
    }
    if retry {
        Cancelled::Retry
    } else {
        Cancelled::Fail
    }
}

/// How long one transaction keeps retrying conflicts and throttling before it gives
/// up with `503` (the command's answer says `Retry-After`). Sized for the conflict
/// rule of the real service (a transaction holds its items ~10 ms; one on an item in
/// flight is cancelled at once): 64 pickups queued on one item take ~0.7 s to drain at
/// its ceiling, and the budget leaves a pickup well inside its 9.5 s request budget
/// (with the SDK's own 4 s per call and the command's refused-condition rounds).
pub const CONFLICT_BUDGET: std::time::Duration = std::time::Duration::from_millis(3_000);

/// The pause before retry `attempt` (from 0) of a transaction that met a conflict
/// and has `waited` so far: full jitter (`unit` in `[0, 1)`) under a ceiling that
/// first grows, `min(200 ms, 10 ms · 2^attempt)`, so light contention spreads out
/// without hammering the item, then shrinks with the time waited, 50 ms from 0.5 s
/// and 10 ms from 1.5 s: under the real service's rule an item is won by whoever
/// tries first once it is free, so those who waited longest try most often. It is
/// close to first come, first served without any coordination; with pauses that
/// only grow the newest win and the oldest run out of budget (simulated and
/// measured: `make bench`, section 3b).
pub fn conflict_pause(attempt: u32, waited: std::time::Duration, unit: f64) -> std::time::Duration {
    let ceiling_ms = match waited.as_millis() {
        0..500 => (10u64 << attempt.min(5)).min(200),
        500..1_500 => 50,
        _ => 10,
    };
    std::time::Duration::from_micros((ceiling_ms as f64 * 1_000.0 * unit.clamp(0.0, 1.0)) as u64)
}

impl Store {
    /// Every item a query matches, following `LastEvaluatedKey` page by page.
    pub(crate) async fn query_all(
        &self,
        op: &str,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<attr::Item>, ApiError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_page(op, &query, None, start).await?;
            items.extend(page);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }

    /// One page of a query (of at most `limit` items read) from `start`: its items
    /// and the key the next page starts from (`None` after the last).
    pub(crate) async fn query_page(
        &self,
        op: &str,
        query: &aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: Option<i32>,
        start: Option<attr::Item>,
    ) -> Result<(Vec<attr::Item>, Option<attr::Item>), ApiError> {
        let resp = query
            .clone()
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error(op, e))?;
        let next = resp.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
        Ok((resp.items().to_vec(), next))
    }

    /// A query of one partition of the list index (`GSI1`).
    pub(crate) fn list_index(&self, pk: String) -> Query {
        self.query_on(Some(keys::GSI1), keys::GSI1PK, pk)
    }

    /// A strongly consistent query of one partition's items whose sort keys lie in
    /// `[lo, hi]`, in sort key order (`scan_index_forward(false)` for the reverse).
    pub(crate) fn sort_key_range(&self, pk: String, lo: &str, hi: &str) -> Query {
        self.partition_of(pk)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":lo", attr::s(lo))
            .expression_attribute_values(":hi", attr::s(hi))
    }

    /// A strongly consistent query of every item of one partition, in sort key order.
    pub(crate) fn partition(&self, pk: String) -> Query {
        self.partition_of(pk).key_condition_expression("#pk = :pk")
    }

    /// A strongly consistent query of the table's partition `pk`.
    fn partition_of(&self, pk: String) -> Query {
        self.query_on(None, keys::PK, pk).consistent_read(true)
    }

    /// A query of the table (or of `index`) whose partition key attribute `key` is `pk`
    /// (`#pk = :pk`), its key condition still to say.
    fn query_on(&self, index: Option<&str>, key: &str, pk: String) -> Query {
        self.client()
            .query()
            .table_name(self.table())
            .set_index_name(index.map(str::to_string))
            .expression_attribute_names("#pk", key)
            .expression_attribute_values(":pk", attr::s(pk))
    }

    /// Puts `item` unless an item with its key exists: `false` when one does.
    pub(crate) async fn put_if_absent(&self, op: &str, item: attr::Item) -> Result<bool, ApiError> {
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        written(op, put)
    }

    /// One item by key, strongly consistent.
    pub(crate) async fn get(
        &self,
        op: &str,
        (pk, sk): (String, String),
    ) -> Result<Option<attr::Item>, ApiError> {
        let resp = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(attr::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(op, e))?;
        Ok(resp.item().cloned())
    }

    /// One item by key, strongly consistent, read by `parse`.
    pub(crate) async fn get_as<T>(
        &self,
        op: &str,
        key: (String, String),
        parse: impl Fn(&attr::Item) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        self.get(op, key).await?.as_ref().map(parse).transpose()
    }

    /// Items by key, strongly consistent, 100 keys per request, unprocessed keys
    /// retried. Absent items are absent.
    pub(crate) async fn batch_get(
        &self,
        op: &str,
        wanted: Vec<attr::Item>,
    ) -> Result<Vec<attr::Item>, ApiError> {
        let mut out = Vec::new();
        for chunk in wanted.chunks(100) {
            let mut pending = chunk.to_vec();
            for round in 1.. {
                if pending.is_empty() {
                    break;
                }
                if round > 10 {
                    return Err(ApiError::Unavailable(format!("{op}: unprocessed keys")));
                }
                let req = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| ApiError::Internal(format!("{op}: {e}")))?;
                let resp = self
                    .client()
                    .batch_get_item()
                    .request_items(self.table(), req)
                    .send()
                    .await
                    .map_err(|e| sdk_error(op, e))?;
                if let Some(items) = resp.responses().and_then(|r| r.get(self.table())) {
                    out.extend(items.iter().cloned());
                }
                if let Some(left) = resp.unprocessed_keys().and_then(|u| u.get(self.table())) {
                    pending = left.keys().to_vec();
                    if !pending.is_empty() {
                        tokio::time::sleep(std::time::Duration::from_millis(20 * round)).await;
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Runs one `TransactWriteItems`, retrying conflicts and throttling with jittered
    /// backoff ([`conflict_pause`]) for at most its conflict budget ([`CONFLICT_BUDGET`]
    /// unless set). A transaction is all-or-nothing: on any outcome but `Done` nothing
    /// was written. Every send carries the same `ClientRequestToken`, so a send whose
    /// answer was lost and that is sent again is not applied twice (DynamoDB answers
    /// the repeat as a success for 10 minutes).
    pub(crate) async fn transact(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<TxResult, ApiError> {
        self.transact_within(items, None).await
    }

    /// [`Self::transact`] under other SDK timeouts (see [`big_transaction_timeouts`]).
    pub(crate) async fn transact_within(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        timeouts: Option<aws_sdk_dynamodb::config::timeout::TimeoutConfig>,
    ) -> Result<TxResult, ApiError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let token = Uuid::new_v4().to_string();
        let started = tokio::time::Instant::now();
        let deadline = started + self.conflict_budget;
        let mut attempt = 0u32;
        loop {
            let send = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token);
            let result = match &timeouts {
                None => send.send().await,
                Some(t) => {
                    let mut config = aws_sdk_dynamodb::config::Builder::default();
                    config.set_timeout_config(Some(t.clone()));
                    send.customize().config_override(config).send().await
                }
            };
            let err = match result {
                Ok(_) => return Ok(TxResult::Done),
                Err(e) => e,
            };
            let retry = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons = c.cancellation_reasons();
                    match classify_cancellation(reasons.iter().map(|r| r.code())) {
                        Cancelled::ConditionFailed => {
                            let failed = reasons
                                .iter()
                                .enumerate()
                                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                                .map(|(i, r)| (i, r.item().cloned()))
                                .collect();
                            return Ok(TxResult::ConditionFailed(failed));
                        }
                        Cancelled::Retry => true,
                        Cancelled::Fail => false,
                    }
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
                _ => false,
            };
            if !retry {
                return Err(sdk_error("transact_write_items", err));
            }
            let wait = conflict_pause(attempt, started.elapsed(), rand::random::<f64>());
            if tokio::time::Instant::now() + wait >= deadline {
                tracing::warn!(attempts = attempt + 1, "transaction conflicts persisted");
                return Err(ApiError::Unavailable(format!(
                    "transact_write_items: conflicts persisted for {} ms ({} attempts)",
                    self.conflict_budget.as_millis(),
                    attempt + 1
                )));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_pauses_are_jittered_short_and_capped() {
        use std::time::Duration;
        let fresh = Duration::ZERO;
        let ms = Duration::from_millis;
        assert_eq!(conflict_pause(0, fresh, 0.0), Duration::ZERO);
        assert_eq!(conflict_pause(0, fresh, 1.0), ms(10));
        assert_eq!(conflict_pause(2, fresh, 0.5), ms(20));
        assert_eq!(conflict_pause(40, ms(499), 1.0), ms(200));
        // The longer it waited, the more often it tries.
        assert_eq!(conflict_pause(40, ms(500), 1.0), ms(50));
        assert_eq!(conflict_pause(40, ms(1_500), 1.0), ms(10));
        assert_eq!(conflict_pause(1, ms(2_000), 1.0), ms(10));
        // Within the budget, a transaction gets dozens of attempts.
        let mut waited = fresh;
        let mut attempts = 0;
        while waited < CONFLICT_BUDGET {
            waited += conflict_pause(attempts, waited, 1.0);
            attempts += 1;
        }
        assert!(attempts > 100, "{attempts}");
    }

    #[test]
    fn cancellation_reasons_decide_the_outcome() {
        use Cancelled::*;
        let cases: [(&[Option<&str>], Cancelled); 7] = [
            (
                &[Some("None"), Some("ConditionalCheckFailed")],
                ConditionFailed,
            ),
            (
                &[Some("TransactionConflict"), Some("ConditionalCheckFailed")],
                ConditionFailed,
            ),
            (&[Some("None"), Some("TransactionConflict")], Retry),
            (&[Some("ThrottlingError")], Retry),
            (&[None, Some("ProvisionedThroughputExceeded")], Retry),
            (&[Some("ValidationError")], Fail),
            (&[Some("None")], Fail),
        ];
        for (codes, want) in cases {
            assert_eq!(
                classify_cancellation(codes.iter().copied()),
                want,
                "{codes:?}"
            );
        }
    }
}
