use kit::{allotment_body, ctx, key, key_with, TestRequest};
use serde_json::json;
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

use kit::create_allotment as create;

fn get(id: &str) -> TestRequest {
    TestRequest::event("get-allotment").path_param("allotmentId", id)
}

#[tokio::test]
async fn returns_what_creation_returned_with_its_etag() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let created = create(&ctx, &k, allotment_body(est)).await;
    let id = created["allotmentId"].as_str().unwrap();
    let resp = get(&id.to_uppercase()).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.headers["etag"], "\"1\"");
    assert_eq!(resp.data(), &created);
    assert_eq!(
        resp.data()["unitAllocations"],
        json!([{"unitTypeId": "dbl", "quantity": 10}])
    );
    assert_eq!(resp.data()["cancelledAt"], json!(null));
}

#[tokio::test]
async fn other_tenants_and_unknown_ids_are_404_and_scope_is_403() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let other = key(&ctx.store, "globex").await;
    get(&id)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    get(&Uuid::new_v4().to_string())
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    get("nope")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let elsewhere = key_with(&ctx.store, "acme", Some(&[Uuid::new_v4()]), &[Scope::Read]).await;
    get(&id)
        .key(&elsewhere)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
}
