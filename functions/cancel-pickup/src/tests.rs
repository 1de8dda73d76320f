use kit::{pickup_body, Acme, TestRequest};
use serde_json::json;

use super::FUNCTION;

/// The usual world with an allotment and a pickup of 3 rooms on 2–4 Sep.
async fn setup() -> (Acme, String, String) {
    let (a, id) = kit::acme_allotment().await;
    let body = pickup_body("dbl", "2026-09-02", "2026-09-05", 3);
    let p = kit::pickup(&a.ctx, &a.key, &id, body).await;
    let pickup = p["pickupId"].as_str().unwrap().to_string();
    (a, id, pickup)
}

fn cancel(id: &str, pickup: &str) -> TestRequest {
    TestRequest::on_allotment("cancel-pickup", id).path_param("pickupId", pickup)
}

#[tokio::test]
async fn rooms_go_back_to_the_allotment_and_a_repeat_is_a_no_op() {
    let (a, id, pickup) = setup().await;
    let (ctx, k) = (&a.ctx, &a.key);
    let resp = cancel(&id, &pickup).key(k).send(&FUNCTION, ctx).await;
    assert_eq!(resp.expect(200)["status"], "cancelled");
    assert_eq!(resp.data()["cancelledAt"], "2026-06-01T10:00:00Z");
    let (record, grid) = a.stored(&id).await;
    assert_eq!(record.active_pickups, 0);
    assert!(grid.values().all(|n| n.picked_up == 0 && n.allocated == 10));
    assert!(a
        .pool("2026-09-01", "2026-09-07")
        .await
        .iter()
        .all(|(_, _, n)| n.picked_up == 0 && n.allotted == 10));

    let again = cancel(&id, &pickup).key(k).send(&FUNCTION, ctx).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.raw,
        resp.raw.replace(
            resp.headers["x-trace-id"].to_str().unwrap(),
            again.headers["x-trace-id"].to_str().unwrap()
        )
    );
    assert_eq!(a.stored(&id).await.0.active_pickups, 0, "counted once");
}

#[tokio::test]
async fn on_released_nights_rooms_go_back_to_the_pool() {
    let (a, id, pickup) = setup().await;
    let (ctx, k) = (&a.ctx, &a.key);
    kit::release(ctx, k, &id, None).await;
    let held = a.pool("2026-09-02", "2026-09-02").await;
    assert_eq!(
        (held[0].2.allotted, held[0].2.picked_up),
        (3, 3),
        "a released allotment keeps its picked-up rooms"
    );

    let resp = cancel(&id, &pickup).key(k).send(&FUNCTION, ctx).await;
    resp.expect(200);
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        assert_eq!(
            (n.allotted, n.picked_up, n.available),
            (0, 0, 30),
            "{night}"
        );
    }
    let (_, grid) = a.stored(&id).await;
    assert!(grid.values().all(|n| n.allocated == 0 && n.picked_up == 0));
}

#[tokio::test]
async fn unknown_pickups_and_other_tenants_are_404() {
    let (a, id, pickup) = setup().await;
    let (ctx, k) = (&a.ctx, &a.key);
    cancel(&id, &uuid::Uuid::now_v7().to_string())
        .key(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    a.assert_hidden(cancel(&id, &pickup), &FUNCTION).await;
    let bad = cancel(&id, &pickup)
        .json(json!({"reason": "x"}))
        .key(k)
        .send(&FUNCTION, ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(a.stored(&id).await.0.active_pickups, 1, "nothing cancelled");
}
