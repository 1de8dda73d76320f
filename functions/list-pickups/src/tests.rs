use kit::{allotment_body, ctx, key, pickup_body, TestRequest};
use serde_json::json;

use super::FUNCTION;

#[tokio::test]
async fn pickups_most_recent_first_paginated() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut made = Vec::new();
    for i in 0..3 {
        let mut b = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
        b["reservationRef"] = json!(format!("R{i}"));
        let p = kit::pickup(&ctx, &k, &id, b).await;
        made.push(p["pickupId"].as_str().unwrap().to_string());
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
    let other_id = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
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
