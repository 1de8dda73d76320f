use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, pool_nights, TestRequest};

use super::FUNCTION;

async fn create(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    let created = create_allotment::created(ctx, k, body).await;
    created["allotmentId"].as_str().unwrap().to_string()
}

fn cancel(id: &str) -> TestRequest {
    TestRequest::event("cancel-allotment").path_param("allotmentId", id)
}

#[tokio::test]
async fn cancel_returns_every_room_and_repeats_as_a_no_op() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;
    testing::set_active_holds(&ctx.store, "acme", est, 1).await;

    let resp = cancel(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.data()["status"], "cancelled");
    assert_eq!(resp.data()["cancelledAt"], "2026-06-01T10:00:00Z");
    assert_eq!(resp.data()["totals"][0]["allocatedRoomNights"], 0);
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        assert_eq!((n.allotted, n.available), (0, 30), "{night}");
    }
    let again = cancel(&id)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.data()["version"], resp.data()["version"]);
    // The establishment no longer holds rooms: its time zone may change.
    let est_item = ctx
        .store
        .get_establishment(&testing::tenant("acme"), est)
        .await
        .unwrap();
    assert!(est_item.is_some());
}

#[tokio::test]
async fn released_allotments_and_active_pickups_refuse_cancel() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;
    let t = testing::tenant("acme");
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
    cancel(&id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");

    let second = create(&ctx, &k, allotment_body(est)).await;
    let p = TestRequest::event("create-pickup")
        .path_param("allotmentId", &second)
        .json(testing::pickup_body("dbl", "2026-09-02", "2026-09-03", 1))
        .key(&k)
        .send(&create_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(p.status, 201, "{}", p.raw);
    cancel(&second)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "ALLOTMENT_HAS_PICKUPS");
    let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
    assert_eq!(held[0].2.allotted, 10, "nothing returned");
    // Once the pickup is cancelled, the allotment can be.
    let pid = p.data()["pickupId"].as_str().unwrap().to_string();
    let c = TestRequest::event("cancel-pickup")
        .path_param("allotmentId", &second)
        .path_param("pickupId", &pid)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&cancel_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    let done = cancel(&second)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(done.status, 200, "{}", done.raw);
    // Once the pickup is cancelled, the allotment can be.
    let pid = p.data()["pickupId"].as_str().unwrap().to_string();
    let c = TestRequest::event("cancel-pickup")
        .path_param("allotmentId", &second)
        .path_param("pickupId", &pid)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&cancel_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    let done = cancel(&second)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(done.status, 200, "{}", done.raw);
    let bad = cancel(&second)
        .json(json!({"reason": 5}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
}
