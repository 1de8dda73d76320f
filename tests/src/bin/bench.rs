//! `make bench`: the figures of BENCHMARKS.md, measured side by side in one run
//! against one DynamoDB Local (`DYNAMODB_ENDPOINT`).
//!
//! 1. Round trips: every DynamoDB request the functions send is counted by an SDK
//!    interceptor (one count per HTTP attempt, by `X-Amz-Target`).
//! 2. Handler overhead: the same interceptor records the input of every call a handler
//!    makes on its table; the baseline replays exactly those calls (same items, same
//!    conditions) with the bare SDK on a twin table kept in lockstep (every setup
//!    write is replayed there too), so each condition finds the same state.
//! 3. Contention: concurrent pickups on one allotment vs a bare conditional
//!    `UpdateItem` on one item.
//!    Section 3b (`BENCH_ONLY=hot`): the bursts of issue 17 (one allotment, one
//!    hotel, a rooming list; 8/32/64 clients) through `kit::proxy`'s conflict rule
//!    and without it.
//! 4. Cold start: the release `create-allotment` and `hello-lambda` binaries under a
//!    minimal Lambda Runtime API served here, and the zipped size of the function.
//!
//! 6. Holds in steps (`BENCH_ONLY=steps`): the largest allotments and groups the
//!    contract allows, each request timed end to end through its function.
//!
//! Everything is printed as Markdown and written to `.local/bench-figures.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use kit::TestRequest;
use serde_json::{json, Value};
use shared::http::{dispatch, Ctx, Function};
use shared::store::Store;
use uuid::Uuid;

const TENANT: &str = "bench";

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

// ---------------------------------------------------------------- recording client

/// A call as the store built it, kept to be replayed on the twin table.
#[derive(Debug, Clone)]
enum Call {
    Get(GetItemInput),
    Query(QueryInput),
    Put(PutItemInput),
    Update(UpdateItemInput),
    Delete(DeleteItemInput),
    Tx(TransactWriteItemsInput),
    BatchGet(BatchGetItemInput),
    Other,
}

/// DynamoDB requests by operation name (HTTP attempts, retries included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts(BTreeMap<String, u64>);

impl Counts {
    fn total(&self) -> u64 {
        self.0.values().sum()
    }
    fn minus(&self, other: &Counts) -> Counts {
        let mut out = self.0.clone();
        for (op, n) in &other.0 {
            let e = out.entry(op.clone()).or_default();
            *e = e.saturating_sub(*n);
        }
        out.retain(|_, n| *n > 0);
        Counts(out)
    }
    fn detail(&self) -> String {
        if self.0.is_empty() {
            return "-".into();
        }
        self.0
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A recorded call and whether the service accepted it (once it has answered).
type Recorded = (Call, Option<bool>);

#[derive(Debug, Default)]
struct Tape {
    capture: bool,
    calls: Vec<Recorded>,
    requests: Counts,
}

/// The interceptor: counts every request sent, and (when capturing) keeps the
/// input of every call.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Tape>>);

impl Recorder {
    fn set_capture(&self, on: bool) {
        self.0.lock().unwrap().capture = on;
    }
    fn take(&self) -> (Vec<Recorded>, Counts) {
        let mut t = self.0.lock().unwrap();
        (
            std::mem::take(&mut t.calls),
            std::mem::take(&mut t.requests),
        )
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "bench-recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut tape = self.0.lock().unwrap();
        if !tape.capture {
            return Ok(());
        }
        let input = context.input();
        let call = if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Call::Get(i.clone())
        } else if let Some(i) = input.downcast_ref::<QueryInput>() {
            Call::Query(i.clone())
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            Call::Put(i.clone())
        } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            Call::Update(i.clone())
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            Call::Delete(i.clone())
        } else if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            Call::Tx(i.clone())
        } else if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
            Call::BatchGet(i.clone())
        } else {
            Call::Other
        };
        tape.calls.push((call, None));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ok = matches!(context.output_or_error(), Some(Ok(_)));
        let mut tape = self.0.lock().unwrap();
        if let Some(last) = tape.calls.iter_mut().rev().find(|c| c.1.is_none()) {
            last.1 = Some(ok);
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        *self.0.lock().unwrap().requests.0.entry(op).or_default() += 1;
        Ok(())
    }
}

fn client(endpoint: &str, rec: &Recorder) -> Client {
    Client::from_conf(
        Store::local_config(endpoint)
            .interceptor(rec.clone())
            .build(),
    )
}

fn retable(items: Option<Vec<TransactWriteItem>>, table: &str) -> Option<Vec<TransactWriteItem>> {
    items.map(|v| {
        v.into_iter()
            .map(|mut it| {
                if let Some(p) = it.put.as_mut() {
                    p.table_name = table.into();
                }
                if let Some(u) = it.update.as_mut() {
                    u.table_name = table.into();
                }
                if let Some(d) = it.delete.as_mut() {
                    d.table_name = table.into();
                }
                if let Some(c) = it.condition_check.as_mut() {
                    c.table_name = table.into();
                }
                it
            })
            .collect()
    })
}

/// Sends the recorded calls again, in order, with the bare client on `table`.
/// Returns how many ended otherwise than the recorded call (accepted or refused):
/// none when the twin table is in the same state.
async fn replay(raw: &Client, table: &str, calls: Vec<Recorded>) -> usize {
    let mut mismatches = 0;
    for (call, recorded) in calls {
        let ok = match call {
            Call::Get(i) => raw
                .get_item()
                .table_name(table)
                .set_key(i.key)
                .set_consistent_read(i.consistent_read)
                .set_projection_expression(i.projection_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .send()
                .await
                .is_ok(),
            Call::Query(i) => raw
                .query()
                .table_name(table)
                .set_index_name(i.index_name)
                .set_select(i.select)
                .set_limit(i.limit)
                .set_consistent_read(i.consistent_read)
                .set_scan_index_forward(i.scan_index_forward)
                .set_exclusive_start_key(i.exclusive_start_key)
                .set_projection_expression(i.projection_expression)
                .set_filter_expression(i.filter_expression)
                .set_key_condition_expression(i.key_condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .send()
                .await
                .is_ok(),
            Call::Put(i) => raw
                .put_item()
                .table_name(table)
                .set_item(i.item)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await
                .is_ok(),
            Call::Update(i) => raw
                .update_item()
                .table_name(table)
                .set_key(i.key)
                .set_update_expression(i.update_expression)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await
                .is_ok(),
            Call::Delete(i) => raw
                .delete_item()
                .table_name(table)
                .set_key(i.key)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await
                .is_ok(),
            // The client request token is left to the SDK, as the store does.
            Call::Tx(i) => raw
                .transact_write_items()
                .set_transact_items(retable(i.transact_items, table))
                .send()
                .await
                .is_ok(),
            Call::BatchGet(i) => raw
                .batch_get_item()
                .set_request_items(
                    i.request_items
                        .map(|m| m.into_values().map(|ka| (table.to_string(), ka)).collect()),
                )
                .send()
                .await
                .is_ok(),
            Call::Other => true,
        };
        mismatches += usize::from(recorded.is_some_and(|r| r != ok));
    }
    mismatches
}

// ---------------------------------------------------------------- statistics

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// Markdown printed as it is produced, and kept for the figures file.
#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}

// ---------------------------------------------------------------- the bench

/// One invocation of a function, as the overhead loop times it.
enum Invocation {
    Http(&'static Function, Box<lambda_http::Request>),
    /// A cutoff run, after an untimed run of the minute before (the schedule's steady
    /// state: the watermark a minute back).
    Cutoff {
        before: Value,
        event: Value,
    },
}

struct Bench {
    endpoint: String,
    /// The functions' store (on the handler table), recording.
    rec: Recorder,
    ctx: Ctx,
    /// The bare client and its twin table; its recorder only counts.
    raw: Client,
    raw_rec: Recorder,
    raw_table: String,
    key: String,
    est: Uuid,
}

struct Measured {
    name: String,
    n: usize,
    handler: Vec<Duration>,
    raw: Vec<Duration>,
    /// Requests of the last invocation (a warm process), and of the first (a process
    /// that has not seen the allotment yet) when they differ.
    counts: Counts,
    first_counts: Counts,
    raw_counts: Counts,
}

impl Bench {
    async fn new(endpoint: &str) -> Res<Self> {
        let id = Uuid::new_v4().simple().to_string();
        let (h_table, raw_table) = (format!("bench-h-{id}"), format!("bench-r-{id}"));
        let rec = Recorder::default();
        let store = Store::new(client(endpoint, &rec), &h_table);
        let raw_rec = Recorder::default();
        let raw = client(endpoint, &raw_rec);
        store.ensure_table().await?;
        Store::new(raw.clone(), &raw_table).ensure_table().await?;
        rec.take();
        rec.set_capture(true);
        let ctx = Ctx::with_now(store.clone(), kit::now());
        let key = kit::key(&store, TENANT).await;
        let est = kit::establishment(&store, TENANT).await;
        for unit in ["dbl", "sgl", "twn", "fam"] {
            kit::inventory(
                &store,
                TENANT,
                est,
                unit,
                "2026-08-01",
                "2027-08-31",
                100_000,
            )
            .await;
        }
        let b = Bench {
            endpoint: endpoint.to_string(),
            rec,
            ctx,
            raw,
            raw_rec,
            raw_table,
            key,
            est,
        };
        b.sync().await;
        Ok(b)
    }

    fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Replays on the twin table what the functions' store wrote since the last call.
    async fn sync(&self) {
        let (calls, _) = self.rec.take();
        let mismatches = replay(&self.raw, &self.raw_table, calls).await;
        self.raw_rec.take();
        if mismatches > 0 {
            eprintln!("note: {mismatches} setup call(s) ended otherwise on the twin table");
        }
    }

    fn body(&self, from: &str, to: &str, units: &[&str], quantity: i64, cutoff: &str) -> Value {
        let mut b = kit::allotment_body(self.est);
        b["periodFrom"] = json!(from);
        b["periodTo"] = json!(to);
        b["cutoffDate"] = json!(cutoff);
        b["unitAllocations"] = units
            .iter()
            .map(|u| json!({"unitTypeId": u, "quantity": quantity}))
            .collect();
        b
    }

    fn create(&self, body: &Value) -> Invocation {
        self.create_keyed(body, None)
    }

    fn create_keyed(&self, body: &Value, idempotency_key: Option<String>) -> Invocation {
        let mut req = TestRequest::event("create-allotment")
            .json(body.clone())
            .key(&self.key);
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", &k);
        }
        Invocation::Http(&create_allotment::FUNCTION, Box::new(req.into_request()))
    }

    async fn allotment(&self, body: Value) -> String {
        let data = kit::create_allotment(&self.ctx, &self.key, body).await;
        self.sync().await;
        data["allotmentId"].as_str().unwrap().to_string()
    }

    fn pickup(&self, allotment: &str, body: Value, idempotency_key: Option<String>) -> Invocation {
        let mut r = TestRequest::event("create-pickup")
            .path_param("allotmentId", allotment)
            .json(body)
            .key(&self.key);
        if let Some(k) = idempotency_key {
            r = r.header("idempotency-key", &k);
        }
        Invocation::Http(&create_pickup::FUNCTION, Box::new(r.into_request()))
    }

    /// Runs one invocation on the functions' store: `Ok` if it succeeded.
    async fn invoke(&self, inv: Invocation) -> Result<(), String> {
        match inv {
            Invocation::Http(f, req) => {
                let resp = dispatch(f, &self.ctx, *req).await;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{} answered {}", f.name, resp.status()))
                }
            }
            Invocation::Cutoff { event, .. } => {
                let out = cutoff_release::handle_event(self.store(), &event, None)
                    .await
                    .map_err(|e| format!("cutoff-release: {e:?}"))?;
                if out["data"]["allotmentsReleased"] == 1 {
                    Ok(())
                } else {
                    Err(format!("cutoff-release released {}", out["data"]))
                }
            }
        }
    }

    /// Times each invocation through the handler, then the bare replay of the calls
    /// it made, one after the other.
    async fn measure(&self, name: &str, invocations: Vec<Invocation>) -> Res<Measured> {
        self.sync().await;
        let mut m = Measured {
            name: name.to_string(),
            n: invocations.len(),
            handler: Vec::new(),
            raw: Vec::new(),
            counts: Counts::default(),
            first_counts: Counts::default(),
            raw_counts: Counts::default(),
        };
        for (i, inv) in invocations.into_iter().enumerate() {
            if let Invocation::Cutoff { before, .. } = &inv {
                cutoff_release::handle_event(self.store(), before, None)
                    .await
                    .map_err(|e| format!("{name} #{i}: the run before: {e:?}"))?;
                self.sync().await;
            }
            self.rec.take();
            let t = Instant::now();
            let result = self.invoke(inv).await;
            let h = t.elapsed();
            let (calls, counts) = self.rec.take();
            result.map_err(|e| format!("{name} #{i}: {e}"))?;
            self.raw_rec.take();
            let t = Instant::now();
            let mismatches = replay(&self.raw, &self.raw_table, calls).await;
            let r = t.elapsed();
            let (_, raw_counts) = self.raw_rec.take();
            if mismatches > 0 {
                return Err(format!(
                    "{name} #{i}: {mismatches} bare call(s) ended otherwise than the handler's"
                )
                .into());
            }
            if i == 0 {
                m.first_counts = counts.clone();
            } else if counts != m.counts && i > 1 {
                eprintln!(
                    "note: {name} #{i}: {} requests (before: {})",
                    counts.detail(),
                    m.counts.detail()
                );
            }
            (m.counts, m.raw_counts) = (counts, raw_counts);
            // The first tenth (at most 10) warms both sides and is not kept.
            if i >= (m.n / 10).min(10) {
                m.handler.push(h);
                m.raw.push(r);
            }
        }
        m.n = m.handler.len();
        m.handler.sort();
        m.raw.sort();
        Ok(m)
    }
}

async fn overhead_and_round_trips(b: &Bench, out: &mut Out) -> Res<()> {
    let n_small = env_usize("BENCH_ITERATIONS", 100);
    let n_big = (n_small / 5).max(5);

    // Warm both clients (connections, credentials, endpoint resolution).
    for _ in 0..5 {
        b.store().authenticate(&b.key).await?;
    }
    b.sync().await;
    b.rec.take();
    b.store().authenticate(&b.key).await?;
    let (calls, auth) = b.rec.take();
    replay(&b.raw, &b.raw_table, calls).await;

    let mut rows = Vec::new();

    // Create: 7 nights × 1 unit type, 365 nights × 4 unit types.
    let small = b.body("2026-09-01", "2026-09-07", &["dbl"], 1, "2026-08-01");
    rows.push(
        b.measure(
            "create allotment, 7 nights × 1 unit type",
            (0..n_small).map(|_| b.create(&small)).collect(),
        )
        .await?,
    );
    rows.push(
        b.measure(
            "create allotment, 7 nights × 1 unit type, with Idempotency-Key",
            (0..n_small)
                .map(|_| b.create_keyed(&small, Some(Uuid::new_v4().to_string())))
                .collect(),
        )
        .await?,
    );
    let big = b.body(
        "2026-09-01",
        "2027-08-31",
        &["dbl", "sgl", "twn", "fam"],
        1,
        "2026-08-01",
    );
    rows.push(
        b.measure(
            "create allotment, 365 nights × 4 unit types",
            (0..n_big).map(|_| b.create(&big)).collect(),
        )
        .await?,
    );

    // Pickups: 3 nights in one month, and across the August/September boundary.
    let a = b
        .allotment(b.body("2026-09-01", "2026-09-07", &["dbl"], 10_000, "2026-08-01"))
        .await;
    let three = kit::pickup_body("dbl", "2026-09-02", "2026-09-05", 1);
    rows.push(
        b.measure(
            "pickup, 3 nights",
            (0..n_small)
                .map(|_| b.pickup(&a, three.clone(), None))
                .collect(),
        )
        .await?,
    );
    rows.push(
        b.measure(
            "pickup, 3 nights, with Idempotency-Key",
            (0..n_small)
                .map(|_| b.pickup(&a, three.clone(), Some(Uuid::new_v4().to_string())))
                .collect(),
        )
        .await?,
    );
    let boundary = b
        .allotment(b.body("2026-08-28", "2026-09-03", &["dbl"], 1_000, "2026-08-01"))
        .await;
    let across = kit::pickup_body("dbl", "2026-08-30", "2026-09-02", 1);
    rows.push(
        b.measure(
            "pickup, 3 nights across a month boundary",
            (0..n_small)
                .map(|_| b.pickup(&boundary, across.clone(), None))
                .collect(),
        )
        .await?,
    );

    // Allocation change: 3 nights of one unit type, alternately 101 and 100 rooms.
    let alloc = b
        .allotment(b.body("2026-09-01", "2026-09-07", &["dbl"], 100, "2026-08-01"))
        .await;
    rows.push(
        b.measure(
            "allocation change, 3 nights",
            (0..n_small)
                .map(|i| {
                    let body = json!({"unitTypeId": "dbl", "quantity": 101 - (i % 2) as i64,
                                      "from": "2026-09-02", "to": "2026-09-04"});
                    let req = TestRequest::event("create-allocation")
                        .path_param("allotmentId", &alloc)
                        .json(body)
                        .key(&b.key)
                        .into_request();
                    Invocation::Http(&create_allocation::FUNCTION, Box::new(req))
                })
                .collect(),
        )
        .await?,
    );

    // Cutoff release: one allotment due per run (cutoffs on consecutive days), each run
    // at the moment, a minute after the run before it (untimed).
    let n_cut = (n_small / 3).clamp(5, 60);
    let first = chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    for i in 0..n_cut {
        let cutoff = (first + chrono::Duration::days(i as i64)).to_string();
        b.allotment(b.body("2026-09-01", "2026-09-07", &["dbl"], 1, &cutoff))
            .await;
    }
    let event = |day: chrono::NaiveDate, time: &str| {
        json!({"time": format!("{day}T{time}Z"), "detail-type": "Scheduled Event",
               "source": "aws.events", "detail": {}})
    };
    cutoff_release::handle_event(b.store(), &event(first, "00:05:00"), None).await?;
    b.sync().await;
    rows.push(
        b.measure(
            "cutoff release of one allotment",
            (0..n_cut)
                .map(|i| {
                    // The cutoff of day D falls at D+1 00:00 Paris (UTC+2) = D 22:00Z.
                    let day = first + chrono::Duration::days(i as i64);
                    Invocation::Cutoff {
                        before: event(day, "21:59:00"),
                        event: event(day, "22:00:00"),
                    }
                })
                .collect(),
        )
        .await?,
    );

    // 1. Round trips. A keyed row's idempotency cost is what it sends beyond its
    // keyless twin (the row of the same name without the key).
    let twin = |name: &str| {
        let plain = name.trim_end_matches(", with Idempotency-Key");
        rows.iter()
            .find(|r| r.name == plain)
            .map(|r| r.counts.clone())
            .unwrap_or_default()
    };
    out.line("## 1. DynamoDB round trips per operation\n");
    out.line("Requests sent by the SDK (one per HTTP attempt), counted by an interceptor on the client, for a warm process (the last of the runs). *Operation* excludes the key lookup (auth) and the idempotency record. *First* is the total of the first run when it differs: a process that has not read the allotment yet (a pickup then reads it once). The cutoff run is not an HTTP request (no auth).\n");
    out.line("| Operation | Auth | Idempotency | Operation | Total | First | Requests by type | Target (operation) | |");
    out.line("|---|---:|---:|---:|---:|---:|---|---|---|");
    for (i, m) in rows.iter().enumerate() {
        let http = m.name != "cutoff release of one allotment";
        let a = if http {
            auth.clone()
        } else {
            Counts::default()
        };
        let idem = if m.name.contains("Idempotency") {
            m.counts.minus(&twin(&m.name))
        } else {
            Counts::default()
        };
        let op = m.counts.minus(&a).minus(&idem).total();
        let (target, ok) = match i {
            0..=2 => ("≤ 2", Some(op <= 2)),
            3..=5 => ("1", Some(op <= 1)),
            _ => ("-", None),
        };
        let first = if m.first_counts == m.counts {
            "=".to_string()
        } else {
            m.first_counts.total().to_string()
        };
        out.line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            a.total(),
            idem.total(),
            op,
            m.counts.total(),
            first,
            m.counts.detail(),
            target,
            ok.map(verdict).unwrap_or("")
        ));
    }

    // 2. Overhead.
    out.line("\n## 2. Handler overhead vs the bare DynamoDB calls\n");
    out.line("Each invocation goes through `shared::http::dispatch` (auth, parsing, domain rules, the store, the response), then the very calls it made (recorded by the interceptor: same items, same conditions, same order) are sent again with the bare SDK client on a twin table kept in the same state. Latency in ms.\n");
    out.line("| Operation | n | Handler p50 | Handler p99 | Bare p50 | Bare p99 | Ratio p50 | Ratio p99 | Target ≤ 1.15 (p50) |");
    out.line("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for m in &rows {
        let (h50, h99, r50, r99) = (
            pct(&m.handler, 50.0),
            pct(&m.handler, 99.0),
            pct(&m.raw, 50.0),
            pct(&m.raw, 99.0),
        );
        if m.raw_counts.total() != m.counts.total() {
            eprintln!(
                "note: {}: bare replay sent {} requests, handler {}",
                m.name,
                m.raw_counts.total(),
                m.counts.total()
            );
        }
        out.line(format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} |",
            m.name,
            m.n,
            ms(h50),
            ms(h99),
            ms(r50),
            ms(r99),
            ratio(h50, r50),
            ratio(h99, r99),
            verdict(ratio(h50, r50) <= 1.15)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- contention

async fn contention(b: &Bench, out: &mut Out) -> Res<()> {
    let secs = env_usize("BENCH_CONTENTION_SECS", 4) as u64;
    let window = Duration::from_secs(secs);
    b.sync().await;
    // 30 nights × 10 000 rooms: each task takes 1 room for 1 night, night by night.
    let a = b
        .allotment(b.body("2026-09-01", "2026-09-30", &["dbl"], 10_000, "2026-08-01"))
        .await;
    // One pickup through the handler, recorded: its transaction is a second baseline
    // (the same items and conditions as every pickup here, a fresh pickup key each time).
    b.rec.take();
    let one = kit::pickup_body("dbl", "2026-09-01", "2026-09-02", 1);
    b.invoke(b.pickup(&a, one, None)).await?;
    let (calls, _) = b.rec.take();
    let pickup_tx = calls
        .iter()
        .find_map(|(c, _)| match c {
            Call::Tx(i) => retable(i.transact_items.clone(), &b.raw_table),
            _ => None,
        })
        .ok_or("no pickup transaction recorded")?;
    replay(&b.raw, &b.raw_table, calls).await;
    b.rec.set_capture(false);
    // The bare baseline: one item, `remaining >= q` then `remaining - q`.
    let item = || {
        [
            (
                "PK".to_string(),
                AttributeValue::S("BENCH#contention".into()),
            ),
            ("SK".to_string(), AttributeValue::S("ITEM".into())),
        ]
    };
    b.raw
        .put_item()
        .table_name(&b.raw_table)
        .set_item(Some(
            item()
                .into_iter()
                .chain([(
                    "remaining".to_string(),
                    AttributeValue::N("1000000000".into()),
                )])
                .collect(),
        ))
        .send()
        .await?;

    out.line("\n## 3. Contention: concurrent pickups on one allotment\n");
    out.line(format!("Each task loops for {secs} s: a pickup of 1 room for 1 night (the 30 nights in turn) through the handler, or a bare conditional `UpdateItem` (`remaining >= :q`, `SET remaining = remaining - :q`) on one item. One shared client per side, as one warm process would use it. The last two columns replay one recorded pickup transaction (the header, the grid month, the pool and a new pickup item, with their conditions) with the bare client: the floor a pickup in one transaction cannot go below.\n"));
    out.line("| Tasks | Pickups/s | Refused (status: count) | Requests per pickup | Bare UpdateItem/s | Bare refused | Ratio | Target ≥ 0.8 | Bare pickup TransactWriteItems/s | Pickups / bare transaction |");
    out.line("|---:|---:|---|---:|---:|---:|---:|---|---:|---:|");
    for tasks in [8usize, 32, 64] {
        // Handler side.
        b.rec.take();
        let refused = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
        let ok = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let (ctx, key, a) = (b.ctx.clone(), b.key.clone(), a.clone());
                let (ok, refused) = (ok.clone(), refused.clone());
                tokio::spawn(async move {
                    let mut night = t;
                    while started.elapsed() < window {
                        let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
                            + chrono::Duration::days((night % 30) as i64);
                        night += 1;
                        let body = kit::pickup_body(
                            "dbl",
                            &day.to_string(),
                            &day.succ_opt().unwrap().to_string(),
                            1,
                        );
                        let req = TestRequest::event("create-pickup")
                            .path_param("allotmentId", &a)
                            .json(body)
                            .key(&key)
                            .into_request();
                        let status = dispatch(&create_pickup::FUNCTION, &ctx, req)
                            .await
                            .status()
                            .as_u16();
                        if status == 201 {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            *refused.lock().unwrap().entry(status).or_default() += 1;
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await?;
        }
        let elapsed = started.elapsed();
        let (_, counts) = b.rec.take();
        let picked = ok.load(Ordering::Relaxed);
        let pickups_per_s = picked as f64 / elapsed.as_secs_f64();
        let refused = refused.lock().unwrap().clone();

        // Bare pickup transaction.
        let tx_ok = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (raw, items) = (b.raw.clone(), pickup_tx.clone());
                let tx_ok = tx_ok.clone();
                tokio::spawn(async move {
                    while started.elapsed() < window {
                        let mut items = items.clone();
                        for it in &mut items {
                            if let Some(p) = it.put.as_mut() {
                                p.item.insert(
                                    "SK".into(),
                                    AttributeValue::S(format!("P#{}", Uuid::now_v7())),
                                );
                            }
                        }
                        let r = raw
                            .transact_write_items()
                            .set_transact_items(Some(items))
                            .send()
                            .await;
                        if r.is_ok() {
                            tx_ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await?;
        }
        let tx_per_s = tx_ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

        // Bare conditional update.
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (raw, table) = (b.raw.clone(), b.raw_table.clone());
                let (ok, failed) = (ok.clone(), failed.clone());
                tokio::spawn(async move {
                    while started.elapsed() < window {
                        let r = raw
                            .update_item()
                            .table_name(&table)
                            .set_key(Some(item().into_iter().collect()))
                            .update_expression("SET #r = #r - :q")
                            .condition_expression("#r >= :q")
                            .expression_attribute_names("#r", "remaining")
                            .expression_attribute_values(":q", AttributeValue::N("1".into()))
                            .send()
                            .await;
                        if r.is_ok() {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.await?;
        }
        let bare_per_s = ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        let r = pickups_per_s / bare_per_s.max(1e-9);
        out.line(format!(
            "| {tasks} | {pickups_per_s:.0} | {} | {:.2} | {bare_per_s:.0} | {} | {r:.2} | {} | {tx_per_s:.0} | {:.2} |",
            if refused.is_empty() {
                "-".to_string()
            } else {
                refused
                    .iter()
                    .map(|(s, n)| format!("{s}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            counts.total() as f64 / (picked.max(1)) as f64,
            failed.load(Ordering::Relaxed),
            verdict(r >= 0.8),
            pickups_per_s / tx_per_s.max(1e-9)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- hot items

/// What one burst of pickups answered.
struct Burst {
    created: u64,
    unavailable: u64,
    other: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Runs `jobs` (one list of pickups per client, each client sending its list one
/// after the other, all clients at once) through the handler on `ctx`.
async fn burst(ctx: &Ctx, key: &str, jobs: Vec<Vec<(String, Value)>>) -> Res<Burst> {
    let started = Instant::now();
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let (ctx, key) = (ctx.clone(), key.to_string());
            tokio::spawn(async move {
                let mut out = Vec::new();
                for (allotment, body) in job {
                    let req = TestRequest::event("create-pickup")
                        .path_param("allotmentId", &allotment)
                        .json(body)
                        .key(&key)
                        .into_request();
                    let t = Instant::now();
                    let status = dispatch(&create_pickup::FUNCTION, &ctx, req)
                        .await
                        .status()
                        .as_u16();
                    out.push((status, t.elapsed()));
                }
                out
            })
        })
        .collect();
    let mut b = Burst {
        created: 0,
        unavailable: 0,
        other: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for h in handles {
        for (status, latency) in h.await? {
            match status {
                201 => b.created += 1,
                503 => b.unavailable += 1,
                _ => b.other += 1,
            }
            b.latencies.push(latency);
        }
    }
    b.elapsed = started.elapsed();
    b.latencies.sort();
    Ok(b)
}

/// `BENCH_ONLY=hot`: the bursts of issue 17 through the fault proxy's conflict rule
/// (the real service's: a transaction in flight ≥ 10 ms, one meeting it cancelled at
/// once) and without it, at 8, 32 and 64 clients.
async fn hot_items(b: &Bench, out: &mut Out) -> Res<()> {
    use kit::proxy::{Config, ConflictRule, Proxy};
    let hold = Duration::from_millis(env_usize("BENCH_HOT_HOLD_MS", 10) as u64);
    let rule = Config::default().with_conflicts(ConflictRule { hold });
    let proxy = Proxy::spawn(kit::proxy::upstream_of(&b.endpoint).await?, rule.clone())?;
    let ctx = Ctx::with_now(
        Store::local(&proxy.endpoint(), b.store().table()),
        kit::now(),
    );
    b.rec.set_capture(false);
    let sizes = [8usize, 15, 32, 64];
    let night = |month: &str, d: usize| format!("{month}-{:02}", d % 28 + 1);
    let stay = |month: &str, d: usize, n: usize| {
        let arrival = night(month, d);
        let departure = chrono::NaiveDate::parse_from_str(&arrival, "%Y-%m-%d").unwrap()
            + chrono::Duration::days(n as i64);
        (arrival, departure.to_string())
    };
    let one_night = |month: &str, d: usize| {
        let (a, dep) = stay(month, d, 1);
        kit::pickup_body("dbl", &a, &dep, 1)
    };
    // One allotment per burst size and kind (fresh counters), 100 rooms a night.
    let mut made = 0usize;
    let mut allotment = |units: &'static [&'static str], month: &'static str| {
        made += 1;
        let body = b.body(
            &format!("{month}-01"),
            &format!("{month}-28"),
            units,
            100,
            "2026-08-01",
        );
        let ctx = b.ctx.clone();
        let key = b.key.clone();
        async move {
            kit::create_allotment(&ctx, &key, body).await["allotmentId"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // A pickup alone, with the rule on: the p99 the bursts are held to (≤ 3×).
    let alone_a = allotment(&["dbl"], "2027-02").await;
    let alone = burst(
        &ctx,
        &b.key,
        vec![(0..60)
            .map(|i| (alone_a.clone(), one_night("2027-02", i)))
            .collect()],
    )
    .await?;
    let alone_p99 = pct(&alone.latencies, 99.0);
    out.line("\n## 3b. Hot items: pickup bursts under the real service's conflict rule\n");
    out.line(format!(
        "Through `kit::proxy` in front of DynamoDB Local: with the rule on, a `TransactWriteItems` is in flight from its arrival until its answer and at least {} ms; one touching an item in flight is cancelled at once (`TransactionConflict`), a single write of such an item gets `TransactionConflictException`. Each client sends its pickups one after the other (1 room; the list's stays 1–3 nights), all clients at once; one warm process (one store client). A pickup alone, rule on: p50 {}, p99 {} (the bursts' target: p99 ≤ 3× = {}).\n",
        hold.as_millis(),
        ms(pct(&alone.latencies, 50.0)),
        ms(alone_p99),
        ms(alone_p99 * 3)
    ));
    out.line(
        "| burst | clients | rule | 201 | 503 | other | cancelled by the rule | pickups/s | p50 | p99 | p99 / alone |",
    );
    out.line("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for clients in sizes {
        for on in [true, false] {
            proxy.set_config(if on { rule.clone() } else { Config::default() });
            let label = if on { "on" } else { "off" };
            // 1. clients × 10 pickups on one allotment.
            let a = allotment(&["dbl"], "2027-03").await;
            let jobs = (0..clients)
                .map(|c| {
                    (0..10)
                        .map(|i| (a.clone(), one_night("2027-03", c * 10 + i)))
                        .collect()
                })
                .collect();
            proxy.reset_stats();
            let one = burst(&ctx, &b.key, jobs).await?;
            let one_conflicts = proxy.stats().conflicts_total();
            // 2. clients allotments of one hotel, one client each × 10.
            let mut jobs = Vec::new();
            for c in 0..clients {
                let a = allotment(&["dbl"], "2027-04").await;
                jobs.push(
                    (0..10)
                        .map(|i| (a.clone(), one_night("2027-04", c + i)))
                        .collect(),
                );
            }
            proxy.reset_stats();
            let hotel = burst(&ctx, &b.key, jobs).await?;
            let hotel_conflicts = proxy.stats().conflicts_total();
            // 3. a 150-reservation rooming list on one allotment, shared by the clients.
            let a = allotment(&["dbl", "sgl"], "2027-05").await;
            let mut jobs: Vec<Vec<(String, Value)>> = vec![Vec::new(); clients];
            for r in 0..150usize {
                let (arrival, departure) = stay("2027-05", r * 7 % 26, 1 + r % 3);
                let unit = if r % 4 == 0 { "sgl" } else { "dbl" };
                jobs[r % clients]
                    .push((a.clone(), kit::pickup_body(unit, &arrival, &departure, 1)));
            }
            proxy.reset_stats();
            let list = burst(&ctx, &b.key, jobs).await?;
            let list_conflicts = proxy.stats().conflicts_total();
            for (name, r, conflicts) in [
                (
                    format!("{clients} clients × 10 on one allotment"),
                    one,
                    one_conflicts,
                ),
                (
                    format!("{clients} allotments of one hotel × 10"),
                    hotel,
                    hotel_conflicts,
                ),
                (
                    "150-reservation rooming list".to_string(),
                    list,
                    list_conflicts,
                ),
            ] {
                let p99 = pct(&r.latencies, 99.0);
                out.line(format!(
                    "| {name} | {clients} | {label} | {} | {} | {} | {conflicts} | {:.0} | {} | {} | {:.1} |",
                    r.created,
                    r.unavailable,
                    r.other,
                    r.created as f64 / r.elapsed.as_secs_f64(),
                    ms(pct(&r.latencies, 50.0)),
                    ms(p99),
                    p99.as_secs_f64() / alone_p99.as_secs_f64().max(1e-9),
                ));
            }
        }
    }
    out.line(format!(
        "\n{made} allotments created for the bursts (each burst on fresh ones)."
    ));
    b.rec.set_capture(true);
    Ok(())
}

// ---------------------------------------------------------------- cold start

mod runtime_api {
    //! The part of the Lambda Runtime API a function uses: one event per run.

    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use axum::Router;
    use tokio::sync::mpsc;

    pub struct Run {
        pub event: Vec<u8>,
        pub served: bool,
        pub request_id: String,
        pub done: Option<mpsc::UnboundedSender<Posted>>,
    }

    pub type Shared = Arc<Mutex<Run>>;

    /// When the function posted its answer, and the answer (or its error).
    pub type Posted = (Instant, Result<Vec<u8>, Vec<u8>>);

    pub fn router(state: Shared) -> Router {
        Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state(state)
    }

    async fn next(State(state): State<Shared>) -> axum::response::Response {
        let (event, id) = {
            let mut run = state.lock().unwrap();
            if run.served {
                (None, String::new())
            } else {
                run.served = true;
                (Some(run.event.clone()), run.request_id.clone())
            }
        };
        let Some(event) = event else {
            // One event per process: the next poll waits until the process is killed.
            std::future::pending::<()>().await;
            unreachable!()
        };
        let mut headers = HeaderMap::new();
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        let mut put = |k: &'static str, v: String| {
            headers.insert(k, HeaderValue::from_str(&v).unwrap());
        };
        put("lambda-runtime-aws-request-id", id);
        put("lambda-runtime-deadline-ms", deadline.to_string());
        put(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:bench".into(),
        );
        put(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
        );
        put("content-type", "application/json".into());
        (StatusCode::OK, headers, event).into_response()
    }

    fn finish(state: &Shared, result: Result<Vec<u8>, Vec<u8>>) -> StatusCode {
        let at = Instant::now();
        if let Some(tx) = state.lock().unwrap().done.take() {
            let _ = tx.send((at, result));
        }
        StatusCode::ACCEPTED
    }

    async fn response(State(state): State<Shared>, body: Bytes) -> StatusCode {
        finish(&state, Ok(body.to_vec()))
    }

    async fn error(State(state): State<Shared>, body: Bytes) -> StatusCode {
        finish(&state, Err(body.to_vec()))
    }
}

/// One cold start: exec → response posted.
async fn cold_start(
    state: &runtime_api::Shared,
    port: u16,
    binary: &Path,
    function_name: &str,
    event: &[u8],
    env: &[(&str, String)],
    expect: u64,
) -> Res<Duration> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    {
        let mut run = state.lock().unwrap();
        run.event = event.to_vec();
        run.served = false;
        run.request_id = Uuid::new_v4().to_string();
        run.done = Some(tx);
    }
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let got = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
    let _ = child.kill().await;
    let (at, result) = got
        .map_err(|_| format!("{function_name}: no response within 30 s"))?
        .ok_or("runtime API closed")?;
    let body = result.map_err(|e| {
        format!(
            "{function_name} posted an error: {}",
            String::from_utf8_lossy(&e)
        )
    })?;
    let resp: Value = serde_json::from_slice(&body)?;
    let status = resp["statusCode"].as_u64().unwrap_or(0);
    if status != expect {
        return Err(format!("{function_name} answered {status}, not {expect}").into());
    }
    Ok(at - started)
}

fn zipped_size(binary: &Path) -> Res<u64> {
    let zip = std::env::temp_dir().join(format!("bench-{}.zip", Uuid::new_v4().simple()));
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], 'bootstrap')",
        ])
        .arg(binary)
        .arg(&zip)
        .status()?;
    if !status.success() {
        return Err("python3 zipfile failed".into());
    }
    let size = std::fs::metadata(&zip)?.len();
    std::fs::remove_file(&zip)?;
    Ok(size)
}

async fn cold_starts(b: &Bench, bin_dir: &Path, out: &mut Out) -> Res<()> {
    let runs = env_usize("BENCH_COLD_RUNS", 20);
    let create_bin = bin_dir.join("create-allotment");
    let hello_bin = bin_dir.join("hello-lambda");
    for bin in [&create_bin, &hello_bin] {
        if !bin.exists() {
            return Err(format!("{} is missing: build it in release first", bin.display()).into());
        }
    }

    // A table of its own, with a key and an establishment stocked a year ahead of
    // today (the functions run on the real clock).
    let table = format!("bench-cold-{}", Uuid::new_v4().simple());
    let store = Store::local(&b.endpoint, &table);
    store.ensure_table().await?;
    let key = kit::key(&store, TENANT).await;
    let est = kit::establishment(&store, TENANT).await;
    let year = chrono::Utc::now().date_naive().format("%Y").to_string();
    let next: i32 = year.parse::<i32>()? + 1;
    let (from, to) = (format!("{next}-09-01"), format!("{next}-09-07"));
    kit::inventory(&store, TENANT, est, "dbl", &from, &to, 100_000).await;
    let mut body = kit::allotment_body(est);
    body["periodFrom"] = json!(from);
    body["periodTo"] = json!(to);
    body["cutoffDate"] = json!(format!("{next}-08-01"));
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let sample = std::fs::read_to_string(kit::events_dir().join("create-allotment.json"))?;
    let mut event: Value = serde_json::from_str(&sample)?;
    event["headers"]["x-api-key"] = json!(key);
    event["headers"]
        .as_object_mut()
        .ok_or("event headers")?
        .remove("content-length");
    event["body"] = json!(body.to_string());
    event["isBase64Encoded"] = json!(false);
    // The same request without its key: answered 401 before any DynamoDB call, so
    // this run is process start, runtime and client setup only.
    let mut keyless = event.clone();
    keyless["headers"]
        .as_object_mut()
        .ok_or("event headers")?
        .remove("x-api-key");
    let keyless = serde_json::to_vec(&keyless)?;
    let event = serde_json::to_vec(&event)?;

    let state: runtime_api::Shared = Arc::new(Mutex::new(runtime_api::Run {
        event: Vec::new(),
        served: false,
        request_id: String::new(),
        done: None,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let router = runtime_api::router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let env = [
        ("TABLE_NAME", table.clone()),
        ("DYNAMODB_ENDPOINT", b.endpoint.clone()),
    ];
    // Alternate the two binaries so that both see the same machine state.
    let (mut create, mut hello, mut unauth) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        hello.push(cold_start(&state, port, &hello_bin, "hello-lambda", &event, &env, 200).await?);
        create.push(
            cold_start(
                &state,
                port,
                &create_bin,
                "create-allotment",
                &event,
                &env,
                201,
            )
            .await?,
        );
        unauth.push(
            cold_start(
                &state,
                port,
                &create_bin,
                "create-allotment",
                &keyless,
                &env,
                401,
            )
            .await?,
        );
    }
    server.abort();
    create.sort();
    hello.sort();
    unauth.sort();
    let r = ratio(pct(&create, 50.0), pct(&hello, 50.0));
    out.line("\n## 4. Cold start and package size\n");
    out.line(format!("Each binary is started {runs} times under a minimal Lambda Runtime API served by the bench, with one API Gateway v2 event (a real `POST /v1/allotments` with a valid key, which `create-allotment` carries out against DynamoDB Local; the hello world answers 200 to it). Time from spawn to the response posted; the process is then killed. In ms.\n"));
    out.line("| Binary | p50 | min | max | Size | Zipped (`bootstrap`, deflate) |");
    out.line("|---|---:|---:|---:|---:|---:|");
    for (name, bin, times) in [
        (
            "create-allotment (real create: 3 DynamoDB requests)",
            &create_bin,
            &create,
        ),
        (
            "create-allotment (no key: 401, no DynamoDB request)",
            &create_bin,
            &unauth,
        ),
        ("hello-lambda (lambda_http hello world)", &hello_bin, &hello),
    ] {
        let size = std::fs::metadata(bin)?.len();
        let zipped = zipped_size(bin)?;
        out.line(format!(
            "| {name} | {} | {} | {} | {:.2} MB | {:.2} MB ({zipped} bytes) |",
            ms(pct(times, 50.0)),
            ms(times[0]),
            ms(times[times.len() - 1]),
            size as f64 / 1e6,
            zipped as f64 / 1e6,
        ));
    }
    let zipped = zipped_size(&create_bin)? as f64 / 1e6;
    out.line(format!(
        "\nCold start ratio (p50 create-allotment, real create / p50 hello world): **{r:.2}** (target ≤ 1.5: {}); without the request's DynamoDB work (401): {:.2}. Zipped create-allotment: **{zipped:.2} MB** (target ≤ 6 MB: {}).",
        verdict(r <= 1.5),
        ratio(pct(&unauth, 50.0), pct(&hello, 50.0)),
        verdict(zipped <= 6.0)
    ));
    Ok(())
}

// ---------------------------------------------------------------- cutoff at scale

/// A minimal HTTP/1.1 POST to the local server: (status, JSON body).
async fn post(port: u16, path: &str, body: &[u8]) -> Res<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("a full response")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("a status line")?;
    Ok((status, serde_json::from_str(body)?))
}

/// N allotments (`BENCH_CUTOFF_N`, default 20,000) due at one local midnight, spread
/// over hotels of one group (200 contracts each, Paris time), released through the local
/// event route: the scheduled run and its in-process queue drained by the worker's
/// handler, as `make dev` serves it.
/// `BENCH_ONLY=steps`: requests too big for one transaction (`domain::steps`), each
/// through its function on a table of its own, timed end to end (one run each).
async fn holds_in_steps(out: &mut Out) -> Res<()> {
    use kit::TestRequest;
    out.line("\n## 6. Holds in steps: the largest requests the contract allows\n");
    out.line("Each request once, through its function (release build) on DynamoDB Local; the time is the whole request (reads, steps 4 at a time, commit, forward steps).\n");
    out.line("| request | nights × unit types | ms | answer |");
    out.line("|---|---:|---:|---:|");
    let a = kit::bare_acme().await;
    let (from, to) = ("2026-09-01", "2028-08-31");
    for i in 0..50 {
        a.inventory(&format!("u{i:02}"), from, to, 200).await;
    }
    let units = |n: usize, q: i64| -> serde_json::Value {
        json!((0..n)
            .map(|i| json!({"unitTypeId": format!("u{i:02}"), "quantity": q}))
            .collect::<Vec<_>>())
    };
    let mut timed = |name: &str, size: &str, status: u16, took: Duration| {
        out.line(format!(
            "| {name} | {size} | {:.0} | {status} |",
            took.as_secs_f64() * 1e3
        ));
    };
    // Allotments: a year of 12 unit types, then the maximum.
    for (n, until, nights) in [(12, "2027-08-31", 365), (50, to, 731)] {
        let body = kit::with(
            kit::allotment_body(a.est),
            json!({"periodFrom": from, "periodTo": until, "unitAllocations": units(n, 2)}),
        );
        let size = format!("{nights} × {n}");
        let t = Instant::now();
        let r = a
            .call(
                TestRequest::event("create-allotment").json(body),
                &create_allotment::FUNCTION,
            )
            .await;
        timed("create an allotment", &size, r.status, t.elapsed());
        let id = r.data()["allotmentId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (name, req, function) = if n == 12 {
            ("cancel it", "cancel-allotment", &cancel_allotment::FUNCTION)
        } else {
            (
                "release it",
                "release-allotment",
                &release_allotment::FUNCTION,
            )
        };
        let t = Instant::now();
        let r = a
            .call(
                TestRequest::on_allotment(req, &id).json(json!({})),
                function,
            )
            .await;
        timed(name, &size, r.status, t.elapsed());
    }
    // A group of 100 members over a year: create, replace 60 of them, delete.
    let mut members = Vec::new();
    for _ in 0..160 {
        let body = json!({"periodFrom": from, "periodTo": "2027-08-31",
                          "unitAllocations": [{"unitTypeId": "u00", "quantity": 1}]});
        members.push(a.allotment(body).await);
    }
    let group = json!({"establishmentId": a.est.to_string(), "name": "Tour operators",
        "periodFrom": from, "periodTo": "2027-08-31", "unitAllocations": units(1, 5),
        "cutoffDate": "2026-08-25", "allotmentIds": members[..100]});
    let t = Instant::now();
    let r = a
        .call(
            TestRequest::event("create-capacity-group").json(group),
            &create_capacity_group::FUNCTION,
        )
        .await;
    timed(
        "create a group of 100 members",
        "365 × 1",
        r.status,
        t.elapsed(),
    );
    let gid = r.data()["capacityGroupId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let next: Vec<&String> = members[..40].iter().chain(&members[100..]).collect();
    let t = Instant::now();
    let r = a
        .call(
            TestRequest::on_group("patch-capacity-group", &gid).json(json!({"allotmentIds": next})),
            &patch_capacity_group::FUNCTION,
        )
        .await;
    timed(
        "replace 60 of its members",
        "365 × 1",
        r.status,
        t.elapsed(),
    );
    let t = Instant::now();
    let r = a
        .call(
            TestRequest::on_group("delete-capacity-group", &gid),
            &delete_capacity_group::FUNCTION,
        )
        .await;
    timed("delete it", "365 × 1", r.status, t.elapsed());
    Ok(())
}

async fn cutoff_at_scale(b: &Bench, out: &mut Out) -> Res<()> {
    let n = env_usize("BENCH_CUTOFF_N", 20_000).max(1);
    let per_hotel = 200;
    let hotels = n.div_ceil(per_hotel);
    let rec = Recorder::default();
    let table = format!("bench-cutoff-{}", Uuid::new_v4().simple());
    let store = Store::new(client(&b.endpoint, &rec), &table);
    store.ensure_table().await?;
    let ctx = Ctx::with_now(store.clone(), kit::now());
    let key = kit::key(&store, TENANT).await;

    // Setup: the hotels, their rooms, the contracts (through create-allotment, 16 at a time).
    let setup = Instant::now();
    let mut bodies = Vec::with_capacity(n);
    let mut ests = Vec::with_capacity(hotels);
    for h in 0..hotels {
        let est = kit::establishment(&store, TENANT).await;
        ests.push(est);
        kit::inventory(
            &store,
            TENANT,
            est,
            "dbl",
            "2026-09-01",
            "2026-09-07",
            1_000,
        )
        .await;
        let mut body = kit::allotment_body(est);
        body["releaseDays"] = json!(null);
        body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
        for _ in 0..per_hotel.min(n - h * per_hotel) {
            bodies.push(body.clone());
        }
    }
    let queue = Arc::new(Mutex::new(bodies));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (ctx, key, queue) = (ctx.clone(), key.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut created = 0;
            while let Some(body) = {
                let next = queue.lock().unwrap().pop();
                next
            } {
                let req = TestRequest::event("create-allotment")
                    .json(body)
                    .key(&key)
                    .into_request();
                let resp = dispatch(&create_allotment::FUNCTION, &ctx, req).await;
                if resp.status() == 201 {
                    created += 1;
                }
            }
            created
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await?;
    }
    if created != n {
        return Err(format!("cutoff bench: {created} of {n} allotments created").into());
    }
    let setup = setup.elapsed();
    rec.take();

    // The local server, as `make dev` runs it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(local_server::serve(listener, ctx.clone()));
    let midnight =
        chrono::DateTime::parse_from_rfc3339("2026-08-01T22:00:00Z")?.with_timezone(&chrono::Utc);
    let event = |t: chrono::DateTime<chrono::Utc>| {
        json!({"time": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "detail-type": "Scheduled Event",
               "source": "aws.events", "detail": {}})
        .to_string()
    };
    // The run of the minute before sets the watermark (a steady state: nothing due yet).
    let (status, _) = post(
        port,
        "/_local/events/cutoff-release",
        event(midnight - chrono::Duration::minutes(1)).as_bytes(),
    )
    .await?;
    if status != 200 {
        return Err(format!("cutoff warm-up run answered {status}").into());
    }
    rec.take();
    // Every run until all are released: the deployed schedule's runs of minutes 0, 1, ...
    let mut released = 0u64;
    let mut runs = Vec::new();
    let started = Instant::now();
    // The runs' answers may count short: a transaction the client gave up on (its
    // timeout) can still commit in DynamoDB Local, and the retry then finds nothing
    // due. So a run that releases nothing ends the loop, and the stored state (checked
    // below) is what counts.
    while released < n as u64 && runs.len() < 10 {
        let t = Instant::now();
        let at = midnight + chrono::Duration::minutes(runs.len() as i64);
        let (status, body) =
            post(port, "/_local/events/cutoff-release", event(at).as_bytes()).await?;
        if status != 200 {
            return Err(format!("cutoff run answered {status}: {body}").into());
        }
        let this_run = body["data"]["allotmentsReleased"].as_u64().unwrap_or(0);
        if this_run == 0 && !runs.is_empty() {
            break;
        }
        released += this_run;
        runs.push(t.elapsed());
    }
    let unanswered = n as u64 - released.min(n as u64);
    let total = started.elapsed();
    let (_, release_counts) = rec.take();
    // An idle run (nothing due) a few minutes later: the fixed cost of every minute.
    let (status, _) = post(
        port,
        "/_local/events/cutoff-release",
        event(midnight + chrono::Duration::minutes(15)).as_bytes(),
    )
    .await?;
    let (_, idle) = rec.take();
    server.abort();
    if status != 200 {
        return Err(format!("cutoff bench: the idle run answered {status}").into());
    }

    // Invariants: every allotment released, every hotel's pool whole again, one
    // "released at cutoff" entry per allotment (on a sample of 500).
    let t = kit::tenant(TENANT);
    let mut ids = Vec::new();
    for est in &ests {
        let pool = kit::pool_nights(&store, TENANT, *est, "2026-09-01", "2026-09-07").await;
        if pool.iter().any(|(_, _, night)| night.allotted != 0) {
            return Err(format!("cutoff bench: hotel {est} has rooms still allotted").into());
        }
        let mut after: Option<String> = None;
        let mut first = true;
        while first || after.is_some() {
            first = false;
            let (page, next) = store
                .list_allotments(&t, *est, &Default::default(), 100, after.as_deref())
                .await?;
            if let Some(r) = page.iter().find(|r| r.status.as_str() != "released") {
                return Err(
                    format!("cutoff bench: {} is {}", r.allotment_id, r.status.as_str()).into(),
                );
            }
            ids.extend(page.iter().map(|r| r.allotment_id));
            after = next;
        }
    }
    if ids.len() != n {
        return Err(format!("cutoff bench: {} allotments listed", ids.len()).into());
    }
    for id in ids.iter().step_by((n / 500).max(1)) {
        let cutoffs = kit::allocation_history(&store, &t, *id)
            .await?
            .iter()
            .filter(|e| e.memo.as_deref() == Some("released at cutoff"))
            .count();
        if cutoffs != 1 {
            return Err(format!("cutoff bench: {id} has {cutoffs} cutoff entries").into());
        }
    }
    let lateness =
        (runs.len() as u64 - 1) as f64 * 60.0 + runs.last().map_or(0.0, |d| d.as_secs_f64());
    let rate = n as f64 / total.as_secs_f64();
    let per_release = release_counts.total() as f64 / n as f64;
    let idle_month = idle.total() * 30 * 24 * 60;
    out.line("\n## 5. Cutoff at scale\n");
    out.line(format!("{n} allotments (7 nights, 1 room each; {hotels} hotels of {per_hotel} contracts, Europe/Paris) due at one local midnight (2 Aug 00:00 = 1 Aug 22:00Z), released through `POST /_local/events/cutoff-release` (the scheduled run keeps {} and hands the rest to the in-process queue drained by `cutoff-release-worker`'s handler). Setup (creating them) took {:.0} s.\n", cutoff_release::DEFAULT_INLINE, setup.as_secs_f64()));
    out.line("| Figure | Value | Target | |");
    out.line("|---|---:|---|---|");
    out.line(format!(
        "| releases per second (all {n}, wall clock) | {rate:.0} | | |"
    ));
    out.line(format!(
        "| releases committed whose run's answer did not count them (a transaction the client gave up on, committed later; the stored state is checked) | {unanswered} | | |"
    ));
    out.line(format!(
        "| runs (deliveries of the scheduled event) | {} | 1-2 | {} |",
        runs.len(),
        verdict(runs.len() <= 2)
    ));
    out.line(format!("| modelled lateness of the last release on the deployed schedule (every minute; the event of the moment's own minute) | {lateness:.1} s | ≤ 60 s | {} |", verdict(lateness <= 60.0)));
    out.line(format!(
        "| DynamoDB requests per release ({}) | {per_release:.2} | | |",
        release_counts.detail()
    ));
    out.line(format!(
        "| an idle run: DynamoDB requests ({}) | {} | | |",
        idle.detail(),
        idle.total()
    ));
    out.line(format!(
        "| idle runs every minute for 30 days: DynamoDB requests | {idle_month} | | |"
    ));
    out.line("\nLateness model: the run of minute k (k = 0 at the moment) starts k minutes after it, plus EventBridge's delivery delay of the minute's event (not modelled); the last release comes (runs - 1) minutes plus the last run's duration after the moment. Locally a run takes the whole backlog (the queue is drained in process before it answers); deployed, the run keeps its first 1,000 and the workers take the rest in parallel.");
    Ok(())
}

// ---------------------------------------------------------------- machine

fn command_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn machine(out: &mut Out) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .unwrap_or("?")
        .trim_matches('"')
        .to_string();
    out.line("## Machine\n");
    out.line(format!(
        "- CPUs: {} ({model})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    out.line(format!("- Memory: {:.1} GiB", mem_kb / 1024.0 / 1024.0));
    out.line(format!(
        "- OS: {os}, kernel {}",
        command_line("uname", &["-r"])
    ));
    out.line(format!("- {}", command_line("rustc", &["-V"])));
    out.line(format!(
        "- DynamoDB Local 11.1.0 on {}",
        command_line("java", &["-version"])
    ));
    out.line(format!(
        "- Bench binary: {} profile",
        if cfg!(debug_assertions) {
            "dev (debug)"
        } else {
            "release"
        }
    ));
    out.line("");
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn main_inner() -> Res<()> {
    // The functions' JSON logs (as `shared::http::runtime::init_tracing`), formatted
    // and thrown away: logging is part of the handler's cost.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .with_writer(std::io::sink)
        .try_init();
    let endpoint = kit::endpoint();
    let bin_dir = std::env::current_exe()?
        .parent()
        .ok_or("no bin dir")?
        .to_path_buf();
    let mut out = Out::default();
    out.line(format!(
        "# Benchmark figures ({})\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    ));
    machine(&mut out);
    let b = Bench::new(&endpoint).await?;
    let sections: [&str; 6] = ["overhead", "contention", "hot", "cold", "cutoff", "steps"];
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for s in sections {
        if !only.is_empty() && !only.split(',').any(|o| o == s) {
            continue;
        }
        match s {
            "overhead" => overhead_and_round_trips(&b, &mut out).await?,
            "contention" => contention(&b, &mut out).await?,
            "hot" => hot_items(&b, &mut out).await?,
            "cutoff" => cutoff_at_scale(&b, &mut out).await?,
            "steps" => holds_in_steps(&mut out).await?,
            _ => cold_starts(&b, &bin_dir, &mut out).await?,
        }
    }
    let path = repo_root().join(".local/bench-figures.md");
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(&path, &out.0)?;
    eprintln!("\nfigures written to {}", path.display());
    Ok(())
}

fn main() -> Res<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(main_inner())
}
