//! One structured JSON line per request (function, route, method, path, status, latency,
//! trace id, tenant), each with an RFC 3339 timestamp and a level (what Lambda's JSON log
//! format files and filters lines by), and never a key or a guest name.

use std::io::Write;
use std::sync::{Arc, Mutex};

use kit::{allotment_body, key, pickup_body, TestRequest};
use serde_json::Value;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Lambda reads `timestamp` (RFC 3339) and `level` at the top of a JSON line; without a
/// valid timestamp it files the line as INFO, whatever its level.
fn assert_timestamped(line: &Value) {
    let ts = line["timestamp"]
        .as_str()
        .unwrap_or_else(|| panic!("no timestamp: {line}"));
    let at = chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap_or_else(|e| panic!("timestamp {ts} is not RFC 3339: {e}"));
    let age = chrono::Utc::now().signed_duration_since(at);
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::minutes(5),
        "timestamp {ts} is not now"
    );
    assert!(
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&line["level"].as_str().unwrap_or("")),
        "no level: {line}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn one_json_line_per_request_without_secrets_or_guest_names() {
    let ctx = kit::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let allotment = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();

    let captured = Captured::default();
    // The functions' own format (`init_tracing`), at the default level.
    let subscriber = shared::http::log_subscriber("info", captured.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    let mut body = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
    body["guestName"] = serde_json::json!("Zoé Confidential");
    let ok = TestRequest::event("create-pickup")
        .path_param("allotmentId", &allotment)
        .json(body.clone())
        .key(&k)
        .send(&create_pickup::FUNCTION, &ctx)
        .await;
    let refused = TestRequest::event("create-pickup")
        .path_param("allotmentId", &allotment)
        .json(body)
        .key("akffffffffffffffff.nope")
        .send(&create_pickup::FUNCTION, &ctx)
        .await;
    drop(guard);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    for line in &lines {
        assert_timestamped(line);
    }
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 2, "{text}");
    assert_eq!(requests[0]["level"], "INFO");
    let first = &requests[0]["fields"];
    assert_eq!(first["function"], "create-pickup");
    assert_eq!(first["method"], "POST");
    assert_eq!(
        first["route"], "POST /v1/allotments/{allotmentId}/pickups",
        "the template's route, not the concrete path"
    );
    // The path as requested (the sample event's, here).
    assert!(first["path"].as_str().unwrap().ends_with("/pickups"));
    assert_eq!(first["status"], 201);
    assert_eq!(first["tenant"], "acme");
    assert_eq!(
        first["trace_id"],
        ok.headers["x-trace-id"].to_str().unwrap()
    );
    assert!(first["latency_ms"].is_u64());
    assert_eq!(requests[1]["fields"]["status"], 401);
    assert_eq!(
        requests[1]["fields"]["trace_id"],
        refused.headers["x-trace-id"].to_str().unwrap()
    );
    let (key_id, secret) = k.split_once('.').unwrap();
    for leak in [secret, key_id, "Zoé", "Confidential", "nope"] {
        assert!(!text.contains(leak), "{leak} in the logs: {text}");
    }
}

/// The local server puts the matched route in the request context as API Gateway does,
/// so its log lines carry the same `route` as the deployed functions'.
#[tokio::test(flavor = "current_thread")]
async fn the_local_server_logs_the_matched_route() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let ctx = kit::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let captured = Captured::default();
    // The functions' own format (`init_tracing`), at the default level.
    let subscriber = shared::http::log_subscriber("info", captured.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    // current_thread: the server's tasks run on this thread, under this subscriber.
    tokio::spawn(local_server::serve(listener, ctx));
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/allotments/{missing}"),
        "/v2/nothing".to_string(),
    ] {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-API-Key: {k}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.unwrap();
        assert!(reply.starts_with(b"HTTP/1.1 404"), "{path}");
    }
    drop(guard);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let routes: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every line is JSON"))
        .inspect(assert_timestamped)
        .filter(|l| l["fields"]["message"] == "request")
        .map(|l| {
            (
                l["fields"]["route"].as_str().unwrap().to_string(),
                l["fields"]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        vec![
            (
                "GET /v1/allotments/{allotmentId}".to_string(),
                format!("/v1/allotments/{missing}")
            ),
            ("$default".to_string(), "/v2/nothing".to_string()),
        ]
    );
}
