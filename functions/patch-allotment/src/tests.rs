use kit::{allotment_body, ctx, key, TestRequest};
use serde_json::json;

use super::FUNCTION;

async fn create(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    let created = kit::create_allotment(ctx, k, body).await;
    created["allotmentId"].as_str().unwrap().to_string()
}

fn patch(id: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::event("patch-allotment")
        .path_param("allotmentId", id)
        .without_header("if-match")
        .raw_body(
            body.to_string().into_bytes(),
            Some("application/merge-patch+json"),
        )
}

#[tokio::test]
async fn merge_patch_with_if_match() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;

    // The sample event: If-Match "1", releaseDays 14, channelExternalId cleared.
    let resp = TestRequest::event("patch-allotment")
        .path_param("allotmentId", &id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.headers["etag"], "\"2\"");
    let d = resp.data();
    assert_eq!(
        (
            d["releaseDays"].clone(),
            d["channelExternalId"].clone(),
            d["version"].clone()
        ),
        (json!(14), json!(null), json!(2))
    );
    assert_eq!(d["cutoff"]["releaseDays"], 14);
    assert_eq!(
        d["penaltyPerRoomNightCents"], "5000",
        "untouched fields stay"
    );

    // Stale version: 412 and nothing changes.
    let stale = patch(&id, json!({"complimentaryRooms": 3}))
        .header("if-match", "\"1\"")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    stale.assert_error(412, "PRECONDITION_FAILED");
    // An invalid body is a 400 whatever the version; a value that is no entity tag is a
    // 400 naming If-Match; `*` is any current version.
    let invalid = patch(&id, json!({"releaseDays": {}}))
        .header("if-match", "\"1\"")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    invalid.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(invalid.fields(), vec!["releaseDays"]);
    for malformed in ["", "abc", "\"2"] {
        let resp = patch(&id, json!({"complimentaryRooms": 3}))
            .header("if-match", malformed)
            .key(&k)
            .send(&FUNCTION, &ctx)
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.fields(), vec!["If-Match"], "{malformed:?}");
    }
    let any = patch(&id, json!({"contractualHeadcount": 21}))
        .header("if-match", "*")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(any.status, 200, "{}", any.raw);
    assert_eq!(any.data()["version"], 3);
    let ok = patch(
        &id,
        json!({"complimentaryRooms": 3, "minimumPickupPercent": 72.5}),
    )
    .header("if-match", "\"3\"")
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert_eq!(ok.data()["complimentaryRooms"], 3);
    assert_eq!(ok.data()["minimumPickupPercent"], 72.5);
    // Without If-Match the change applies to the current version.
    let free = patch(&id, json!({"cutoffDate": "2026-08-15"}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(free.status, 200, "{}", free.raw);
    assert_eq!(
        free.data()["cutoff"]["nextReleaseAt"],
        "2026-08-15T22:00:00Z",
        "the cutoff is re-armed"
    );
}

#[tokio::test]
async fn immutable_unknown_and_invalid_fields_are_refused() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;
    let resp = patch(&id, json!({"periodTo": "2026-09-10", "status": "cancelled", "allotmentType": "tentative", "currency": "GBP", "unitAllocations": []}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        resp.fields(),
        [
            "allotmentType",
            "currency",
            "periodTo",
            "status",
            "unitAllocations"
        ]
    );
    let rules = patch(&id, json!({"cutoffDate": "2026-05-01", "penaltyPerRoomNightCents": null, "ratePlanId": null, "releaseDays": 400}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    rules.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        rules.fields(),
        [
            "ratePlanId",
            "releaseDays",
            "cutoffDate",
            "penaltyPerRoomNightCents"
        ]
    );
    let (after, _) = ctx
        .store
        .require_allotment(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(after.version, 1, "nothing changed");
    let text = patch(&id, json!({}))
        .raw_body(b"{}".to_vec(), Some("text/plain"))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    text.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn only_active_allotments_change() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = create(&ctx, &k, allotment_body(est)).await;
    kit::cancel(&ctx, &k, &id).await;
    patch(&id, json!({"complimentaryRooms": 2}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let other = key(&ctx.store, "globex").await;
    patch(&id, json!({"complimentaryRooms": 2}))
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
