use kit::TestRequest;
use serde_json::json;

use super::FUNCTION;

fn confirm(id: &str) -> TestRequest {
    TestRequest::on_allotment("confirm-allotment", id)
}

/// A tentative option without penalty terms, `with` more changes.
fn tentative(changes: serde_json::Value) -> serde_json::Value {
    let option = json!({"allotmentType": "tentative", "penaltyPerRoomNightCents": null});
    kit::with(option, changes)
}

#[tokio::test]
async fn a_tentative_option_is_confirmed_with_penalty_terms() {
    let a = kit::acme().await;
    let (ctx, k) = (&a.ctx, &a.key);
    let id = a.allotment(tentative(json!({}))).await;

    let missing = confirm(&id).empty().key(k).send(&FUNCTION, ctx).await;
    missing.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(missing.fields(), ["penaltyPerRoomNightCents"]);

    let ok = confirm(&id).key(k).send(&FUNCTION, ctx).await;
    assert_eq!(ok.expect(200)["allotmentType"], "allotment");
    assert_eq!(ok.data()["penaltyPerRoomNightCents"], "5000");
    assert_eq!(ok.data()["confirmedAt"], "2026-06-01T10:00:00Z");
    assert_eq!(ok.data()["version"], 2);

    confirm(&id)
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(409, "INVALID_STATE");
}

#[tokio::test]
async fn an_empty_body_keeps_existing_terms_and_bad_bodies_are_refused() {
    let a = kit::acme().await;
    let (ctx, k) = (&a.ctx, &a.key);
    let id = a
        .allotment(tentative(json!({"penaltyPerRoomNightCents": "1200"})))
        .await;
    let bad = confirm(&id)
        .json(json!({"penaltyPerRoomNightCents": 12, "note": "x"}))
        .key(k)
        .send(&FUNCTION, ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["penaltyPerRoomNightCents", "note"]);
    let ok = confirm(&id).empty().key(k).send(&FUNCTION, ctx).await;
    assert_eq!(ok.expect(200)["penaltyPerRoomNightCents"], "1200");

    let contractual = a.allotment(json!({})).await;
    confirm(&contractual)
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    a.assert_hidden(confirm(&id), &FUNCTION).await;
}
