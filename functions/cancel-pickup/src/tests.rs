use serde_json::json;
use shared::testing::{
    self, allotment_body, ctx, key, pickup_body, pool_nights, tenant, TestRequest,
};

use super::FUNCTION;

async fn setup(ctx: &shared::http::Ctx, k: &str) -> (uuid::Uuid, String, String) {
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create_allotment::created(ctx, k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let p = TestRequest::event("create-pickup")
        .path_param("allotmentId", &id)
        .json(pickup_body("dbl", "2026-09-02", "2026-09-05", 3))
        .key(k)
        .send(&create_pickup::FUNCTION, ctx)
        .await;
    assert_eq!(p.status, 201, "{}", p.raw);
    (est, id, p.data()["pickupId"].as_str().unwrap().to_string())
}

fn cancel(id: &str, pickup: &str) -> TestRequest {
    TestRequest::event("cancel-pickup")
        .path_param("allotmentId", id)
        .path_param("pickupId", pickup)
}

#[tokio::test]
async fn rooms_go_back_to_the_allotment_and_a_repeat_is_a_no_op() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id, pickup) = setup(&ctx, &k).await;
    let resp = cancel(&id, &pickup).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.data()["status"], "cancelled");
    assert_eq!(resp.data()["cancelledAt"], "2026-06-01T10:00:00Z");
    let (record, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.active_pickups, 0);
    assert!(grid.values().all(|n| n.picked_up == 0 && n.allocated == 10));
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.picked_up == 0 && n.allotted == 10)
    );

    let again = cancel(&id, &pickup).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.raw,
        resp.raw.replace(
            resp.headers["x-trace-id"].to_str().unwrap(),
            again.headers["x-trace-id"].to_str().unwrap()
        )
    );
    let (record, _) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.active_pickups, 0, "counted once");
}

#[tokio::test]
async fn on_released_nights_rooms_go_back_to_the_pool() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id, pickup) = setup(&ctx, &k).await;
    let t = tenant("acme");
    let (record, grid) = ctx
        .store
        .require_allotment(&t, id.parse().unwrap())
        .await
        .unwrap();
    let reason = shared::domain::allotment::ReleaseReason::Manual(None);
    let released = shared::domain::allotment::plan_release(
        &record,
        &grid,
        record.period_to,
        &reason,
        testing::now(),
    )
    .unwrap();
    assert_eq!(
        ctx.store.apply(&t, &released.allotment.plan).await.unwrap(),
        shared::store::Applied::Done
    );
    let held = pool_nights(&ctx.store, "acme", est, "2026-09-02", "2026-09-02").await;
    assert_eq!(
        (held[0].2.allotted, held[0].2.picked_up),
        (3, 3),
        "a released allotment keeps its picked-up rooms"
    );

    let resp = cancel(&id, &pickup).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        assert_eq!(
            (n.allotted, n.picked_up, n.available),
            (0, 0, 30),
            "{night}"
        );
    }
    let (_, grid) = ctx
        .store
        .require_allotment(&t, id.parse().unwrap())
        .await
        .unwrap();
    assert!(grid.values().all(|n| n.allocated == 0 && n.picked_up == 0));
}

#[tokio::test]
async fn unknown_pickups_and_other_tenants_are_404() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (_, id, pickup) = setup(&ctx, &k).await;
    cancel(&id, &uuid::Uuid::now_v7().to_string())
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let other = key(&ctx.store, "globex").await;
    cancel(&id, &pickup)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let bad = cancel(&id, &pickup)
        .json(json!({"reason": "x"}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    let (record, _) = ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(record.active_pickups, 1, "nothing cancelled");
}
