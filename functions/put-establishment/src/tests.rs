use kit::{ctx, key, key_with, TestRequest};
use serde_json::json;
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn put(id: &str) -> TestRequest {
    TestRequest::event("put-establishment").path_param("establishmentId", id)
}

fn body() -> serde_json::Value {
    json!({"name": "Hôtel du Port", "timeZone": "Europe/Paris"})
}

#[tokio::test]
async fn the_sample_event_creates_then_updates() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let created = TestRequest::event("put-establishment")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let d = created.data();
    assert_eq!(d["establishmentId"], "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0");
    assert_eq!(d["name"], "Hôtel du Port");
    assert_eq!(d["timeZone"], "Europe/Paris");
    assert_eq!(d["createdAt"], "2026-06-01T10:00:00Z");
    assert_eq!(d["updatedAt"], "2026-06-01T10:00:00Z");
    assert_eq!(created.headers["content-type"], "application/json");

    let later = shared::http::Ctx::with_now(
        ctx.store.clone(),
        kit::now() + std::time::Duration::from_secs(3600),
    );
    let updated = TestRequest::event("put-establishment")
        .key(&k)
        .json(json!({"name": "Hôtel du Vieux Port", "timeZone": "Europe/Paris"}))
        .send(&FUNCTION, &later)
        .await;
    assert_eq!(updated.status, 200, "{}", updated.raw);
    assert_eq!(updated.data()["name"], "Hôtel du Vieux Port");
    assert_eq!(updated.data()["createdAt"], "2026-06-01T10:00:00Z");
    assert_eq!(updated.data()["updatedAt"], "2026-06-01T11:00:00Z");
}

#[tokio::test]
async fn ids_are_accepted_in_any_case_and_returned_lowercase() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let resp = put("2489E9AD-2EE2-8E00-8EC9-32D5F69181CA")
        .key(&k)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.data()["establishmentId"],
        "2489e9ad-2ee2-8e00-8ec9-32d5f69181ca"
    );
    let again = put("2489e9ad-2ee2-8e00-8ec9-32d5f69181ca")
        .key(&k)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(again.status, 200, "same establishment whatever the case");
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_written() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let id = Uuid::new_v4();
    let resp = put(&id.to_string())
        .key(&k)
        .json(json!({"name": "x".repeat(201), "timeZone": "Europe/Atlantis", "createdAt": "now", "status": 1}))
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(resp.fields(), ["name", "timeZone", "createdAt", "status"]);
    assert!(ctx
        .store
        .get_establishment(&kit::tenant("acme"), id)
        .await
        .unwrap()
        .is_none());

    let wrong_types = put(&id.to_string())
        .key(&k)
        .json(json!({"name": 5, "timeZone": null}))
        .send(&FUNCTION, &ctx)
        .await;
    wrong_types.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(wrong_types.fields(), ["name", "timeZone"]);

    let bad_id = put("not-a-uuid")
        .key(&k)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    bad_id.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad_id.fields(), ["establishmentId"]);
}

#[tokio::test]
async fn malformed_bodies() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let id = Uuid::new_v4().to_string();
    for raw in [&b"{\"name\": "[..], b"[1, 2]", b"\"text\"", b"null"] {
        let resp = put(&id)
            .key(&k)
            .raw_body(raw.to_vec(), Some("application/json"))
            .send(&FUNCTION, &ctx)
            .await;
        resp.assert_error(400, "BAD_REQUEST");
    }
    let empty = put(&id)
        .key(&k)
        .raw_body(Vec::new(), None)
        .send(&FUNCTION, &ctx)
        .await;
    empty.assert_error(400, "BAD_REQUEST");

    let text = put(&id)
        .key(&k)
        .raw_body(body().to_string().into_bytes(), Some("text/plain"))
        .send(&FUNCTION, &ctx)
        .await;
    text.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let none = put(&id)
        .key(&k)
        .raw_body(body().to_string().into_bytes(), None)
        .send(&FUNCTION, &ctx)
        .await;
    none.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let mut big = br#"{"name": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 300 * 1024));
    big.extend(br#"", "timeZone": "Europe/Paris"}"#);
    let large = put(&id)
        .key(&k)
        .raw_body(big, Some("application/json"))
        .send(&FUNCTION, &ctx)
        .await;
    large.assert_error(413, "PAYLOAD_TOO_LARGE");
    assert!(ctx
        .store
        .get_establishment(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn authentication_and_scopes() {
    let ctx = ctx().await;
    let id = Uuid::new_v4();
    let none = put(&id.to_string())
        .without_header("x-api-key")
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    none.assert_error(401, "UNAUTHENTICATED");
    let unknown = put(&id.to_string())
        .key("ak0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    unknown.assert_error(401, "UNAUTHENTICATED");

    let k = key(&ctx.store, "acme").await;
    let (key_id, secret) = k.split_once('.').unwrap();
    let wrong_secret = format!("{key_id}.{}", secret.chars().rev().collect::<String>());
    put(&id.to_string())
        .key(&wrong_secret)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");

    let bearer = put(&id.to_string())
        .without_header("x-api-key")
        .header("authorization", &format!("Bearer {k}"))
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(bearer.status, 201, "{}", bearer.raw);

    assert!(ctx.store.revoke_key(key_id).await.unwrap());
    put(&id.to_string())
        .key(&k)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");

    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    let forbidden = put(&id.to_string())
        .key(&read_only)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    forbidden.assert_error(403, "FORBIDDEN");

    let other = Uuid::new_v4();
    let scoped = key_with(
        &ctx.store,
        "acme",
        Some(&[id]),
        &[Scope::Read, Scope::Write],
    )
    .await;
    let ok = put(&id.to_string())
        .key(&scoped)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ok.status, 200);
    let outside = put(&other.to_string())
        .key(&scoped)
        .json(body())
        .send(&FUNCTION, &ctx)
        .await;
    outside.assert_error(403, "FORBIDDEN");
    assert!(ctx
        .store
        .get_establishment(&kit::tenant("acme"), other)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_same_id_under_another_tenant_is_another_establishment() {
    let ctx = ctx().await;
    let a = key(&ctx.store, "acme").await;
    let b = key(&ctx.store, "globex").await;
    let id = Uuid::new_v4().to_string();
    assert_eq!(
        put(&id)
            .key(&a)
            .json(body())
            .send(&FUNCTION, &ctx)
            .await
            .status,
        201
    );
    let theirs = put(&id)
        .key(&b)
        .json(json!({"name": "Globex Inn", "timeZone": "America/New_York"}))
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(
        theirs.status, 201,
        "another tenant never learns the id is taken"
    );
    let mine = ctx
        .store
        .get_establishment(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.name, "Hôtel du Port");
}

#[tokio::test]
async fn time_zone_is_frozen_while_the_establishment_holds_rooms() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let id = kit::establishment(&ctx.store, "acme").await;
    kit::set_active_holds(&ctx.store, "acme", id, 1).await;
    let moved = put(&id.to_string())
        .key(&k)
        .json(json!({"name": "Renamed", "timeZone": "Europe/London"}))
        .send(&FUNCTION, &ctx)
        .await;
    moved.assert_error(409, "INVALID_STATE");
    let stored = ctx
        .store
        .get_establishment(&kit::tenant("acme"), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.time_zone.name()),
        ("Hôtel du Port", "Europe/Paris")
    );

    let renamed = put(&id.to_string())
        .key(&k)
        .json(json!({"name": "Renamed", "timeZone": "Europe/Paris"}))
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(renamed.status, 200, "a rename keeping the zone is fine");

    kit::set_active_holds(&ctx.store, "acme", id, 0).await;
    let moved = put(&id.to_string())
        .key(&k)
        .json(json!({"name": "Renamed", "timeZone": "Europe/London"}))
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.data()["timeZone"], "Europe/London");
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
