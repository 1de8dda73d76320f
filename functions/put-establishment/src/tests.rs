use kit::{key_with, TestRequest, TestResponse};
use serde_json::{json, Value};
use shared::domain::auth::Scope;
use shared::http::Ctx;
use uuid::Uuid;

use super::FUNCTION;

fn put(id: &str) -> TestRequest {
    TestRequest::event("put-establishment").path_param("establishmentId", id)
}

fn body() -> Value {
    json!({"name": "Hôtel du Port", "timeZone": "Europe/Paris"})
}

/// `PUT /v1/establishments/{id}` of `body` with `key`.
async fn send(ctx: &Ctx, key: &str, id: &str, body: Value) -> TestResponse {
    put(id).key(key).json(body).send(&FUNCTION, ctx).await
}

/// The stored establishment `id` of `acme`, if any.
async fn stored(ctx: &Ctx, id: &str) -> Option<shared::domain::establishment::Establishment> {
    let t = kit::tenant("acme");
    ctx.store
        .get_establishment(&t, id.parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sample_event_creates_then_updates() {
    let ctx = kit::ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let created = TestRequest::event("put-establishment")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    let d = created.expect(201);
    assert_eq!(d["establishmentId"], "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0");
    assert_eq!(d["name"], "Hôtel du Port");
    assert_eq!(d["timeZone"], "Europe/Paris");
    assert_eq!(d["createdAt"], "2026-06-01T10:00:00Z");
    assert_eq!(d["updatedAt"], "2026-06-01T10:00:00Z");
    assert_eq!(created.headers["content-type"], "application/json");

    let later = Ctx::with_now(
        ctx.store.clone(),
        kit::now() + std::time::Duration::from_secs(3600),
    );
    let renamed = json!({"name": "Hôtel du Vieux Port", "timeZone": "Europe/Paris"});
    let updated = TestRequest::event("put-establishment")
        .key(&k)
        .json(renamed)
        .send(&FUNCTION, &later)
        .await;
    assert_eq!(updated.expect(200)["name"], "Hôtel du Vieux Port");
    assert_eq!(updated.data()["createdAt"], "2026-06-01T10:00:00Z");
    assert_eq!(updated.data()["updatedAt"], "2026-06-01T11:00:00Z");
}

#[tokio::test]
async fn ids_are_accepted_in_any_case_and_returned_lowercase() {
    let ctx = kit::ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let resp = send(&ctx, &k, "2489E9AD-2EE2-8E00-8EC9-32D5F69181CA", body()).await;
    assert_eq!(
        resp.expect(201)["establishmentId"],
        "2489e9ad-2ee2-8e00-8ec9-32d5f69181ca"
    );
    let again = send(&ctx, &k, "2489e9ad-2ee2-8e00-8ec9-32d5f69181ca", body()).await;
    assert_eq!(again.status, 200, "same establishment whatever the case");
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_written() {
    let ctx = kit::ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let id = Uuid::new_v4().to_string();
    let bad = json!({"name": "x".repeat(201), "timeZone": "Europe/Atlantis", "createdAt": "now", "status": 1});
    send(&ctx, &k, &id, bad)
        .await
        .assert_invalid(&["name", "timeZone", "createdAt", "status"]);
    assert!(stored(&ctx, &id).await.is_none());

    let wrong_types = send(&ctx, &k, &id, json!({"name": 5, "timeZone": null})).await;
    wrong_types.assert_invalid(&["name", "timeZone"]);
    let bad_id = send(&ctx, &k, "not-a-uuid", body()).await;
    bad_id.assert_invalid(&["establishmentId"]);
}

#[tokio::test]
async fn malformed_bodies() {
    let ctx = kit::ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let id = Uuid::new_v4().to_string();
    let raw = |bytes: Vec<u8>, content_type: Option<&str>| {
        put(&id)
            .key(&k)
            .raw_body(bytes, content_type)
            .send(&FUNCTION, &ctx)
    };
    for text in [&b"{\"name\": "[..], b"[1, 2]", b"\"text\"", b"null"] {
        let resp = raw(text.to_vec(), Some("application/json")).await;
        resp.assert_error(400, "BAD_REQUEST");
    }
    raw(Vec::new(), None).await.assert_error(400, "BAD_REQUEST");

    let json_text = body().to_string().into_bytes();
    let text = raw(json_text.clone(), Some("text/plain")).await;
    text.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let none = raw(json_text, None).await;
    none.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let mut big = br#"{"name": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 300 * 1024));
    big.extend(br#"", "timeZone": "Europe/Paris"}"#);
    let large = raw(big, Some("application/json")).await;
    large.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert!(stored(&ctx, &id).await.is_none());
}

#[tokio::test]
async fn authentication_and_scopes() {
    let ctx = kit::ctx().await;
    let id = Uuid::new_v4();
    let none = put(&id.to_string())
        .without_header("x-api-key")
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    none.assert_error(401, "UNAUTHENTICATED");
    let unknown = "ak0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let unknown = send(&ctx, unknown, &id.to_string(), body()).await;
    unknown.assert_error(401, "UNAUTHENTICATED");

    let k = kit::key(&ctx.store, "acme").await;
    let (key_id, secret) = k.split_once('.').unwrap();
    let wrong_secret = format!("{key_id}.{}", secret.chars().rev().collect::<String>());
    send(&ctx, &wrong_secret, &id.to_string(), body())
        .await
        .assert_error(401, "UNAUTHENTICATED");

    let bearer = put(&id.to_string())
        .without_header("x-api-key")
        .header("authorization", &format!("Bearer {k}"))
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    bearer.expect(201);

    assert!(ctx.store.revoke_key(key_id).await.unwrap());
    send(&ctx, &k, &id.to_string(), body())
        .await
        .assert_error(401, "UNAUTHENTICATED");

    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    let forbidden = send(&ctx, &read_only, &id.to_string(), body()).await;
    forbidden.assert_error(403, "FORBIDDEN");

    let other = Uuid::new_v4().to_string();
    let both = [Scope::Read, Scope::Write];
    let scoped = key_with(&ctx.store, "acme", Some(&[id]), &both).await;
    let ok = send(&ctx, &scoped, &id.to_string(), body()).await;
    assert_eq!(ok.status, 200);
    let outside = send(&ctx, &scoped, &other, body()).await;
    outside.assert_error(403, "FORBIDDEN");
    assert!(stored(&ctx, &other).await.is_none());
}

#[tokio::test]
async fn the_same_id_under_another_tenant_is_another_establishment() {
    let ctx = kit::ctx().await;
    let a = kit::key(&ctx.store, "acme").await;
    let b = kit::key(&ctx.store, "globex").await;
    let id = Uuid::new_v4().to_string();
    assert_eq!(send(&ctx, &a, &id, body()).await.status, 201);
    let globex = json!({"name": "Globex Inn", "timeZone": "America/New_York"});
    let theirs = send(&ctx, &b, &id, globex).await;
    assert_eq!(
        theirs.status, 201,
        "another tenant never learns the id is taken"
    );
    assert_eq!(stored(&ctx, &id).await.unwrap().name, "Hôtel du Port");
}

#[tokio::test]
async fn time_zone_is_frozen_while_the_establishment_holds_rooms() {
    let a = kit::bare_acme().await;
    let (ctx, k, id) = (&a.ctx, &a.key, a.est.to_string());
    kit::set_active_holds(&ctx.store, "acme", a.est, 1).await;
    let london = json!({"name": "Renamed", "timeZone": "Europe/London"});
    let moved = send(ctx, k, &id, london.clone()).await;
    moved.assert_error(409, "INVALID_STATE");
    let kept = stored(ctx, &id).await.unwrap();
    assert_eq!(
        (kept.name.as_str(), kept.time_zone.name()),
        ("Hôtel du Port", "Europe/Paris")
    );

    let paris = json!({"name": "Renamed", "timeZone": "Europe/Paris"});
    let renamed = send(ctx, k, &id, paris).await;
    assert_eq!(renamed.status, 200, "a rename keeping the zone is fine");

    kit::set_active_holds(&ctx.store, "acme", a.est, 0).await;
    let moved = send(ctx, k, &id, london).await;
    assert_eq!(moved.expect(200)["timeZone"], "Europe/London");
}

#[tokio::test]
async fn an_unreachable_store_is_503_with_retry_after_and_no_internals() {
    let ctx = kit::unreachable_ctx();
    let resp = TestRequest::event("put-establishment")
        .key("ak0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(503, "UNAVAILABLE");
    assert_eq!(resp.headers["retry-after"], "1");
    for leak in ["127.0.0.1", "dispatch", "unreachable", "dynamodb", "Dynamo"] {
        assert!(!resp.raw.contains(leak), "{leak} in {}", resp.raw);
    }
}
