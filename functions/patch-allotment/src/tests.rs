use kit::{Acme, TestRequest, TestResponse};
use serde_json::{json, Value};

use super::FUNCTION;

fn patch(id: &str, body: Value) -> TestRequest {
    TestRequest::on_allotment("patch-allotment", id)
        .without_header("if-match")
        .raw_body(
            body.to_string().into_bytes(),
            Some("application/merge-patch+json"),
        )
}

/// A merge patch by `acme`, with `If-Match: if_match` if any.
async fn send(a: &Acme, id: &str, body: Value, if_match: Option<&str>) -> TestResponse {
    a.call(patch(id, body).header_opt("if-match", if_match), &FUNCTION)
        .await
}

#[tokio::test]
async fn merge_patch_with_if_match() {
    let (a, id) = kit::acme_allotment().await;

    // The sample event: If-Match "1", releaseDays 14, channelExternalId cleared.
    let resp = a
        .call(TestRequest::on_allotment("patch-allotment", &id), &FUNCTION)
        .await;
    let d = resp.expect(200);
    assert_eq!(resp.headers["etag"], "\"2\"");
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
    let stale = send(&a, &id, json!({"complimentaryRooms": 3}), Some("\"1\"")).await;
    stale.assert_error(412, "PRECONDITION_FAILED");
    // An invalid body is a 400 whatever the version; a value that is no entity tag is a
    // 400 naming If-Match; `*` is any current version.
    let invalid = send(&a, &id, json!({"releaseDays": {}}), Some("\"1\"")).await;
    invalid.assert_invalid(&["releaseDays"]);
    for malformed in ["", "abc", "\"2"] {
        let resp = send(&a, &id, json!({"complimentaryRooms": 3}), Some(malformed)).await;
        resp.assert_invalid(&["If-Match"]);
    }
    let any = send(&a, &id, json!({"contractualHeadcount": 21}), Some("*")).await;
    assert_eq!(any.expect(200)["version"], 3);
    let terms = json!({"complimentaryRooms": 3, "minimumPickupPercent": 72.5});
    let ok = send(&a, &id, terms, Some("\"3\"")).await;
    assert_eq!(ok.expect(200)["complimentaryRooms"], 3);
    assert_eq!(ok.data()["minimumPickupPercent"], 72.5);
    // Without If-Match the change applies to the current version.
    let free = send(&a, &id, json!({"cutoffDate": "2026-08-15"}), None).await;
    assert_eq!(
        free.expect(200)["cutoff"]["nextReleaseAt"],
        "2026-08-15T22:00:00Z",
        "the cutoff is re-armed"
    );
}

#[tokio::test]
async fn immutable_unknown_and_invalid_fields_are_refused() {
    let (a, id) = kit::acme_allotment().await;
    let immutable = json!({"periodTo": "2026-09-10", "status": "cancelled", "allotmentType": "tentative",
                           "currency": "GBP", "unitAllocations": []});
    send(&a, &id, immutable, None).await.assert_invalid(&[
        "allotmentType",
        "currency",
        "periodTo",
        "status",
        "unitAllocations",
    ]);
    let rules = json!({"cutoffDate": "2026-05-01", "penaltyPerRoomNightCents": null, "ratePlanId": null,
                       "releaseDays": 400});
    send(&a, &id, rules, None).await.assert_invalid(&[
        "ratePlanId",
        "releaseDays",
        "cutoffDate",
        "penaltyPerRoomNightCents",
    ]);
    assert_eq!(a.stored(&id).await.0.version, 1, "nothing changed");
    let text = patch(&id, json!({})).raw_body(b"{}".to_vec(), Some("text/plain"));
    a.call(text, &FUNCTION)
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn only_active_allotments_change() {
    let (a, id) = kit::acme_allotment().await;
    kit::cancel(&a.ctx, &a.key, &id).await;
    send(&a, &id, json!({"complimentaryRooms": 2}), None)
        .await
        .assert_error(409, "INVALID_STATE");
    a.assert_hidden(patch(&id, json!({"complimentaryRooms": 2})), &FUNCTION)
        .await;
}
