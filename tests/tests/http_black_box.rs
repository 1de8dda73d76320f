//! Black-box tests through the local server over real HTTP; every response is checked
//! against the OpenAPI document (declared status, body of the declared schema).

use serde_json::{json, Value};
use shared::template::{match_route, routes, RouteMatch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    port: u16,
    key: String,
}

async fn start() -> Server {
    let ctx = kit::ctx().await;
    let key = kit::key(&ctx.store, "acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(local_server::serve(listener, ctx));
    Server { port, key }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["code"], code);
        assert_eq!(self.body["status"], status);
        assert_eq!(
            Some(self.body["traceId"].as_str().unwrap()),
            self.header("x-trace-id")
        );
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
async fn call(
    s: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading a large body; ignore a reset then.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a full response");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Every answer of an API route is checked against the OpenAPI document (the
    // local-only event route is not part of the API).
    if !path.starts_with("/_local/") {
        let path_only = path.split('?').next().unwrap_or(path);
        let routes = routes();
        let route = match match_route(&routes, method, path_only) {
            RouteMatch::Found(r, _) => format!("{} {}", r.method, r.path),
            _ => "$default".to_string(),
        };
        kit::spec::assert_response(&route, status, body);
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or(Value::String(body.into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

async fn json_call(s: &Server, method: &str, path: &str, body: Value) -> Reply {
    let key = s.key.clone();
    call(
        s,
        method,
        path,
        &[("X-API-Key", &key), ("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

/// `PUT`s the establishment `est` (201) and 30 `dbl` rooms every night of September
/// (200); both answers.
async fn stocked(s: &Server, est: &str) -> (Reply, Reply) {
    let path = format!("/v1/establishments/{est}");
    let hotel = json!({"name": "Hôtel du Port", "timeZone": "Europe/Paris"});
    let created = json_call(s, "PUT", &path, hotel).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let rooms =
        json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 30});
    let inv = json_call(s, "PUT", &format!("{path}/inventory"), rooms).await;
    assert_eq!(inv.status, 200, "{}", inv.body);
    (created, inv)
}

#[tokio::test]
async fn the_four_endpoints_end_to_end() {
    let s = start().await;
    let est = "7E5F1B2C-0000-4000-8000-00000000000A";
    let (created, inv) = stocked(&s, est).await;
    assert_eq!(created.body["data"]["establishmentId"], est.to_lowercase());
    assert!(created.header("x-trace-id").is_some());
    assert_eq!(inv.body["data"]["nights"], 30);

    let key = s.key.clone();
    let bearer = format!("Bearer {key}");
    let avail = call(
        &s,
        "GET",
        &format!(
            "/v1/establishments/{est}/availability?from=2026-09-29&to=2026-10-02&unitTypeId=dbl"
        ),
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(avail.status, 200, "{}", avail.body);
    assert_eq!(
        avail.body,
        json!({"data": [
            {"date": "2026-09-29", "unitTypeId": "dbl", "capacity": 30, "allotted": 0, "pickedUp": 0, "available": 30},
            {"date": "2026-09-30", "unitTypeId": "dbl", "capacity": 30, "allotted": 0, "pickedUp": 0, "available": 30},
        ]})
    );

    let got = call(
        &s,
        "GET",
        &format!("/v1/establishments/{}", est.to_lowercase()),
        &[("X-API-Key", &key)],
        b"",
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["data"]["name"], "Hôtel du Port");
}

#[tokio::test]
async fn edge_errors_over_http() {
    let s = start().await;
    let key = s.key.clone();
    let est = "/v1/establishments/2489e9ad-2ee2-8e00-8ec9-32d5f69181c0";

    let not_allowed = call(&s, "DELETE", est, &[("X-API-Key", &key)], b"").await;
    not_allowed.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(not_allowed.header("allow"), Some("GET, PUT"));
    call(&s, "GET", "/v1/nowhere", &[], b"")
        .await
        .assert_error(404, "NOT_FOUND");
    call(&s, "GET", est, &[], b"")
        .await
        .assert_error(401, "UNAUTHENTICATED");

    // A PUT of the establishment with the key, a content type and a body.
    let put = |content_type: &'static str, body: Vec<u8>| {
        let (s, key) = (&s, key.clone());
        async move {
            let headers = [("X-API-Key", key.as_str()), ("Content-Type", content_type)];
            call(s, "PUT", est, &headers, &body).await
        }
    };
    let big = vec![b' '; 256 * 1024 + 1];
    put("application/json", big)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    put("text/plain", b"{}".to_vec())
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    put("application/json", b"{oops".to_vec())
        .await
        .assert_error(400, "BAD_REQUEST");
    let unknown = put(
        "application/json",
        br#"{"name":"A","timeZone":"UTC","rooms":3}"#.to_vec(),
    )
    .await;
    unknown.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        unknown.body["details"],
        json!([{"field": "rooms", "issue": "is not a known field"}])
    );

    call(
        &s,
        "POST",
        "/_local/events/no-such-function",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await
    .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_local_event_route_runs_the_cutoff_function() {
    let s = start().await;
    let sample = std::fs::read(kit::events_dir().join("cutoff-release.json")).unwrap();
    let r = call(
        &s,
        "POST",
        "/_local/events/cutoff-release",
        &[("Content-Type", "application/json")],
        &sample,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"data": {"releasedNights": 0, "allotmentsReleased": 0}})
    );
    // Locally the event time may lie in the future.
    let future = br#"{"time": "2031-01-01T00:00:00Z", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}"#;
    assert_eq!(
        call(&s, "POST", "/_local/events/cutoff-release", &[], future)
            .await
            .status,
        200
    );
    call(
        &s,
        "POST",
        "/_local/events/cutoff-release",
        &[],
        br#"{"time": "soon"}"#,
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    let not_allowed = call(&s, "GET", "/_local/events/cutoff-release", &[], b"").await;
    not_allowed.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(not_allowed.header("allow"), Some("POST"));
}

/// An `Idempotency-Key` sent as raw UTF-8 bytes (`acc-clé-1`) is an invalid key, never
/// an absent one: `400` naming it, nothing created; the same request with a visible
/// ASCII key is served.
#[tokio::test]
async fn an_idempotency_key_that_is_not_visible_ascii_is_400_over_http() {
    let s = start().await;
    let key = s.key.clone();
    let est = "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0";
    stocked(&s, est).await;
    let body = kit::allotment_body(est.parse().unwrap()).to_string();
    let post = |idempotency_key: &'static str| {
        let (s, key, body) = (&s, key.clone(), body.clone());
        async move {
            call(
                s,
                "POST",
                "/v1/allotments",
                &[
                    ("X-API-Key", &key),
                    ("Content-Type", "application/json"),
                    ("Idempotency-Key", idempotency_key),
                ],
                body.as_bytes(),
            )
            .await
        }
    };
    for bad in ["acc-clé-1", "ключ"] {
        let r = post(bad).await;
        r.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            r.body["details"],
            json!([{"field": "Idempotency-Key", "issue": "must be 1-255 visible ASCII characters"}]),
            "{bad}"
        );
    }
    let listed = call(
        &s,
        "GET",
        &format!("/v1/allotments?establishmentId={est}"),
        &[("X-API-Key", &key)],
        b"",
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"], json!([]), "nothing was created");
    let ok = post("acc-cle-1").await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let again = post("acc-cle-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
}
