use kit::{pickup_body, TestRequest};
use serde_json::json;

use super::FUNCTION;

fn cancel(id: &str) -> TestRequest {
    TestRequest::on_allotment("cancel-allotment", id)
}

#[tokio::test]
async fn cancel_returns_every_room_and_repeats_as_a_no_op() {
    let (a, id) = kit::acme_allotment().await;
    let (ctx, k) = (&a.ctx, &a.key);
    kit::set_active_holds(&ctx.store, "acme", a.est, 1).await;

    let resp = cancel(&id).key(k).send(&FUNCTION, ctx).await;
    let d = resp.expect(200);
    assert_eq!(d["status"], "cancelled");
    assert_eq!(d["cancelledAt"], "2026-06-01T10:00:00Z");
    assert_eq!(d["totals"][0]["allocatedRoomNights"], 0);
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        assert_eq!((n.allotted, n.available), (0, 30), "{night}");
    }
    let again = cancel(&id).empty().key(k).send(&FUNCTION, ctx).await;
    assert_eq!(again.expect(200)["version"], d["version"]);
    // The establishment no longer holds rooms: its time zone may change.
    let est_item = ctx
        .store
        .get_establishment(&kit::tenant("acme"), a.est)
        .await
        .unwrap();
    assert!(est_item.is_some());
}

#[tokio::test]
async fn released_allotments_and_active_pickups_refuse_cancel() {
    let (a, id) = kit::acme_allotment().await;
    let (ctx, k) = (&a.ctx, &a.key);
    kit::release(ctx, k, &id, None).await;
    cancel(&id)
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(409, "INVALID_STATE");

    let second = a.allotment(json!({})).await;
    let body = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
    let p = kit::pickup(ctx, k, &second, body).await;
    cancel(&second)
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(409, "ALLOTMENT_HAS_PICKUPS");
    let held = a.pool("2026-09-01", "2026-09-01").await;
    assert_eq!(held[0].2.allotted, 10, "nothing returned");
    // Once the pickup is cancelled, the allotment can be; both again are no-ops.
    let pid = p["pickupId"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(
            kit::cancel_pickup(ctx, k, &second, pid).await["status"],
            "cancelled"
        );
        let done = cancel(&second).empty().key(k).send(&FUNCTION, ctx).await;
        assert_eq!(done.expect(200)["status"], "cancelled");
    }
    let bad = cancel(&second)
        .json(json!({"reason": 5}))
        .key(k)
        .send(&FUNCTION, ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
}
