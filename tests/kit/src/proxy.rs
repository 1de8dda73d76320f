//! The DynamoDB fault proxy: an HTTP/1.1 proxy between a store client and DynamoDB
//! Local that brings back two behaviours DynamoDB Local hides: **answers lost on the
//! network** (or late, or requests never delivered) and the real service's
//! **`TransactionConflict`** rule.
//!
//! # Use
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::time::Duration;
//! use kit::proxy::{Config, ConflictRule, Fault, Proxy};
//!
//! let config = Config::faults(7, 0.25, &[Fault::Drop, Fault::LoseAnswer, Fault::Delay(Duration::from_secs(4))])
//!     .only(kit::proxy::WRITE_OPERATIONS)
//!     .with_conflicts(ConflictRule::default());
//! let proxy = Proxy::start_at(&std::env::var("DYNAMODB_ENDPOINT").unwrap(), config).await?;
//! let store = shared::store::Store::local(&proxy.endpoint(), "some-table");
//! // ... the workload, through `store` ...
//! proxy.set_config(Config::default()); // faults off for the final check
//! println!("{}", proxy.stats());       // requests, faults injected, conflicts raised
//! # Ok(()) }
//! ```
//!
//! The proxy listens on `127.0.0.1:<free port>` ([`Proxy::endpoint`]), reads each HTTP
//! request of each client connection (keep-alive: many requests per connection), and
//! forwards it unchanged on an upstream connection of its own to DynamoDB Local; the
//! answer (`Content-Length`, chunked, or until close) goes back unchanged. The operation
//! is the suffix of the `X-Amz-Target` header (`DynamoDB_20120810.TransactWriteItems` →
//! `TransactWriteItems`). Dropping the [`Proxy`] stops it and closes its connections.
//! [`Proxy::set_config`] changes the faults and the rule while it runs.
//!
//! # Faults
//!
//! Each request (numbered from 0 in arrival order since the proxy started) gets, with
//! probability [`Config::fault_rate`], one of [`Config::kinds`] (each equally likely;
//! repeat a kind to weigh it), if its operation is one of [`Config::only_operations`]:
//!
//! - [`Fault::Drop`]: the request is read, never forwarded, and the client connection is
//!   closed. Nothing is applied; the client sees the connection close without an answer.
//! - [`Fault::LoseAnswer`]: the request is forwarded and its whole answer read (so a
//!   write **is applied**), then the client connection is closed without an answer.
//! - [`Fault::Delay`]: forwarded, and the answer held back that long before it is sent
//!   (if the client is still there: past the SDK's attempt timeout it has gone, and the
//!   write was applied nonetheless).
//!
//! The choice for request `n` depends only on the seed and `n` ([`Config::decide`]), so
//! the same seed and the same sequence of requests give the same faults (concurrent
//! clients make the arrival order, hence the sequence, vary from run to run).
//! [`Config::max_faults`] stops injecting after that many faults (e.g. "lose exactly one
//! answer"). [`Proxy::stats`] counts requests, faults by kind and operation, and
//! conflicts; [`Proxy::fault_log`] lists every fault injected.
//!
//! What the AWS SDK does with them (measured by this crate's tests against DynamoDB
//! Local, the project's client settings: standard retries, 3 attempts): a dropped
//! request and a lost answer both show as `SdkError::DispatchFailure` (hyper's
//! `IncompleteMessage`, classified transient), so **the SDK sends the request again**,
//! up to its attempts. A `TransactWriteItems` keeps its auto-filled `ClientRequestToken`
//! across those attempts, and DynamoDB Local, like the service, answers a repeat within
//! 10 minutes as the commit it was: after a lost answer the retry succeeds and nothing
//! is applied twice. Single writes have no token: a conditional `PutItem` retried after
//! a lost answer fails its condition on its own write (`ConditionalCheckFailed` for a
//! write that was applied), and an unconditional `UpdateItem ADD` is applied once per
//! attempt (three lost answers: an error for the caller and three increments). A delay
//! past the attempt timeout is `SdkError::TimeoutError` after every attempt timed out;
//! each of them was applied.
//!
//! # The conflict rule ([`Config::conflicts`])
//!
//! The real service runs transactions concurrently and cancels those that meet: a
//! `TransactWriteItems` is *in flight* from its arrival until its answer is sent, and no
//! shorter than [`ConflictRule::hold`] (10 ms by default, the time a real two-phase
//! commit takes). While it is in flight:
//!
//! - another `TransactWriteItems` that touches (`Put`, `Update`, `Delete`,
//!   `ConditionCheck`) one of its items is cancelled at once, without being forwarded:
//!   HTTP 400 `TransactionCanceledException` with `CancellationReasons` in action order,
//!   `TransactionConflict` for each item in flight and `None` for the others;
//! - a `PutItem`, `UpdateItem` or `DeleteItem` of one of its items gets HTTP 400
//!   `TransactionConflictException`, without being forwarded;
//! - a `TransactWriteItems` repeating its `ClientRequestToken` gets
//!   `TransactionInProgressException` (the SDK retries that one itself).
//!
//! A `TransactWriteItems` repeating the `ClientRequestToken` of one that committed in the
//! last 10 minutes is forwarded without the rule (not cancelled, not held): the service
//! finds the token in its ledger before it touches any item, and DynamoDB Local answers
//! the repeat as the commit it was, without applying it again. (That the service looks
//! the token up before the conflict check is our reading of how its coordinator works;
//! the documentation only says a repeat within 10 minutes is answered as the original.)
//!
//! An item is its table name and full key: the `Key` of an `Update`, `Delete`,
//! `ConditionCheck`, `UpdateItem` or `DeleteItem`, the `PK` and `SK` attributes of the
//! `Item` of a `Put` or `PutItem`. The answers have the JSON shape and the headers
//! DynamoDB returns (`__type` `com.amazonaws.dynamodb.v20120810#…`, the service's
//! message texts, the same keys as DynamoDB Local's own cancellations; `x-amzn-RequestId`,
//! `x-amz-crc32`), so the SDK yields
//! `TransactWriteItemsError::TransactionCanceledException` with the reason codes and
//! `PutItemError`/`UpdateItemError`/`DeleteItemError::TransactionConflictException`.
//! Every transaction is held for `hold`, whatever its outcome (a false condition too).
//! The window ends when the answer would be sent: the network faults above happen after
//! it (a lost or delayed answer does not keep items in flight).
//!
//! Not emulated: `TransactGetItems` (cancelled by the service when it meets a write in
//! flight) and `BatchWriteItem` are forwarded without the rule; throttling. Plain reads
//! (`GetItem`, `Query`, `BatchGetItem`) never conflict, as on the service.
//!
//! # In a test
//!
//! Start the proxy on `DYNAMODB_ENDPOINT` ([`Proxy::start_at`]), build the store or
//! server on [`Proxy::endpoint`], run the workload, then [`Proxy::set_config`] with
//! `Config::default()` to check the outcome through the same path without faults, and
//! print [`Proxy::stats`]. [`Proxy::in_flight`] lets a test wait until a transaction is
//! in flight before it sends the one meant to conflict; a long `hold` (a second) makes
//! such a test deterministic.

mod http;
mod rule;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use http::{json_response, Conn, Message};
use rule::{InFlight, Verdict, Write};

/// The operations that write items, for [`Config::only`].
pub const WRITE_OPERATIONS: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
];

/// One fault, applied to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Close the client connection without forwarding: nothing applied, no answer.
    Drop,
    /// Forward, read the whole answer (the write is applied), close without answering.
    LoseAnswer,
    /// Forward, then hold the answer this long before sending it.
    Delay(Duration),
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Drop => FaultKind::Drop,
            Fault::LoseAnswer => FaultKind::LoseAnswer,
            Fault::Delay(_) => FaultKind::Delay,
        }
    }
}

/// A [`Fault`] without its parameters, to count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    Drop,
    LoseAnswer,
    Delay,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::Drop => "drop",
            FaultKind::LoseAnswer => "lose-answer",
            FaultKind::Delay => "delay",
        })
    }
}

/// The real service's transaction conflict rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictRule {
    /// The shortest time a `TransactWriteItems` stays in flight.
    pub hold: Duration,
}

impl Default for ConflictRule {
    fn default() -> Self {
        ConflictRule {
            hold: Duration::from_millis(10),
        }
    }
}

/// What the proxy does to the requests it forwards. `Config::default()` forwards
/// everything unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Seeds the fault choices ([`Config::decide`]).
    pub seed: u64,
    /// Probability, 0 to 1, that a request gets a fault.
    pub fault_rate: f64,
    /// The faults to choose from, each equally likely. Empty: no faults.
    pub kinds: Vec<Fault>,
    /// Only requests of these operations (`PutItem`, `TransactWriteItems`, ...) get
    /// faults; `None`: every operation.
    pub only_operations: Option<Vec<String>>,
    /// At most this many faults under this configuration (counted from the start or the
    /// last [`Proxy::set_config`]); `None`: no limit.
    pub max_faults: Option<u64>,
    /// The transaction conflict rule; `None`: off (DynamoDB Local's behaviour).
    pub conflicts: Option<ConflictRule>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            fault_rate: 0.0,
            kinds: Vec::new(),
            only_operations: None,
            max_faults: None,
            conflicts: None,
        }
    }
}

impl Config {
    /// Faults of `kinds` on a share `rate` of the requests, seeded.
    pub fn faults(seed: u64, rate: f64, kinds: &[Fault]) -> Self {
        Config {
            seed,
            fault_rate: rate,
            kinds: kinds.to_vec(),
            ..Config::default()
        }
    }

    /// Faults only on these operations.
    pub fn only(mut self, operations: &[&str]) -> Self {
        self.only_operations = Some(operations.iter().map(|o| o.to_string()).collect());
        self
    }

    /// At most `n` faults.
    pub fn max_faults(mut self, n: u64) -> Self {
        self.max_faults = Some(n);
        self
    }

    /// With the transaction conflict rule.
    pub fn with_conflicts(mut self, rule: ConflictRule) -> Self {
        self.conflicts = Some(rule);
        self
    }

    /// The fault request number `request` of operation `operation` gets (before
    /// [`Config::max_faults`]): a function of the seed and the request number only.
    pub fn decide(&self, request: u64, operation: &str) -> Option<Fault> {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        seed[8..16].copy_from_slice(&request.to_le_bytes());
        let mut rng = rand::rngs::StdRng::from_seed(seed);
        // Always two draws, whatever the configuration, so that request n's choice does
        // not depend on the requests before it.
        let roll: f64 = rng.gen();
        let pick: usize = rng.gen_range(0..self.kinds.len().max(1));
        let applies = self
            .only_operations
            .as_ref()
            .is_none_or(|ops| ops.iter().any(|o| o == operation));
        (applies && roll < self.fault_rate)
            .then(|| self.kinds.get(pick).copied())
            .flatten()
    }
}

/// One fault injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    /// The request's number (from 0, in arrival order since the proxy started).
    pub request: u64,
    pub operation: String,
    pub fault: Fault,
}

/// What the proxy saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received, faults and conflicts included.
    pub requests: u64,
    /// Client connections accepted.
    pub connections: u64,
    /// Requests by operation.
    pub operations: BTreeMap<String, u64>,
    /// Faults injected, by kind, then by operation.
    pub faults: BTreeMap<FaultKind, BTreeMap<String, u64>>,
    /// Conflicts raised by the rule, by operation: `TransactWriteItems` cancelled with
    /// `TransactionConflict`, `PutItem`/`UpdateItem`/`DeleteItem` answered
    /// `TransactionConflictException`.
    pub conflicts: BTreeMap<String, u64>,
    /// Transactions answered `TransactionInProgressException`.
    pub in_progress: u64,
    /// Requests the proxy could not forward or whose answer it could not read
    /// (DynamoDB Local unreachable): the client connection was closed.
    pub upstream_failures: u64,
}

impl Stats {
    pub fn faults_total(&self) -> u64 {
        self.faults.values().flat_map(|ops| ops.values()).sum()
    }

    pub fn faults_of(&self, kind: FaultKind) -> u64 {
        self.faults.get(&kind).map_or(0, |ops| ops.values().sum())
    }

    /// Faults of `kind` on `operation`.
    pub fn faults_on(&self, kind: FaultKind, operation: &str) -> u64 {
        self.faults
            .get(&kind)
            .and_then(|ops| ops.get(operation))
            .copied()
            .unwrap_or(0)
    }

    pub fn conflicts_total(&self) -> u64 {
        self.conflicts.values().sum()
    }
}

fn by_operation(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Stats {
    /// `requests 12 on 3 connections (GetItem 4, PutItem 8); faults 2: drop 1 (PutItem 1), ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requests {} on {} connections ({}); faults {}",
            self.requests,
            self.connections,
            by_operation(&self.operations),
            self.faults_total()
        )?;
        for (kind, ops) in &self.faults {
            write!(
                f,
                ", {kind} {} ({})",
                ops.values().sum::<u64>(),
                by_operation(ops)
            )?;
        }
        write!(
            f,
            "; conflicts {} ({}); in progress {}; upstream failures {}",
            self.conflicts_total(),
            by_operation(&self.conflicts),
            self.in_progress,
            self.upstream_failures
        )
    }
}

/// A running proxy. Dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
    /// Stops the proxy's own thread ([`Proxy::spawn`]) when dropped.
    _thread: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
}

struct State {
    config: Config,
    faults_under_config: u64,
    next_request: u64,
    stats: Stats,
    log: Vec<FaultEvent>,
    in_flight: InFlight,
}

/// The fault log keeps this many events (the counts in [`Stats`] go on).
const MAX_LOG: usize = 100_000;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` (DynamoDB Local's address) on 127.0.0.1, on a free
    /// port. Must be called inside a Tokio runtime, which then runs the proxy.
    pub async fn start(upstream: SocketAddr, config: Config) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State {
                config,
                faults_under_config: 0,
                next_request: 0,
                stats: Stats::default(),
                log: Vec::new(),
                in_flight: InFlight::default(),
            }),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            addr,
            shared,
            accept,
            _thread: None,
        })
    }

    /// Like [`Proxy::start`], on a thread and runtime of its own: callable with or
    /// without a runtime (it blocks the caller while it binds), and the proxy outlives
    /// the caller's runtime (e.g. one proxy kept in a `static` for many
    /// `#[tokio::test]`s, each with its runtime) and does not compete with the caller's
    /// tasks for the caller's worker threads.
    pub fn spawn(upstream: SocketAddr, config: Config) -> io::Result<Proxy> {
        let (ready, started) = std::sync::mpsc::channel::<io::Result<Proxy>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let proxy = Proxy::start(upstream, config).await;
                    let running = proxy.is_ok();
                    let _ = ready.send(proxy);
                    if running {
                        // Until the Proxy is dropped; the runtime then drops its tasks.
                        let _ = stopped.await;
                    }
                });
            })?;
        let mut proxy = started
            .recv()
            .map_err(|_| io::Error::other("the proxy thread stopped"))??;
        proxy._thread = Some(stop);
        Ok(proxy)
    }

    /// Like [`Proxy::start`], to an endpoint URL such as `http://127.0.0.1:8000` (the
    /// form of `DYNAMODB_ENDPOINT`).
    pub async fn start_at(endpoint: &str, config: Config) -> io::Result<Proxy> {
        Proxy::start(upstream_of(endpoint).await?, config).await
    }

    /// `http://127.0.0.1:<port>`: the endpoint to build a store client with.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> Config {
        self.shared.lock().config.clone()
    }

    /// Replaces the configuration for the requests that arrive from now on (requests
    /// being handled keep theirs; transactions in flight stay in flight).
    pub fn set_config(&self, config: Config) {
        let mut state = self.shared.lock();
        state.config = config;
        state.faults_under_config = 0;
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Every fault injected (the first 100 000), in the order they were decided.
    pub fn fault_log(&self) -> Vec<FaultEvent> {
        self.shared.lock().log.clone()
    }

    /// Zeroes the statistics and the fault log (request numbers go on).
    pub fn reset_stats(&self) {
        let mut state = self.shared.lock();
        state.stats = Stats::default();
        state.log.clear();
    }

    /// `TransactWriteItems` in flight now (under the conflict rule).
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight.transactions()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a JoinSet): they stop with it.
        self.accept.abort();
    }
}

/// The socket address of an endpoint URL (`http://host:port[/...]`).
pub async fn upstream_of(endpoint: &str) -> io::Result<SocketAddr> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "endpoint is not http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    tokio::net::lookup_host(authority)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "endpoint does not resolve"))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.lock().stats.connections += 1;
                    conns.spawn(serve(shared.clone(), stream));
                }
                // E.g. out of file descriptors: wait for connections to end.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// A transaction's items in flight; dropping it (answer sent, or the task stopped)
/// takes them out.
struct InFlightGuard {
    shared: Arc<Shared>,
    write: Write,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.shared.lock().in_flight.end(&self.write);
    }
}

fn operation(req: &Message) -> String {
    req.header("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .filter(|op| !op.is_empty())
        .unwrap_or("?")
        .to_string()
}

/// What the proxy decided for one request.
struct Plan {
    fault: Option<Fault>,
    rule: Option<ConflictRule>,
}

impl Shared {
    /// Counts a request and decides its fault.
    fn begin(&self, op: &str) -> Plan {
        let mut state = self.lock();
        let n = state.next_request;
        state.next_request += 1;
        state.stats.requests += 1;
        *state.stats.operations.entry(op.to_string()).or_default() += 1;
        let budget_left = state
            .config
            .max_faults
            .is_none_or(|max| state.faults_under_config < max);
        let fault = budget_left.then(|| state.config.decide(n, op)).flatten();
        if let Some(fault) = fault {
            state.faults_under_config += 1;
            *state
                .stats
                .faults
                .entry(fault.kind())
                .or_default()
                .entry(op.to_string())
                .or_default() += 1;
            if state.log.len() < MAX_LOG {
                state.log.push(FaultEvent {
                    request: n,
                    operation: op.to_string(),
                    fault,
                });
            }
            tracing::debug!(request = n, operation = op, ?fault, "proxy fault");
        }
        Plan {
            fault,
            rule: state.config.conflicts,
        }
    }
}

/// The answer to one request and whether the connection ends after it.
struct Answer {
    bytes: Vec<u8>,
    close: bool,
}

/// Serves one client connection: its requests one after the other, each forwarded on
/// this connection's own upstream connection (opened on first use, reopened after the
/// server closed it).
async fn serve(shared: Arc<Shared>, client: TcpStream) {
    let mut client = Conn::new(client);
    let mut upstream: Option<Conn> = None;
    loop {
        let Ok(Some(req)) = client.read_request().await else {
            return;
        };
        let op = operation(&req);
        let plan = shared.begin(&op);
        if plan.fault == Some(Fault::Drop) {
            return;
        }
        let arrival = Instant::now();
        let mut guard = None;
        let mut hold_until = None;
        let verdict = match plan.rule {
            None => Verdict::Proceed,
            Some(rule) => {
                let write = rule::parse(&op, &req.body);
                let verdict = shared.lock().in_flight.begin(&write, arrival.into_std());
                if verdict == Verdict::Proceed && matches!(write, Write::Transaction { .. }) {
                    hold_until = Some(arrival + rule.hold);
                    guard = Some(InFlightGuard {
                        shared: shared.clone(),
                        write,
                    });
                }
                verdict
            }
        };
        let answer = match verdict {
            Verdict::Proceed | Verdict::Repeat => match forward(&shared, &mut upstream, &req).await
            {
                Ok(resp) => {
                    if let (Some(g), Some(200)) = (&guard, resp.status()) {
                        shared
                            .lock()
                            .in_flight
                            .committed(&g.write, std::time::Instant::now());
                    }
                    Answer {
                        bytes: resp.raw,
                        close: resp.close || req.close,
                    }
                }
                Err(e) => {
                    tracing::warn!(operation = %op, error = %e, "proxy: upstream failed");
                    shared.lock().stats.upstream_failures += 1;
                    return;
                }
            },
            Verdict::InProgress => {
                shared.lock().stats.in_progress += 1;
                Answer {
                    bytes: json_response(400, &rule::in_progress_body()),
                    close: req.close,
                }
            }
            refused @ (Verdict::Cancelled(_) | Verdict::Conflict) => {
                *shared.lock().stats.conflicts.entry(op.clone()).or_default() += 1;
                let body = match refused {
                    Verdict::Cancelled(conflicting) => rule::cancelled_body(&conflicting),
                    _ => rule::conflict_body(),
                };
                Answer {
                    bytes: json_response(400, &body),
                    close: req.close,
                }
            }
        };
        if let Some(until) = hold_until {
            tokio::time::sleep_until(until).await;
        }
        // The service sends its answer now: the transaction is no longer in flight.
        drop(guard);
        match plan.fault {
            Some(Fault::LoseAnswer) => return,
            Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
            _ => {}
        }
        if client.write_all(&answer.bytes).await.is_err() || answer.close {
            return;
        }
    }
}

/// Sends `req` upstream as it came and reads the answer.
async fn forward(
    shared: &Shared,
    upstream: &mut Option<Conn>,
    req: &Message,
) -> io::Result<Message> {
    if upstream.as_ref().is_some_and(Conn::is_stale) {
        *upstream = None;
    }
    let conn = match upstream {
        Some(conn) => conn,
        None => {
            let stream =
                tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(shared.upstream))
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            upstream.insert(Conn::new(stream))
        }
    };
    let result = async {
        conn.write_all(&req.raw).await?;
        conn.read_response(req.start.starts_with("HEAD ")).await
    }
    .await;
    match result {
        Ok(resp) => {
            if resp.close {
                *upstream = None;
            }
            Ok(resp)
        }
        Err(e) => {
            *upstream = None;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults_and_the_rate_holds() {
        let kinds = [
            Fault::Drop,
            Fault::LoseAnswer,
            Fault::Delay(Duration::from_millis(5)),
        ];
        let a = Config::faults(42, 0.25, &kinds);
        let b = Config::faults(42, 0.25, &kinds);
        let c = Config::faults(43, 0.25, &kinds);
        let run = |cfg: &Config| -> Vec<Option<Fault>> {
            (0..10_000).map(|n| cfg.decide(n, "PutItem")).collect()
        };
        let (ra, rb, rc) = (run(&a), run(&b), run(&c));
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
        let faulty = ra.iter().flatten().count();
        assert!(
            (2_250..2_750).contains(&faulty),
            "{faulty} faults in 10 000"
        );
        for kind in kinds {
            let n = ra.iter().flatten().filter(|f| **f == kind).count();
            assert!((650..1_000).contains(&n), "{kind:?}: {n}");
        }
    }

    #[test]
    fn faults_only_on_the_chosen_operations_and_none_without_kinds() {
        let cfg = Config::faults(1, 1.0, &[Fault::Drop]).only(WRITE_OPERATIONS);
        assert_eq!(cfg.decide(0, "PutItem"), Some(Fault::Drop));
        assert_eq!(cfg.decide(1, "TransactWriteItems"), Some(Fault::Drop));
        assert_eq!(cfg.decide(2, "GetItem"), None);
        assert_eq!(cfg.decide(3, "Query"), None);
        assert_eq!(Config::faults(1, 1.0, &[]).decide(0, "PutItem"), None);
        assert_eq!(Config::default().decide(0, "PutItem"), None);
        // A request's choice does not depend on the filter (only whether it applies).
        let all = Config::faults(9, 0.5, &[Fault::Drop, Fault::LoseAnswer]);
        let writes = all.clone().only(&["PutItem"]);
        for n in 0..100 {
            assert_eq!(all.decide(n, "PutItem"), writes.decide(n, "PutItem"));
        }
    }

    #[test]
    fn stats_read_as_a_summary() {
        let mut s = Stats {
            requests: 5,
            connections: 2,
            ..Stats::default()
        };
        s.operations.insert("PutItem".into(), 5);
        s.faults
            .entry(FaultKind::LoseAnswer)
            .or_default()
            .insert("PutItem".into(), 2);
        s.conflicts.insert("UpdateItem".into(), 1);
        assert_eq!(s.faults_total(), 2);
        assert_eq!(s.faults_on(FaultKind::LoseAnswer, "PutItem"), 2);
        assert_eq!(s.faults_of(FaultKind::Drop), 0);
        assert_eq!(
            s.to_string(),
            "requests 5 on 2 connections (PutItem 5); faults 2, lose-answer 2 (PutItem 2); \
             conflicts 1 (UpdateItem 1); in progress 0; upstream failures 0"
        );
    }
}
