use kit::{ctx, key, key_with, TestRequest};
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn get(id: Uuid) -> TestRequest {
    TestRequest::event("get-establishment").establishment(id)
}

#[tokio::test]
async fn returns_the_representation() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let id = kit::establishment(&ctx.store, "acme").await;
    let resp = get(id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(
        resp.body,
        serde_json::json!({"data": {
            "establishmentId": id.to_string(),
            "name": "Hôtel du Port",
            "timeZone": "Europe/Paris",
            "createdAt": "2026-06-01T10:00:00Z",
            "updatedAt": "2026-06-01T10:00:00Z",
        }})
    );
}

#[tokio::test]
async fn unknown_and_other_tenants_establishments_look_the_same() {
    let ctx = ctx().await;
    let mine = key(&ctx.store, "acme").await;
    let theirs = kit::establishment(&ctx.store, "globex").await;
    let a = get(theirs).key(&mine).send(&FUNCTION, &ctx).await;
    let b = get(Uuid::new_v4()).key(&mine).send(&FUNCTION, &ctx).await;
    a.assert_error(404, "NOT_FOUND");
    b.assert_error(404, "NOT_FOUND");
    assert_eq!(a.body["message"], b.body["message"]);
}

#[tokio::test]
async fn keys_need_the_read_scope_and_the_establishment() {
    let ctx = ctx().await;
    let id = kit::establishment(&ctx.store, "acme").await;
    let write_only = key_with(&ctx.store, "acme", None, &[Scope::Write]).await;
    get(id)
        .key(&write_only)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
    let elsewhere = key_with(&ctx.store, "acme", Some(&[Uuid::new_v4()]), &[Scope::Read]).await;
    get(id)
        .key(&elsewhere)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
    let here = key_with(&ctx.store, "acme", Some(&[id]), &[Scope::Read]).await;
    assert_eq!(get(id).key(&here).send(&FUNCTION, &ctx).await.status, 200);
    get(id)
        .without_header("x-api-key")
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_malformed_id_is_a_validation_error() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let resp = TestRequest::event("get-establishment")
        .path_param("establishmentId", "123")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(resp.fields(), ["establishmentId"]);
}
