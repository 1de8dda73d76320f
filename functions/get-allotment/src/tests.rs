use kit::{key_with, TestRequest};
use serde_json::json;
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn get(id: &str) -> TestRequest {
    TestRequest::on_allotment("get-allotment", id)
}

#[tokio::test]
async fn returns_what_creation_returned_with_its_etag() {
    let a = kit::acme().await;
    let created = kit::create_allotment(&a.ctx, &a.key, kit::allotment_body(a.est)).await;
    let id = created["allotmentId"].as_str().unwrap();
    let resp = a.call(get(&id.to_uppercase()), &FUNCTION).await;
    assert_eq!(resp.expect(200), &created);
    assert_eq!(resp.headers["etag"], "\"1\"");
    assert_eq!(
        resp.data()["unitAllocations"],
        json!([{"unitTypeId": "dbl", "quantity": 10}])
    );
    assert_eq!(resp.data()["cancelledAt"], json!(null));
}

#[tokio::test]
async fn other_tenants_and_unknown_ids_are_404_and_scope_is_403() {
    let (a, id) = kit::acme_allotment().await;
    a.assert_hidden(get(&id), &FUNCTION).await;
    let unknown = a.call(get(&Uuid::new_v4().to_string()), &FUNCTION).await;
    unknown.assert_error(404, "NOT_FOUND");
    a.call(get("nope"), &FUNCTION)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let elsewhere = key_with(
        &a.ctx.store,
        "acme",
        Some(&[Uuid::new_v4()]),
        &[Scope::Read],
    )
    .await;
    get(&id)
        .key(&elsewhere)
        .send(&FUNCTION, &a.ctx)
        .await
        .assert_error(403, "FORBIDDEN");
}
