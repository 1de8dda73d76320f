use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, pool_nights, TestRequest};

use super::FUNCTION;

async fn create(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    let created = create_allotment::created(ctx, k, body).await;
    created["allotmentId"].as_str().unwrap().to_string()
}

fn release(id: &str) -> TestRequest {
    TestRequest::event("release-allotment").path_param("allotmentId", id)
}

#[tokio::test]
async fn a_manual_release_returns_every_unpicked_room_and_is_idempotent() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;

    let resp = release(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    let d = resp.data();
    assert_eq!(d["status"], "released");
    assert_eq!(d["cutoff"]["nextReleaseAt"], json!(null));
    assert_eq!(
        d["cutoff"]["finalReleaseAt"], "2026-06-01T10:00:00Z",
        "the moment of the manual release"
    );
    assert_eq!(d["totals"][0]["allocatedRoomNights"], 0);
    assert_eq!(d["totals"][0]["releasedRoomNights"], 70);
    assert_eq!(d["totals"][0]["contractedRoomNights"], 70);
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        assert_eq!((n.allotted, n.available), (0, 30), "{night}");
    }
    let history = ctx
        .store
        .allocation_history(&testing::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    let memos: Vec<_> = history.iter().map(|e| e.memo.clone().unwrap()).collect();
    assert_eq!(
        memos,
        [
            "released manually: Group size confirmed early",
            "initial allocation"
        ]
    );
    assert_eq!(
        (history[0].quantity, history[0].previous_quantity),
        (Some(0), Some(10))
    );

    let again = release(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.data()["version"], d["version"], "nothing changes");
    assert_eq!(
        ctx.store
            .allocation_history(&testing::tenant("acme"), id.parse().unwrap())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_cancelled_allotment_cannot_be_released() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;
    let (record, grid) = ctx
        .store
        .require_allotment(&testing::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    let cancelled = shared::domain::allotment::plan_cancel(&record, &grid, testing::now())
        .unwrap()
        .unwrap();
    assert_eq!(
        ctx.store
            .apply(&testing::tenant("acme"), &cancelled.plan)
            .await
            .unwrap(),
        shared::store::Applied::Done
    );
    release(&id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let long = release(&id)
        .json(json!({"reason": "x".repeat(501)}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    long.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(long.fields(), ["reason"]);
}
