//! With DynamoDB down, every endpoint answers 503 UNAVAILABLE with Retry-After, fast;
//! once it is back, nothing was half-written.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use kit::{allotment_body, key, pickup_body, TestRequest};
use serde_json::{json, Value};
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

async fn state(ctx: &Ctx, est: uuid::Uuid, allotment: &str) -> Value {
    let t = kit::tenant("acme");
    let (a, grid) = ctx
        .store
        .require_allotment(&t, allotment.parse().unwrap())
        .await
        .unwrap();
    let pool: Vec<Value> = kit::pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-30")
        .await
        .iter()
        .map(|(u, d, n)| {
            json!([
                u,
                d.to_string(),
                n.capacity,
                n.allotted,
                n.picked_up,
                n.available
            ])
        })
        .collect();
    json!({"allotment": kit::json(a.representation(&grid)), "pool": pool})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_503_while_the_store_is_down() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("ddb-outage-{}", uuid::Uuid::new_v4()));
    let pid = start(port, &dir);
    let store = Store::local(&format!("http://127.0.0.1:{port}"), "outage");
    store.ensure_table().await.unwrap();
    let ctx = Ctx::with_now(store, kit::now());
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let allotment = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let before = state(&ctx, est, &allotment).await;

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
        let mut req = TestRequest::event(&route.function).key(&k);
        if route.path.contains("{allotmentId}") {
            req = req.path_param("allotmentId", &allotment);
        }
        if route.function == "create-pickup" {
            req = req.json(pickup_body("dbl", "2026-09-02", "2026-09-03", 1));
        }
        let ctx = ctx.clone();
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
    assert_eq!(
        state(&ctx, est, &allotment).await,
        before,
        "nothing half-written"
    );
    // And it works again.
    let p = TestRequest::event("create-pickup")
        .path_param("allotmentId", &allotment)
        .json(pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&create_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(p.status, 201, "{}", p.raw);
    stop(&pid);
    let _ = std::fs::remove_dir_all(&dir);
}
