//! A request never outlives its budget: a store that never answers, or answers slowly,
//! ends in the contract's `503 UNAVAILABLE` with `Retry-After` before the Lambda deadline,
//! never in a hang (Lambda's timeout, API Gateway's bare 500).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kit::{allotment_body, key, pickup_body, spec, TestRequest};
use lambda_http::{Body, RequestExt, Response};
use serde_json::Value;
use shared::http::{dispatch, Ctx, Function, DEADLINE_MARGIN, DEFAULT_BUDGET};
use shared::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A "DynamoDB" that accepts connections and never answers; its address.
async fn silent_store() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn); // open, unanswered
        }
    });
    format!("http://{addr}")
}

/// A proxy to `upstream` that holds each HTTP request `delay` before passing it on whole
/// (the SDK's requests carry a `Content-Length`); answers pass at once.
async fn slow_store(upstream: String, delay: Duration) -> String {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_r, mut client_w) = client.into_split();
                let (mut server_r, mut server_w) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_r, &mut client_w).await;
                });
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    while let Some(len) = request_length(&buf) {
                        tokio::time::sleep(delay).await;
                        if server_w.write_all(&buf[..len]).await.is_err() {
                            return;
                        }
                        buf.drain(..len);
                    }
                    match client_r.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// The length of the first whole request in `buf` (head and `Content-Length` body).
fn request_length(buf: &[u8]) -> Option<usize> {
    let head = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body = String::from_utf8_lossy(&buf[..head])
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= head + body).then_some(head + body)
}

/// The Lambda context of an invocation whose deadline is `in_` from now.
fn lambda_context(in_: Duration) -> lambda_http::Context {
    let deadline = SystemTime::now() + in_;
    let mut c = lambda_http::Context::default();
    c.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    c
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

/// Dispatches as the Lambda runtime does, and checks the answer against the contract.
async fn send(function: &Function, ctx: &Ctx, req: lambda_http::Request, route: &str) -> Answer {
    let started = Instant::now();
    let resp: Response<Body> = dispatch(function, ctx, req).await;
    let took = started.elapsed();
    let (parts, body) = resp.into_parts();
    let raw = String::from_utf8(body.to_vec()).unwrap();
    spec::assert_response(route, parts.status.as_u16(), &raw);
    Answer {
        status: parts.status.as_u16(),
        retry_after: parts
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string()),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        took,
    }
}

/// A key of the minted shape, so that authentication asks the store for it.
const WELL_FORMED_KEY: &str = "ak0123456789abcdef.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

const PICKUPS: &str = "POST /v1/allotments/{allotmentId}/pickups";

fn pickup_request(allotment: &str, key: &str) -> lambda_http::Request {
    TestRequest::event("create-pickup")
        .path_param("allotmentId", allotment)
        .json(pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(key)
        .into_request()
}

fn assert_unavailable(a: &Answer) {
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.body["code"], "UNAVAILABLE", "{}", a.body);
    assert_eq!(a.retry_after.as_deref(), Some("1"));
}

/// Without a Lambda context (the local server, `cargo lambda` aside) the budget is the
/// deployed one; a store that never answers is given up by the SDK's timeouts well within.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_never_answers_is_503_within_the_budget() {
    let ctx = Ctx::with_now(Store::local(&silent_store().await, "silent"), kit::now());
    let req = pickup_request(&uuid::Uuid::new_v4().to_string(), WELL_FORMED_KEY);
    let a = send(&create_pickup::FUNCTION, &ctx, req, PICKUPS).await;
    assert_unavailable(&a);
    assert!(a.took < DEFAULT_BUDGET, "{:?}", a.took);
    eprintln!("silent store, default budget: 503 after {:?}", a.took);
}

/// With a Lambda context, the deadline it carries (less the margin) ends the request,
/// whatever the SDK would still wait for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invocation_deadline_ends_a_request_the_store_leaves_hanging() {
    let ctx = Ctx::with_now(Store::local(&silent_store().await, "silent"), kit::now());
    let until_deadline = Duration::from_millis(2_000);
    let budget = until_deadline - DEADLINE_MARGIN;
    let sdk = shared::store::timeouts().operation_timeout().unwrap();
    assert!(budget < sdk, "the SDK would still be waiting");
    let req = pickup_request(&uuid::Uuid::new_v4().to_string(), WELL_FORMED_KEY)
        .with_lambda_context(lambda_context(until_deadline));
    let a = send(&create_pickup::FUNCTION, &ctx, req, PICKUPS).await;
    assert_unavailable(&a);
    assert!(a.took >= budget - Duration::from_millis(50), "{:?}", a.took);
    assert!(
        a.took < until_deadline,
        "answered before the deadline: {:?}",
        a.took
    );
    eprintln!(
        "silent store, {until_deadline:?} to the deadline: 503 after {:?}",
        a.took
    );
}

/// A store that answers every call, but slowly: each call is within the SDK's timeouts,
/// their sum is not within the invocation's budget. The same request without the short
/// deadline succeeds through the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_that_add_up_past_the_deadline_end_in_503() {
    let direct = kit::ctx().await;
    let k = key(&direct.store, "acme").await;
    let est = kit::stocked_establishment(&direct.store, "acme").await;
    let allotment = kit::create_allotment(&direct, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();

    let delay = Duration::from_millis(700);
    let attempt = shared::store::timeouts()
        .operation_attempt_timeout()
        .unwrap();
    assert!(delay * 2 < attempt, "each call answers within an attempt");
    let proxy = slow_store(kit::endpoint(), delay).await;
    // A fresh store (no remembered establishments): key lookup, allotment read, transaction.
    let slow = Ctx::with_now(Store::local(&proxy, direct.store.table()), kit::now());
    let pickup = || pickup_request(&allotment, &k);

    let until_deadline = Duration::from_millis(1_800);
    let a = send(
        &create_pickup::FUNCTION,
        &slow,
        pickup().with_lambda_context(lambda_context(until_deadline)),
        PICKUPS,
    )
    .await;
    assert_unavailable(&a);
    assert!(a.took < until_deadline, "{:?}", a.took);
    eprintln!(
        "store answering after {delay:?}, {until_deadline:?} to the deadline: 503 after {:?}",
        a.took
    );

    // The default budget fits the same calls.
    let fresh = Ctx::with_now(Store::local(&proxy, direct.store.table()), kit::now());
    let ok = send(&create_pickup::FUNCTION, &fresh, pickup(), PICKUPS).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert!(
        ok.took > delay * 2,
        "went through the slow store: {:?}",
        ok.took
    );
    eprintln!("the same pickup, default budget: 201 after {:?}", ok.took);
}
