use kit::{key_with, TestRequest};
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn get(id: Uuid) -> TestRequest {
    TestRequest::event("get-establishment").establishment(id)
}

#[tokio::test]
async fn returns_the_representation() {
    let a = kit::bare_acme().await;
    let resp = a.call(get(a.est), &FUNCTION).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        serde_json::json!({"data": {
            "establishmentId": a.est.to_string(),
            "name": "Hôtel du Port",
            "timeZone": "Europe/Paris",
            "createdAt": "2026-06-01T10:00:00Z",
            "updatedAt": "2026-06-01T10:00:00Z",
        }})
    );
}

#[tokio::test]
async fn unknown_and_other_tenants_establishments_look_the_same() {
    let a = kit::bare_acme().await;
    let theirs = kit::establishment(&a.ctx.store, "globex").await;
    let foreign = a.call(get(theirs), &FUNCTION).await;
    let unknown = a.call(get(Uuid::new_v4()), &FUNCTION).await;
    foreign.assert_error(404, "NOT_FOUND");
    unknown.assert_error(404, "NOT_FOUND");
    assert_eq!(foreign.body["message"], unknown.body["message"]);
}

#[tokio::test]
async fn keys_need_the_read_scope_and_the_establishment() {
    let ctx = kit::ctx().await;
    let id = kit::establishment(&ctx.store, "acme").await;
    let minted = |establishments: Option<Vec<Uuid>>, scope: Scope| {
        let store = ctx.store.clone();
        async move { key_with(&store, "acme", establishments.as_deref(), &[scope]).await }
    };
    let write_only = minted(None, Scope::Write).await;
    let elsewhere = minted(Some(vec![Uuid::new_v4()]), Scope::Read).await;
    for key in [write_only, elsewhere] {
        let resp = get(id).key(&key).send(&FUNCTION, &ctx).await;
        resp.assert_error(403, "FORBIDDEN");
    }
    let here = minted(Some(vec![id]), Scope::Read).await;
    assert_eq!(get(id).key(&here).send(&FUNCTION, &ctx).await.status, 200);
    get(id)
        .without_header("x-api-key")
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_malformed_id_is_a_validation_error() {
    let a = kit::bare_acme().await;
    let bad = TestRequest::event("get-establishment").path_param("establishmentId", "123");
    a.call(bad, &FUNCTION)
        .await
        .assert_invalid(&["establishmentId"]);
}
