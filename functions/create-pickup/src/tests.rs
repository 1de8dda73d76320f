use std::collections::BTreeMap;

use kit::{date, pickup_body, Acme, TestRequest, TestResponse};
use serde_json::{json, Value};

use super::FUNCTION;

fn pickup(id: &str, body: Value) -> TestRequest {
    TestRequest::on_allotment("create-pickup", id).json(body)
}

/// A pickup of `quantity` `dbl` rooms from `arrival` to `departure` by `acme`.
async fn take(a: &Acme, id: &str, arrival: &str, departure: &str, quantity: i64) -> TestResponse {
    let body = pickup_body("dbl", arrival, departure, quantity);
    a.call(pickup(id, body), &FUNCTION).await
}

/// The rooms picked up each night of the grid.
fn picked(grid: &shared::domain::allotment::Grid) -> BTreeMap<String, i64> {
    grid.iter()
        .map(|((_, d), n)| (d.to_string(), n.picked_up))
        .collect()
}

#[tokio::test]
async fn a_pickup_takes_rooms_from_the_allotment_night_by_night() {
    let (a, id) = kit::acme_allotment().await;
    let sample = TestRequest::on_allotment("create-pickup", &id);
    let d = a.call(sample, &FUNCTION).await.expect(201).clone();
    assert_eq!(d["status"], "active");
    assert_eq!(d["quantity"], 2);
    assert_eq!(d["reservationRef"], "PMS-48213");
    assert_eq!(d["allotmentId"], id.as_str());
    assert!(d["pickupId"].as_str().is_some());

    let (record, grid) = a.stored(&id).await;
    assert_eq!(record.active_pickups, 1);
    let picked = picked(&grid);
    assert_eq!(picked["2026-09-01"], 0);
    assert_eq!(picked["2026-09-02"], 2);
    assert_eq!(picked["2026-09-04"], 2);
    assert_eq!(picked["2026-09-05"], 0, "departure is not a night");
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        let want = if (date("2026-09-02")..=date("2026-09-04")).contains(&night) {
            2
        } else {
            0
        };
        assert_eq!((n.picked_up, n.allotted), (want, 10), "{night}");
    }
}

#[tokio::test]
async fn a_pickup_across_a_month_boundary_and_every_short_night() {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-08-01", "2026-09-30", 30).await;
    let id = a
        .allotment(json!({"periodFrom": "2026-08-28", "periodTo": "2026-09-03",
                          "cutoffDate": "2026-08-01",
                          "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}]}))
        .await;
    take(&a, &id, "2026-08-30", "2026-09-02", 2)
        .await
        .expect(201);
    let short = take(&a, &id, "2026-08-29", "2026-09-03", 2).await;
    short.assert_conflict(
        "ALLOTMENT_EXHAUSTED",
        json!([
            {"unitTypeId": "dbl", "date": "2026-08-30", "requested": 2, "remaining": 1},
            {"unitTypeId": "dbl", "date": "2026-08-31", "requested": 2, "remaining": 1},
            {"unitTypeId": "dbl", "date": "2026-09-01", "requested": 2, "remaining": 1},
        ]),
    );
    let (_, grid) = a.stored(&id).await;
    assert_eq!(
        grid.values().map(|n| n.picked_up).sum::<i64>(),
        6,
        "the refused pickup took nothing"
    );
}

#[tokio::test]
async fn pickups_need_a_confirmed_active_allotment_and_valid_nights() {
    let (a, id) = kit::acme_allotment().await;
    // The departure lies past periodTo + 1: it is the date named (issue 14, item 4).
    let outside = take(&a, &id, "2026-09-06", "2026-09-09", 1).await;
    outside.assert_invalid(&["departure"]);
    let last_night = take(&a, &id, "2026-09-06", "2026-09-08", 1).await;
    assert_eq!(
        last_night.status, 201,
        "a departure on periodTo + 1 is inside: {}",
        last_night.raw
    );
    let fields = |r: TestResponse| r.fields();
    let early = take(&a, &id, "2026-08-30", "2026-09-02", 1).await;
    assert_eq!(fields(early), ["arrival"]);
    let both = take(&a, &id, "2026-08-30", "2026-09-10", 1).await;
    assert_eq!(fields(both), ["arrival", "departure"]);
    let unit = pickup(&id, pickup_body("ste", "2026-09-02", "2026-09-03", 1));
    assert_eq!(fields(a.call(unit, &FUNCTION).await), ["unitTypeId"]);
    let same_day = take(&a, &id, "2026-09-02", "2026-09-02", 1).await;
    assert_eq!(fields(same_day), ["departure"]);

    let option = a.allotment(json!({"allotmentType": "tentative"})).await;
    let on_option = take(&a, &option, "2026-09-02", "2026-09-03", 1).await;
    on_option.assert_error(409, "INVALID_STATE");

    kit::release(&a.ctx, &a.key, &id, None).await;
    let released = take(&a, &id, "2026-09-02", "2026-09-03", 1).await;
    released.assert_error(409, "INVALID_STATE");
    let body = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
    a.assert_hidden(pickup(&option, body), &FUNCTION).await;
}

/// 25 concurrent pickups of 1 room on an allotment of 5: exactly 5 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_five_racing_pickups_take_exactly_five_rooms() {
    let a = kit::acme().await;
    let five = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}]});
    let id = a.allotment(five).await;
    let with = (a.clone(), id.clone());
    let racers = kit::concurrently(25, &with, |(a, id), _| async move {
        take(&a, &id, "2026-09-03", "2026-09-05", 1).await
    });
    let mut outcomes: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for r in racers.await {
        *outcomes
            .entry((r.status, r.code().to_string()))
            .or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ((201, String::new()), 5),
            ((409, "ALLOTMENT_EXHAUSTED".to_string()), 20)
        ])
    );
    let (record, grid) = a.stored(&id).await;
    assert_eq!(record.active_pickups, 5);
    for ((_, d), n) in &grid {
        let want = if d.to_string() == "2026-09-03" || d.to_string() == "2026-09-04" {
            5
        } else {
            0
        };
        assert_eq!(n.picked_up, want, "{d}");
        assert!(n.picked_up <= n.allocated);
    }
    assert!(a
        .pool("2026-09-03", "2026-09-04")
        .await
        .iter()
        .all(|(_, _, n)| n.picked_up == 5 && n.allotted == 5));
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_pickup_take_rooms_once() {
    let (a, id) = kit::acme_allotment().await;
    let send = || {
        pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-04", 2))
            .header("idempotency-key", "res-48213")
    };
    let first = a.call(send(), &FUNCTION).await;
    let again = a.call(send(), &FUNCTION).await;
    assert_eq!(first.status, 201);
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    let (record, grid) = a.stored(&id).await;
    assert_eq!(record.active_pickups, 1);
    assert_eq!(grid.values().map(|n| n.picked_up).sum::<i64>(), 4);
    // The representation and the nights show the pickups.
    let view = kit::json(record.representation(&grid));
    assert_eq!(view["totals"][0]["pickedUpRoomNights"], 4);
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(op, n)| (op.to_string(), *n)).collect()
}

/// A warm process writes a pickup in one round trip (after the key lookup); the first
/// pickup of an allotment, and a refused one, read the allotment too.
#[tokio::test]
async fn a_warm_pickup_is_one_round_trip() {
    let (ctx, requests) = kit::counting_ctx().await;
    let a = kit::acme_on(ctx).await;
    let id = a.allotment(json!({})).await;
    requests.take();

    take(&a, &id, "2026-09-01", "2026-09-04", 2)
        .await
        .expect(201);
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)]),
        "auth, the read of the allotment, the transaction"
    );
    take(&a, &id, "2026-09-02", "2026-09-05", 3)
        .await
        .expect(201);
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "auth and the transaction only"
    );
    // 10 rooms; 5 taken on the 2nd and 3rd: 6 more is refused, with every short night.
    let refused = take(&a, &id, "2026-09-01", "2026-09-05", 6).await;
    refused.assert_error(409, "ALLOTMENT_EXHAUSTED");
    let short: Vec<&str> = refused.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["date"].as_str().unwrap())
        .collect();
    assert_eq!(short, ["2026-09-02", "2026-09-03"]);
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)]),
        "the refused transaction, then the read that says why"
    );
    // Outside the period: the same 400 as without the shortcut, nothing written.
    let outside = take(&a, &id, "2026-09-06", "2026-09-09", 1).await;
    outside.assert_invalid(&["departure"]);
    // A stay of centuries (found by the fuzzer): the same 400, at once.
    let endless = take(&a, &id, "2026-09-02", "5292-04-20", 1).await;
    endless.assert_invalid(&["departure"]);
    let picked = a.per_night("dbl", "2026-09-01", "2026-09-05", |n| n.picked_up);
    assert_eq!(picked.await, [2, 5, 5, 3, 0]);
}

/// A warm member that has too few rooms of its own: the blind transaction is refused,
/// the read of the allotment and its group plans the draw, the second transaction
/// takes it.
#[tokio::test]
async fn a_warm_pickup_beyond_its_own_rooms_draws_on_the_group_after_one_refusal() {
    let (ctx, requests) = kit::counting_ctx().await;
    let a = kit::acme_on(ctx).await;
    let two = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 2}]});
    let id = a.allotment(two).await;
    // A group of 3 with this member.
    let group_body = json!({"establishmentId": a.est.to_string(), "name": "Pool", "periodFrom": "2026-09-01",
        "periodTo": "2026-09-07", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}],
        "cutoffDate": "2026-08-15", "allotmentIds": [id]});
    let group = kit::group(&a.ctx, &a.key, group_body).await;
    let group_id: uuid::Uuid = group["capacityGroupId"].as_str().unwrap().parse().unwrap();
    let first = take(&a, &id, "2026-09-02", "2026-09-03", 1).await;
    assert!(
        first.expect(201).get("capacityGroupId").is_none(),
        "own rooms only"
    );
    requests.take();

    let drew = take(&a, &id, "2026-09-02", "2026-09-04", 3).await;
    assert_eq!(drew.expect(201)["capacityGroupId"], group_id.to_string());
    assert_eq!(
        drew.data()["fromGroup"],
        json!([{"date": "2026-09-02", "quantity": 2}, {"date": "2026-09-03", "quantity": 1}])
    );
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("Query", 2), ("TransactWriteItems", 2)]),
        "auth, the refused blind transaction, the allotment and group reads, the draw"
    );
    let g = a
        .ctx
        .store
        .require_group(&kit::tenant("acme"), group_id)
        .await
        .unwrap();
    let used: Vec<i64> = g.grid.values().map(|n| n.used).collect();
    assert_eq!(used, [0, 2, 1, 0, 0, 0, 0]);
    assert_eq!(g.active_draws, 1);
}

/// Issue 13's budget: a keyed pickup on a warm process is the key lookup and ONE
/// DynamoDB request (its record rides in the pickup's transaction); its replay costs
/// the same and takes nothing.
#[tokio::test]
async fn a_warm_keyed_pickup_is_one_round_trip_and_its_replay_takes_nothing() {
    let (ctx, requests) = kit::counting_ctx().await;
    let a = kit::acme_on(ctx.clone()).await;
    let (k, id) = (a.key.clone(), a.allotment(json!({})).await);
    let keyed = |key: &str| {
        pickup(&id, pickup_body("dbl", "2026-09-01", "2026-09-03", 2))
            .key(&k)
            .header("idempotency-key", key)
    };
    assert_eq!(keyed("warm-up").send(&FUNCTION, &ctx).await.status, 201);
    requests.take();
    let first = keyed("pk-1").send(&FUNCTION, &ctx).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let counts: BTreeMap<String, u64> = [("GetItem", 1), ("TransactWriteItems", 1)]
        .iter()
        .map(|(op, n)| (op.to_string(), *n))
        .collect();
    assert_eq!(requests.take(), counts, "auth and the one transaction");
    let again = keyed("pk-1").send(&FUNCTION, &ctx).await;
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    assert_eq!(
        requests.take(),
        counts,
        "the replay: refused on its record, which it answers"
    );
    let nights = kit::pool_nights(&ctx.store, "acme", a.est, "2026-09-01", "2026-09-01").await;
    assert_eq!(nights[0].2.picked_up, 4, "two pickups of 2, not three");
}
