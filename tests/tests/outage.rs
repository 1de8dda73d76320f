//! With DynamoDB down, every endpoint answers 503 UNAVAILABLE with Retry-After, fast;
//! once it is back, nothing was half-written.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use kit::{pickup_body, Acme, TestRequest};
use serde_json::{json, Value};
use shared::domain::inventory::PoolNight;
use shared::http::{Access, Ctx};
use shared::store::Store;
use shared::template::routes;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/local/dynamodb-local.sh")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts DynamoDB Local keeping its data in `dir`; returns its pid.
fn start(port: u16, dir: &PathBuf) -> String {
    let out = Command::new("bash")
        .arg(script())
        .arg("start")
        .arg(port.to_string())
        .arg(dir)
        .env(
            "DDB_LOG",
            std::env::temp_dir().join(format!("ddb-outage-{port}.log")),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn stop(pid: &str) {
    let file = std::env::temp_dir().join(format!("ddb-outage-{pid}.pid"));
    std::fs::write(&file, pid).unwrap();
    let status = Command::new("bash")
        .arg(script())
        .arg("stop")
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The allotment's representation and the pool's nights in September.
async fn state(a: &Acme, allotment: &str) -> (Value, Vec<(String, NaiveDate, PoolNight)>) {
    let (record, grid) = a.stored(allotment).await;
    let pool = a.pool("2026-09-01", "2026-09-30").await;
    (kit::json(record.representation(&grid)), pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_503_while_the_store_is_down() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("ddb-outage-{}", uuid::Uuid::new_v4()));
    let pid = start(port, &dir);
    let store = Store::local(&format!("http://127.0.0.1:{port}"), "outage");
    store.ensure_table().await.unwrap();
    let a = kit::acme_on(Ctx::with_now(store, kit::now())).await;
    let allotment = a.allotment(json!({})).await;
    let before = state(&a, &allotment).await;

    stop(&pid);
    // All routes at once (each waits out the SDK's retries on its own).
    let mut tasks = Vec::new();
    for route in routes() {
        let f = *local_server::functions()
            .iter()
            .find(|f| f.name == route.function)
            .unwrap();
        if f.access == Access::Public {
            continue;
        }
        let mut req = TestRequest::event(&route.function).key(&a.key);
        if route.path.contains("{allotmentId}") {
            req = req.path_param("allotmentId", &allotment);
        }
        if route.function == "create-pickup" {
            req = req.json(pickup_body("dbl", "2026-09-02", "2026-09-03", 1));
        }
        let ctx = a.ctx.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let resp = req.send(&f, &ctx).await;
            (route.function, resp, started.elapsed())
        }));
    }
    let mut checked = 0;
    for t in tasks {
        let (name, resp, took) = t.await.unwrap();
        resp.assert_error(503, "UNAVAILABLE");
        assert_eq!(resp.headers["retry-after"], "1", "{name}");
        assert!(
            took < Duration::from_secs(8),
            "{name}: {took:?} (function timeout is 10 s)"
        );
        checked += 1;
    }
    assert!(checked >= 20);

    let pid = start(port, &dir);
    assert_eq!(state(&a, &allotment).await, before, "nothing half-written");
    // And it works again.
    let body = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
    let p = TestRequest::on_allotment("create-pickup", &allotment).json(body);
    a.call(p, &create_pickup::FUNCTION).await.expect(201);
    stop(&pid);
    let _ = std::fs::remove_dir_all(&dir);
}
