use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, TestRequest};

use super::FUNCTION;

async fn create(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    let created = create_allotment::created(ctx, k, body).await;
    created["allotmentId"].as_str().unwrap().to_string()
}

fn confirm(id: &str) -> TestRequest {
    TestRequest::event("confirm-allotment").path_param("allotmentId", id)
}

fn tentative(est: uuid::Uuid) -> serde_json::Value {
    let mut b = allotment_body(est);
    b["allotmentType"] = json!("tentative");
    b["penaltyPerRoomNightCents"] = json!(null);
    b
}

#[tokio::test]
async fn a_tentative_option_is_confirmed_with_penalty_terms() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, tentative(est)).await;

    let missing = confirm(&id)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    missing.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(missing.fields(), ["penaltyPerRoomNightCents"]);

    let ok = confirm(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert_eq!(ok.data()["allotmentType"], "allotment");
    assert_eq!(ok.data()["penaltyPerRoomNightCents"], "5000");
    assert_eq!(ok.data()["confirmedAt"], "2026-06-01T10:00:00Z");
    assert_eq!(ok.data()["version"], 2);

    confirm(&id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
}

#[tokio::test]
async fn an_empty_body_keeps_existing_terms_and_bad_bodies_are_refused() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let mut b = tentative(est);
    b["penaltyPerRoomNightCents"] = json!("1200");
    let id = create(&ctx, &k, b).await;
    let bad = confirm(&id)
        .json(json!({"penaltyPerRoomNightCents": 12, "note": "x"}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["penaltyPerRoomNightCents", "note"]);
    let ok = confirm(&id)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert_eq!(ok.data()["penaltyPerRoomNightCents"], "1200");

    let contractual = create(&ctx, &k, allotment_body(est)).await;
    confirm(&contractual)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let other = key(&ctx.store, "globex").await;
    confirm(&id)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
