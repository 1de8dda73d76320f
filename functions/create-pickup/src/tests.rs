use std::collections::BTreeMap;

use kit::{allotment_body, ctx, key, pickup_body, pool_nights, tenant, TestRequest};
use serde_json::json;

use super::FUNCTION;

async fn allotment(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    kit::create_allotment(ctx, k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn pickup(id: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::event("create-pickup")
        .path_param("allotmentId", id)
        .json(body)
}

#[tokio::test]
async fn a_pickup_takes_rooms_from_the_allotment_night_by_night() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = allotment(&ctx, &k, allotment_body(est)).await;
    let resp = TestRequest::event("create-pickup")
        .path_param("allotmentId", &id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 201, "{}", resp.raw);
    let d = resp.data();
    assert_eq!(d["status"], "active");
    assert_eq!(d["quantity"], 2);
    assert_eq!(d["reservationRef"], "PMS-48213");
    assert_eq!(d["allotmentId"], id.as_str());
    assert!(d["pickupId"].as_str().is_some());

    let (record, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.active_pickups, 1);
    let picked: BTreeMap<String, i64> = grid
        .iter()
        .map(|((_, d), n)| (d.to_string(), n.picked_up))
        .collect();
    assert_eq!(picked["2026-09-01"], 0);
    assert_eq!(picked["2026-09-02"], 2);
    assert_eq!(picked["2026-09-04"], 2);
    assert_eq!(picked["2026-09-05"], 0, "departure is not a night");
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        let want = if (kit::date("2026-09-02")..=kit::date("2026-09-04")).contains(&night) {
            2
        } else {
            0
        };
        assert_eq!((n.picked_up, n.allotted), (want, 10), "{night}");
    }
}

#[tokio::test]
async fn a_pickup_across_a_month_boundary_and_every_short_night() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-08-01",
        "2026-09-30",
        30,
    )
    .await;
    let mut body = allotment_body(est);
    body["periodFrom"] = json!("2026-08-28");
    body["periodTo"] = json!("2026-09-03");
    body["cutoffDate"] = json!("2026-08-01");
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 3}]);
    let id = allotment(&ctx, &k, body).await;
    let across = pickup(&id, pickup_body("dbl", "2026-08-30", "2026-09-02", 2))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(across.status, 201, "{}", across.raw);
    let short = pickup(&id, pickup_body("dbl", "2026-08-29", "2026-09-03", 2))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    short.assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert_eq!(
        short.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-08-30", "requested": 2, "remaining": 1},
            {"unitTypeId": "dbl", "date": "2026-08-31", "requested": 2, "remaining": 1},
            {"unitTypeId": "dbl", "date": "2026-09-01", "requested": 2, "remaining": 1},
        ])
    );
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        grid.values().map(|n| n.picked_up).sum::<i64>(),
        6,
        "the refused pickup took nothing"
    );
}

#[tokio::test]
async fn pickups_need_a_confirmed_active_allotment_and_valid_nights() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = allotment(&ctx, &k, allotment_body(est)).await;
    let outside = pickup(&id, pickup_body("dbl", "2026-09-06", "2026-09-09", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    outside.assert_error(400, "VALIDATION_ERROR");
    // The departure lies past periodTo + 1: it is the date named (issue 14, item 4).
    assert_eq!(outside.fields(), ["departure"]);
    let last_night = pickup(&id, pickup_body("dbl", "2026-09-06", "2026-09-08", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(
        last_night.status, 201,
        "a departure on periodTo + 1 is inside: {}",
        last_night.raw
    );
    let early = pickup(&id, pickup_body("dbl", "2026-08-30", "2026-09-02", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(early.fields(), ["arrival"]);
    let both = pickup(&id, pickup_body("dbl", "2026-08-30", "2026-09-10", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(both.fields(), ["arrival", "departure"]);
    let unit = pickup(&id, pickup_body("ste", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(unit.fields(), ["unitTypeId"]);
    let same_day = pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-02", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(same_day.fields(), ["departure"]);

    let mut tentative = allotment_body(est);
    tentative["allotmentType"] = json!("tentative");
    let option = allotment(&ctx, &k, tentative).await;
    pickup(&option, pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");

    kit::release(&ctx, &k, &id, None).await;
    pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let other = key(&ctx.store, "globex").await;
    pickup(&option, pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}

/// 25 concurrent pickups of 1 room on an allotment of 5: exactly 5 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_five_racing_pickups_take_exactly_five_rooms() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 5}]);
    let id = allotment(&ctx, &k, body).await;
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let (ctx, k, id) = (ctx.clone(), k.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            pickup(&id, pickup_body("dbl", "2026-09-03", "2026-09-05", 1))
                .key(&k)
                .send(&FUNCTION, &ctx)
                .await
        }));
    }
    let mut outcomes: BTreeMap<(u16, String), usize> = BTreeMap::new();
    for t in tasks {
        let r = t.await.unwrap();
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
    let (record, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
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
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-03", "2026-09-04").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.picked_up == 5 && n.allotted == 5));
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_pickup_take_rooms_once() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = allotment(&ctx, &k, allotment_body(est)).await;
    let send = || {
        pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-04", 2))
            .key(&k)
            .header("idempotency-key", "res-48213")
            .send(&FUNCTION, &ctx)
    };
    let first = send().await;
    let again = send().await;
    assert_eq!(first.status, 201);
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    let (record, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.active_pickups, 1);
    assert_eq!(grid.values().map(|n| n.picked_up).sum::<i64>(), 4);
    // The representation and the nights show the pickups.
    let view = kit::json(record.representation(&grid));
    assert_eq!(view["totals"][0]["pickedUpRoomNights"], 4);
}

/// A warm process writes a pickup in one round trip (after the key lookup); the first
/// pickup of an allotment, and a refused one, read the allotment too.
#[tokio::test]
async fn a_warm_pickup_is_one_round_trip() {
    let (ctx, requests) = kit::counting_ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = allotment(&ctx, &k, allotment_body(est)).await;
    let take = |arrival: &str, departure: &str, quantity: i64| {
        pickup(&id, pickup_body("dbl", arrival, departure, quantity)).key(&k)
    };
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(op, n)| (op.to_string(), *n)).collect()
    };
    requests.take();

    let first = take("2026-09-01", "2026-09-04", 2)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)]),
        "auth, the read of the allotment, the transaction"
    );
    let warm = take("2026-09-02", "2026-09-05", 3)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(warm.status, 201, "{}", warm.raw);
    assert_eq!(
        requests.take(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "auth and the transaction only"
    );
    // 10 rooms; 5 taken on the 2nd and 3rd: 6 more is refused, with every short night.
    let refused = take("2026-09-01", "2026-09-05", 6)
        .send(&FUNCTION, &ctx)
        .await;
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
    let outside = take("2026-09-06", "2026-09-09", 1)
        .send(&FUNCTION, &ctx)
        .await;
    outside.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(outside.fields(), vec!["departure"]);
    // A stay of centuries (found by the fuzzer): the same 400, at once.
    let endless = take("2026-09-02", "5292-04-20", 1)
        .send(&FUNCTION, &ctx)
        .await;
    endless.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(endless.fields(), vec!["departure"]);
    let nights = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-05").await;
    let picked: Vec<i64> = nights
        .iter()
        .filter(|(unit, _, _)| unit == "dbl")
        .map(|(_, _, n)| n.picked_up)
        .collect();
    assert_eq!(picked, [2, 5, 5, 3, 0]);
}

/// A warm member that has too few rooms of its own: the blind transaction is refused,
/// the read of the allotment and its group plans the draw, the second transaction
/// takes it.
#[tokio::test]
async fn a_warm_pickup_beyond_its_own_rooms_draws_on_the_group_after_one_refusal() {
    let (ctx, requests) = kit::counting_ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 2}]);
    let id = allotment(&ctx, &k, body).await;
    // A group of 3 with this member.
    let group_body = json!({"establishmentId": est.to_string(), "name": "Pool", "periodFrom": "2026-09-01",
        "periodTo": "2026-09-07", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}],
        "cutoffDate": "2026-08-15", "allotmentIds": [id]});
    let group = kit::group(&ctx, &k, group_body).await;
    let group_id: uuid::Uuid = group["capacityGroupId"].as_str().unwrap().parse().unwrap();
    let t = tenant("acme");
    let first = pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    assert!(
        first.data().get("capacityGroupId").is_none(),
        "own rooms only"
    );
    requests.take();

    let drew = pickup(&id, pickup_body("dbl", "2026-09-02", "2026-09-04", 3))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(drew.status, 201, "{}", drew.raw);
    assert_eq!(drew.data()["capacityGroupId"], group_id.to_string());
    assert_eq!(
        drew.data()["fromGroup"],
        json!([{"date": "2026-09-02", "quantity": 2}, {"date": "2026-09-03", "quantity": 1}])
    );
    assert_eq!(
        requests.take(),
        BTreeMap::from([
            ("GetItem".to_string(), 1),
            ("Query".to_string(), 2),
            ("TransactWriteItems".to_string(), 2)
        ]),
        "auth, the refused blind transaction, the allotment and group reads, the draw"
    );
    let g = ctx.store.require_group(&t, group_id).await.unwrap();
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
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = allotment(&ctx, &k, allotment_body(est)).await;
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
    let nights = kit::pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
    assert_eq!(nights[0].2.picked_up, 4, "two pickups of 2, not three");
}
