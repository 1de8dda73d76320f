//! Requests per second and latency straight to DynamoDB Local and through the fault
//! proxy (faults off; then the conflict rule on, for disjoint transactions), and the
//! proxy's own cost: the same GetItem against a stub server that answers `{}` at once.
//!
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo run -p kit --example proxy_throughput`
//! (`PROXY_BENCH_N` requests per figure, default 2000).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use kit::proxy::{Config, ConflictRule, Proxy};

fn key(sk: &str) -> std::collections::HashMap<String, AttributeValue> {
    [("PK", "bench"), ("SK", sk)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect()
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Put,
    Transact,
}

async fn one(client: &Client, table: &str, op: Op, i: usize) {
    let result = match op {
        Op::Get => client
            .get_item()
            .table_name(table)
            .set_key(Some(key("0")))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Op::Put => client
            .put_item()
            .table_name(table)
            .set_item(Some(key(&format!("put-{i}"))))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Op::Transact => {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key(&format!("tx-{i}"))))
                .update_expression("ADD n :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .build()
                .unwrap();
            client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update).build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    result.expect("request");
}

/// `n` requests by `clients` concurrent clients: requests/s, p50 and p99.
async fn run(client: &Client, table: &str, op: Op, n: usize, clients: usize) -> String {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, table) = (client.clone(), table.to_string());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                for i in (c..n).step_by(clients) {
                    let t = Instant::now();
                    one(&client, &table, op, i).await;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    format!(
        "{:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        n as f64 / secs,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    )
}

/// An HTTP server that answers every request `200 {}` at once (keep-alive).
async fn stub() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16384];
                loop {
                    // One request: its head, then Content-Length bytes.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}";
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("PROXY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let direct = kit::store().await;
    let table = direct.table().to_string();
    kit::client()
        .put_item()
        .table_name(&table)
        .set_item(Some(key("0")))
        .send()
        .await
        .unwrap();
    let proxy = Proxy::start_at(&kit::endpoint(), Config::default())
        .await
        .unwrap();
    let through = kit::client_at(&proxy.endpoint());
    let direct = kit::client();
    // Warm up connections and code paths.
    run(&direct, &table, Op::Get, 200, 4).await;
    run(&through, &table, Op::Get, 200, 4).await;
    println!("{n} requests per line, faults off");
    for (name, op) in [("GetItem", Op::Get), ("PutItem", Op::Put)] {
        for clients in [1, 16] {
            println!(
                "{name:<18} {clients:>2} clients  direct {}",
                run(&direct, &table, op, n, clients).await
            );
            println!(
                "{name:<18} {clients:>2} clients  proxy  {}",
                run(&through, &table, op, n, clients).await
            );
        }
    }
    // The proxy on a thread of its own, not sharing the clients' two workers.
    let own = Proxy::spawn(
        kit::proxy::upstream_of(&kit::endpoint()).await.unwrap(),
        Config::default(),
    )
    .unwrap();
    let via_own = kit::client_at(&own.endpoint());
    run(&via_own, &table, Op::Get, 200, 4).await;
    for clients in [1, 16] {
        println!(
            "GetItem            {clients:>2} clients  own thread proxy {}",
            run(&via_own, &table, Op::Get, n, clients).await
        );
    }
    let tx_n = n / 4;
    for (label, config) in [
        ("rule off", Config::default()),
        (
            "rule on, 10 ms",
            Config::default().with_conflicts(ConflictRule::default()),
        ),
    ] {
        proxy.set_config(config);
        println!(
            "TransactWriteItems 16 clients  proxy  {}  ({label}, {tx_n} disjoint)",
            run(&through, &table, Op::Transact, tx_n, 16).await
        );
    }
    println!("{}", proxy.stats());

    // The proxy's own cost, without DynamoDB Local's.
    let upstream = stub().await;
    let stub_proxy = Proxy::start(upstream, Config::default()).await.unwrap();
    let to_stub = kit::client_at(&format!("http://{upstream}"));
    let via_proxy = kit::client_at(&stub_proxy.endpoint());
    run(&to_stub, &table, Op::Get, 200, 4).await;
    run(&via_proxy, &table, Op::Get, 200, 4).await;
    for clients in [1, 16] {
        println!(
            "GetItem to a stub  {clients:>2} clients  direct {}",
            run(&to_stub, &table, Op::Get, n, clients).await
        );
        println!(
            "GetItem to a stub  {clients:>2} clients  proxy  {}",
            run(&via_proxy, &table, Op::Get, n, clients).await
        );
    }
}
