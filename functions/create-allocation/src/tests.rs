use kit::{date, pickup_body, Acme, TestRequest, TestResponse};
use serde_json::{json, Value};
use shared::domain::ids::UnitTypeId;

use super::FUNCTION;

/// An establishment with `pool` `dbl` rooms every night of September and an allotment
/// of 10 of them on 1–7 Sep.
async fn setup(pool: i64) -> (Acme, String) {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", pool).await;
    let id = a.allotment(json!({})).await;
    (a, id)
}

fn allocate(id: &str, body: Value) -> TestRequest {
    TestRequest::on_allotment("create-allocation", id).json(body)
}

/// Sends an allocation change of `acme`, under `idempotency_key` if any.
async fn change(a: &Acme, id: &str, body: Value, idempotency_key: Option<&str>) -> TestResponse {
    let req = allocate(id, body).header_opt("idempotency-key", idempotency_key);
    a.call(req, &FUNCTION).await
}

/// The `dbl` rooms the pool has allotted each night of 1–7 Sep.
async fn allotted(a: &Acme) -> Vec<i64> {
    a.per_night("dbl", "2026-09-01", "2026-09-07", |n| n.allotted)
        .await
}

#[tokio::test]
async fn the_sample_change_takes_two_more_rooms_midweek() {
    let (a, id) = setup(30).await;
    let resp = a
        .call(
            TestRequest::on_allotment("create-allocation", &id),
            &FUNCTION,
        )
        .await;
    let d = resp.expect(201);
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
    assert_eq!(allotted(&a).await, [10, 12, 12, 12, 10, 10, 10]);
    let (_, grid) = a.stored(&id).await;
    let n = &grid[&(UnitTypeId::parse("dbl").unwrap(), date("2026-09-03"))];
    assert_eq!((n.contracted, n.allocated), (12, 12));
}

#[tokio::test]
async fn uneven_previous_quantities_and_a_new_unit_type() {
    let (a, id) = setup(30).await;
    a.inventory("sgl", "2026-09-01", "2026-09-30", 4).await;
    let two_nights =
        json!({"unitTypeId": "dbl", "quantity": 8, "from": "2026-09-01", "to": "2026-09-02"});
    change(&a, &id, two_nights, None).await.expect(201);
    let whole = change(&a, &id, json!({"unitTypeId": "dbl", "quantity": 6}), None).await;
    assert_eq!(
        whole.expect(201)["previousQuantity"],
        json!(null),
        "8 on two nights, 10 on the others"
    );
    assert_eq!(
        (whole.data()["from"].clone(), whole.data()["to"].clone()),
        (json!("2026-09-01"), json!("2026-09-07"))
    );
    let sgl = json!({"unitTypeId": "sgl", "quantity": 2, "from": "2026-09-03", "to": "2026-09-04"});
    let added = change(&a, &id, sgl, None).await;
    assert_eq!(added.expect(201)["previousQuantity"], 0);
    let held = a.per_night("sgl", "2026-09-01", "2026-09-07", |n| n.allotted);
    assert_eq!(held.await, [0, 0, 2, 2, 0, 0, 0]);
    // The grid now shows the new unit type on its two nights; more of it extends it.
    let more =
        json!({"unitTypeId": "sgl", "quantity": 1, "from": "2026-09-04", "to": "2026-09-05"});
    change(&a, &id, more, None).await.expect(201);
    let (_, grid) = a.stored(&id).await;
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
    let (a, id) = setup(12).await;
    a.inventory("dbl", "2026-09-03", "2026-09-03", 11).await;
    let up = json!({"unitTypeId": "dbl", "quantity": 13, "from": "2026-09-02", "to": "2026-09-03"});
    let short = change(&a, &id, up, None).await;
    short.assert_conflict(
        "INSUFFICIENT_CAPACITY",
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-02", "requested": 3, "available": 2},
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 3, "available": 1},
        ]),
    );
    assert_eq!(allotted(&a).await, [10; 7]);

    let stay = pickup_body("dbl", "2026-09-05", "2026-09-07", 4);
    kit::pickup(&a.ctx, &a.key, &id, stay).await;
    let below = change(&a, &id, json!({"unitTypeId": "dbl", "quantity": 3}), None).await;
    below.assert_conflict(
        "BELOW_PICKED_UP",
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-05", "requested": 3, "pickedUp": 4},
            {"unitTypeId": "dbl", "date": "2026-09-06", "requested": 3, "pickedUp": 4},
        ]),
    );
    let exact = change(&a, &id, json!({"unitTypeId": "dbl", "quantity": 4}), None).await;
    exact.expect(201);
    let zero =
        json!({"unitTypeId": "dbl", "quantity": 0, "from": "2026-09-01", "to": "2026-09-04"});
    change(&a, &id, zero, None).await.expect(201);
    assert_eq!(allotted(&a).await, [0, 0, 0, 0, 4, 4, 4]);
}

#[tokio::test]
async fn rules_of_the_request() {
    let (a, id) = setup(30).await;
    let bad = json!({"unitTypeId": "dbl", "quantity": 10001, "memo": "", "allocated": 3});
    change(&a, &id, bad, None)
        .await
        .assert_invalid(&["quantity", "memo", "allocated"]);
    let outside =
        json!({"unitTypeId": "dbl", "quantity": 3, "from": "2026-08-31", "to": "2026-09-08"});
    assert_eq!(
        change(&a, &id, outside, None).await.fields(),
        ["from", "to"]
    );
    kit::release(&a.ctx, &a.key, &id, None).await;
    let three = json!({"unitTypeId": "dbl", "quantity": 3});
    change(&a, &id, three.clone(), None)
        .await
        .assert_error(409, "INVALID_STATE");
    a.assert_hidden(allocate(&id, three), &FUNCTION).await;
}

/// The record of a keyed change is written with the change: a repeat replays it
/// byte for byte and changes nothing; concurrent duplicates change once; another
/// request under the key is 422; a keyed change costs no extra round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_keyed_change_is_recorded_with_its_effect() {
    let (ctx, counter) = kit::counting_ctx().await;
    let a = kit::acme_on(ctx).await;
    let id = a.allotment(json!({})).await;
    let body =
        json!({"unitTypeId": "dbl", "quantity": 14, "from": "2026-09-02", "to": "2026-09-02"});
    counter.take();
    let first = change(&a, &id, body.clone(), Some("alloc-1")).await;
    first.expect(201);
    let calls = counter.take();
    assert_eq!(
        calls.get("TransactWriteItems"),
        Some(&1),
        "the record rides in the change's transaction: {calls:?}"
    );
    assert_eq!(calls.get("PutItem"), None, "{calls:?}");
    // Six at once of `body` under `key`.
    let six = |body: Value, key: &'static str| {
        let with = (a.clone(), id.clone(), body);
        async move {
            kit::concurrently(6, &with, |(a, id, body), _| async move {
                change(&a, &id, body, Some(key)).await
            })
            .await
        }
    };
    for again in six(body, "alloc-1").await {
        assert_eq!(again.raw, first.raw, "replayed byte for byte");
        assert_eq!(again.headers["idempotency-replayed"], "true");
        assert_eq!(again.headers["x-trace-id"], first.headers["x-trace-id"]);
    }
    let night = a.pool("2026-09-02", "2026-09-02").await;
    assert_eq!(night[0].2.allotted, 14, "applied once");
    assert_eq!(
        a.history(&id).await.len(),
        2,
        "the initial entry and one change"
    );

    let other =
        json!({"unitTypeId": "dbl", "quantity": 15, "from": "2026-09-02", "to": "2026-09-02"});
    change(&a, &id, other, Some("alloc-1"))
        .await
        .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    // Concurrent first attempts under a new key: one change, every answer the same.
    let b = json!({"unitTypeId": "dbl", "quantity": 9, "from": "2026-09-03", "to": "2026-09-03"});
    let answers = six(b, "alloc-2").await;
    assert!(answers
        .iter()
        .all(|a| a.status == 201 && a.raw == answers[0].raw));
    assert_eq!(
        a.history(&id).await.len(),
        3,
        "one more change, whatever the race"
    );
}
