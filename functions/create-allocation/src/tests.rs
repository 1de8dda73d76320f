use kit::{allotment_body, ctx, key, pickup_body, pool_nights, tenant, TestRequest};
use serde_json::json;

use super::FUNCTION;

async fn setup(ctx: &shared::http::Ctx, k: &str, pool: i64) -> (uuid::Uuid, String) {
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        pool,
    )
    .await;
    let created = kit::create_allotment(ctx, k, allotment_body(est)).await;
    (est, created["allotmentId"].as_str().unwrap().to_string())
}

fn allocate(id: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::event("create-allocation")
        .path_param("allotmentId", id)
        .json(body)
}

#[tokio::test]
async fn the_sample_change_takes_two_more_rooms_midweek() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, 30).await;
    let resp = TestRequest::event("create-allocation")
        .path_param("allotmentId", &id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 201, "{}", resp.raw);
    let d = resp.data();
    assert_eq!(
        (
            d["from"].clone(),
            d["to"].clone(),
            d["quantity"].clone(),
            d["previousQuantity"].clone()
        ),
        (
            json!("2026-09-02"),
            json!("2026-09-04"),
            json!(12),
            json!(10)
        )
    );
    assert_eq!(d["memo"], "Client asked for 2 more rooms midweek");
    assert_eq!(d["timestamp"], "2026-06-01T10:00:00Z");
    assert_eq!(d["nights"].as_array().unwrap().len(), 3);
    assert_eq!(
        d["nights"][0],
        json!({"date": "2026-09-02", "previousQuantity": 10, "quantity": 12})
    );
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        let want = if (kit::date("2026-09-02")..=kit::date("2026-09-04")).contains(&night) {
            12
        } else {
            10
        };
        assert_eq!(n.allotted, want, "{night}");
    }
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    let n = &grid[&(
        shared::domain::ids::UnitTypeId::parse("dbl").unwrap(),
        kit::date("2026-09-03"),
    )];
    assert_eq!((n.contracted, n.allocated), (12, 12));
}

#[tokio::test]
async fn uneven_previous_quantities_and_a_new_unit_type() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, 30).await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "sgl",
        "2026-09-01",
        "2026-09-30",
        4,
    )
    .await;
    assert_eq!(
        allocate(
            &id,
            json!({"unitTypeId": "dbl", "quantity": 8, "from": "2026-09-01", "to": "2026-09-02"})
        )
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .status,
        201
    );
    let whole = allocate(&id, json!({"unitTypeId": "dbl", "quantity": 6}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(whole.status, 201, "{}", whole.raw);
    assert_eq!(
        whole.data()["previousQuantity"],
        json!(null),
        "8 on two nights, 10 on the others"
    );
    assert_eq!(
        (whole.data()["from"].clone(), whole.data()["to"].clone()),
        (json!("2026-09-01"), json!("2026-09-07"))
    );
    let added = allocate(
        &id,
        json!({"unitTypeId": "sgl", "quantity": 2, "from": "2026-09-03", "to": "2026-09-04"}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(added.status, 201, "{}", added.raw);
    assert_eq!(added.data()["previousQuantity"], 0);
    let sgl = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await;
    let held: Vec<i64> = sgl
        .iter()
        .filter(|(u, _, _)| u == "sgl")
        .map(|(_, _, n)| n.allotted)
        .collect();
    assert_eq!(held, [0, 0, 2, 2, 0, 0, 0]);
    // The grid now shows the new unit type on its two nights; more of it extends it.
    let more = allocate(
        &id,
        json!({"unitTypeId": "sgl", "quantity": 1, "from": "2026-09-04", "to": "2026-09-05"}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(more.status, 201, "{}", more.raw);
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    let sgl_nights: Vec<(String, i64)> = grid
        .iter()
        .filter(|((u, _), _)| u.as_str() == "sgl")
        .map(|((_, d), n)| (d.to_string(), n.allocated))
        .collect();
    assert_eq!(
        sgl_nights,
        [
            ("2026-09-03".to_string(), 2),
            ("2026-09-04".to_string(), 1),
            ("2026-09-05".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn increases_are_capacity_checked_and_decreases_never_go_below_pickups() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, 12).await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-03",
        "2026-09-03",
        11,
    )
    .await;
    let short = allocate(
        &id,
        json!({"unitTypeId": "dbl", "quantity": 13, "from": "2026-09-02", "to": "2026-09-03"}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    short.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(
        short.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-02", "requested": 3, "available": 2},
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 3, "available": 1},
        ])
    );
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 10)
    );

    kit::pickup(
        &ctx,
        &k,
        &id,
        pickup_body("dbl", "2026-09-05", "2026-09-07", 4),
    )
    .await;
    let below = allocate(&id, json!({"unitTypeId": "dbl", "quantity": 3}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    below.assert_error(409, "BELOW_PICKED_UP");
    assert_eq!(
        below.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-05", "requested": 3, "pickedUp": 4},
            {"unitTypeId": "dbl", "date": "2026-09-06", "requested": 3, "pickedUp": 4},
        ])
    );
    let exact = allocate(&id, json!({"unitTypeId": "dbl", "quantity": 4}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(exact.status, 201, "{}", exact.raw);
    let zero = allocate(
        &id,
        json!({"unitTypeId": "dbl", "quantity": 0, "from": "2026-09-01", "to": "2026-09-04"}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(zero.status, 201, "{}", zero.raw);
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await;
    let held: Vec<i64> = pool.iter().map(|(_, _, n)| n.allotted).collect();
    assert_eq!(held, [0, 0, 0, 0, 4, 4, 4]);
}

#[tokio::test]
async fn rules_of_the_request() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (_, id) = setup(&ctx, &k, 30).await;
    let bad = allocate(
        &id,
        json!({"unitTypeId": "dbl", "quantity": 10001, "memo": "", "allocated": 3}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["quantity", "memo", "allocated"]);
    let outside = allocate(
        &id,
        json!({"unitTypeId": "dbl", "quantity": 3, "from": "2026-08-31", "to": "2026-09-08"}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(outside.fields(), ["from", "to"]);
    kit::release(&ctx, &k, &id, None).await;
    allocate(&id, json!({"unitTypeId": "dbl", "quantity": 3}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let other = key(&ctx.store, "globex").await;
    allocate(&id, json!({"unitTypeId": "dbl", "quantity": 3}))
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}

/// The record of a keyed change is written with the change: a repeat replays it
/// byte for byte and changes nothing; concurrent duplicates change once; another
/// request under the key is 422; a keyed change costs no extra round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_keyed_change_is_recorded_with_its_effect() {
    let (ctx, counter) = kit::counting_ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, 30).await;
    let body =
        json!({"unitTypeId": "dbl", "quantity": 14, "from": "2026-09-02", "to": "2026-09-02"});
    counter.take();
    let first = allocate(&id, body.clone())
        .key(&k)
        .header("idempotency-key", "alloc-1")
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let calls = counter.take();
    assert_eq!(
        calls.get("TransactWriteItems"),
        Some(&1),
        "the record rides in the change's transaction: {calls:?}"
    );
    assert_eq!(calls.get("PutItem"), None, "{calls:?}");
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (ctx, k, id, body) = (ctx.clone(), k.clone(), id.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            allocate(&id, body)
                .key(&k)
                .header("idempotency-key", "alloc-1")
                .send(&FUNCTION, &ctx)
                .await
        }));
    }
    for t in tasks {
        let again = t.await.unwrap();
        assert_eq!(again.raw, first.raw, "replayed byte for byte");
        assert_eq!(again.headers["idempotency-replayed"], "true");
        assert_eq!(again.headers["x-trace-id"], first.headers["x-trace-id"]);
    }
    let night = pool_nights(&ctx.store, "acme", est, "2026-09-02", "2026-09-02").await;
    assert_eq!(night[0].2.allotted, 14, "applied once");
    let history = kit::allocation_history(&ctx.store, &tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(history.len(), 2, "the initial entry and one change");

    let other =
        json!({"unitTypeId": "dbl", "quantity": 15, "from": "2026-09-02", "to": "2026-09-02"});
    allocate(&id, other)
        .key(&k)
        .header("idempotency-key", "alloc-1")
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    // Concurrent first attempts under a new key: one change, every answer the same.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (ctx, k, id) = (ctx.clone(), k.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let b = json!({"unitTypeId": "dbl", "quantity": 9, "from": "2026-09-03", "to": "2026-09-03"});
            allocate(&id, b)
                .key(&k)
                .header("idempotency-key", "alloc-2")
                .send(&FUNCTION, &ctx)
                .await
        }));
    }
    let answers: Vec<_> = {
        let mut v = Vec::new();
        for t in tasks {
            v.push(t.await.unwrap());
        }
        v
    };
    assert!(answers
        .iter()
        .all(|a| a.status == 201 && a.raw == answers[0].raw));
    let history = kit::allocation_history(&ctx.store, &tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "one more change, whatever the race");
}
