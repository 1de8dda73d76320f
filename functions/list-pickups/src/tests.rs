use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, pickup_body, TestRequest};

use super::FUNCTION;

#[tokio::test]
async fn pickups_most_recent_first_paginated() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let id = create_allotment::created(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut made = Vec::new();
    for i in 0..3 {
        let mut b = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
        b["reservationRef"] = json!(format!("R{i}"));
        let p = TestRequest::event("create-pickup")
            .path_param("allotmentId", &id)
            .json(b)
            .key(&k)
            .send(&create_pickup::FUNCTION, &ctx)
            .await;
        assert_eq!(p.status, 201);
        made.push(p.data()["pickupId"].as_str().unwrap().to_string());
    }
    let first = TestRequest::event("list-pickups")
        .path_param("allotmentId", &id)
        .query(&[("limit", "2")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let refs: Vec<_> = first
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reservationRef"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(refs, ["R2", "R1"]);
    let c = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = TestRequest::event("list-pickups")
        .path_param("allotmentId", &id)
        .query(&[("limit", "2"), ("cursor", &c)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(second.data().as_array().unwrap().len(), 1);
    assert_eq!(second.data()[0]["pickupId"], made[0].as_str());
    assert_eq!(second.body["nextCursor"], json!(null));
    // A cursor of another allotment's list is refused.
    let other_id = create_allotment::created(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    TestRequest::event("list-pickups")
        .path_param("allotmentId", &other_id)
        .query(&[("cursor", &c)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    TestRequest::event("list-pickups")
        .path_param("allotmentId", &id)
        .query(&[("limit", "0")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
}
