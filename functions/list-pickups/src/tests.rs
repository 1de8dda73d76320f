use kit::{pickup_body, TestRequest};
use serde_json::json;

use super::FUNCTION;

fn list(id: &str, query: &[(&str, &str)]) -> TestRequest {
    TestRequest::on_allotment("list-pickups", id).query(query)
}

#[tokio::test]
async fn pickups_most_recent_first_paginated() {
    let (a, id) = kit::acme_allotment().await;
    let mut made = Vec::new();
    for i in 0..3 {
        let mut b = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
        b["reservationRef"] = json!(format!("R{i}"));
        let p = kit::pickup(&a.ctx, &a.key, &id, b).await;
        made.push(p["pickupId"].as_str().unwrap().to_string());
    }
    let first = a.call(list(&id, &[("limit", "2")]), &FUNCTION).await;
    first.expect(200);
    assert_eq!(first.list("reservationRef"), ["R2", "R1"]);
    let c = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = a
        .call(list(&id, &[("limit", "2"), ("cursor", &c)]), &FUNCTION)
        .await;
    assert_eq!(second.data().as_array().unwrap().len(), 1);
    assert_eq!(second.data()[0]["pickupId"], made[0].as_str());
    assert_eq!(second.body["nextCursor"], json!(null));
    // A cursor of another allotment's list is refused.
    let other_id = a.allotment(json!({})).await;
    let foreign = a.call(list(&other_id, &[("cursor", &c)]), &FUNCTION).await;
    foreign.assert_error(400, "VALIDATION_ERROR");
    let zero = a.call(list(&id, &[("limit", "0")]), &FUNCTION).await;
    zero.assert_error(400, "VALIDATION_ERROR");
}
