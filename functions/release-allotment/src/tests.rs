use kit::TestRequest;
use serde_json::json;

use super::FUNCTION;

fn release(id: &str) -> TestRequest {
    TestRequest::on_allotment("release-allotment", id)
}

#[tokio::test]
async fn a_manual_release_returns_every_unpicked_room_and_is_idempotent() {
    let (a, id) = kit::acme_allotment().await;
    let resp = a.call(release(&id), &FUNCTION).await;
    let d = resp.expect(200);
    assert_eq!(d["status"], "released");
    assert_eq!(d["cutoff"]["nextReleaseAt"], json!(null));
    assert_eq!(
        d["cutoff"]["finalReleaseAt"], "2026-06-01T10:00:00Z",
        "the moment of the manual release"
    );
    assert_eq!(d["totals"][0]["allocatedRoomNights"], 0);
    assert_eq!(d["totals"][0]["releasedRoomNights"], 70);
    assert_eq!(d["totals"][0]["contractedRoomNights"], 70);
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        assert_eq!((n.allotted, n.available), (0, 30), "{night}");
    }
    let history = a.history(&id).await;
    let memos: Vec<_> = history.iter().map(|e| e.memo.clone().unwrap()).collect();
    assert_eq!(
        memos,
        [
            "released manually: Group size confirmed early",
            "initial allocation"
        ]
    );
    assert_eq!(
        (history[0].quantity, history[0].previous_quantity),
        (Some(0), Some(10))
    );

    let again = a.call(release(&id), &FUNCTION).await;
    assert_eq!(
        again.expect(200)["version"],
        d["version"],
        "nothing changes"
    );
    assert_eq!(a.history(&id).await.len(), 2);
}

#[tokio::test]
async fn a_cancelled_allotment_cannot_be_released() {
    let (a, id) = kit::acme_allotment().await;
    let (ctx, k) = (&a.ctx, &a.key);
    kit::cancel(ctx, k, &id).await;
    release(&id)
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(409, "INVALID_STATE");
    let long = release(&id)
        .json(json!({"reason": "x".repeat(501)}))
        .key(k)
        .send(&FUNCTION, ctx)
        .await;
    long.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(long.fields(), ["reason"]);
}
