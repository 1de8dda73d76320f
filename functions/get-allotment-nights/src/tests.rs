use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, TestRequest};

use super::FUNCTION;

#[tokio::test]
async fn the_grid_per_night_and_unit_type() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    testing::inventory(
        &ctx.store,
        "acme",
        est,
        "sgl",
        "2026-09-01",
        "2026-09-30",
        5,
    )
    .await;
    let mut body = allotment_body(est);
    body["periodTo"] = json!("2026-09-02");
    body["unitAllocations"] =
        json!([{"unitTypeId": "sgl", "quantity": 2}, {"unitTypeId": "dbl", "quantity": 3}]);
    let created = TestRequest::event("create-allotment")
        .json(body)
        .key(&k)
        .send(&create_allotment::FUNCTION, &ctx)
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.data()["allotmentId"].as_str().unwrap().to_string();

    let all = TestRequest::event("get-allotment-nights")
        .path_param("allotmentId", &id)
        .query(&[])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(all.status, 200, "{}", all.raw);
    let row = |d: &str, u: &str, q: i64| json!({"date": d, "unitTypeId": u, "contracted": q, "allocated": q, "pickedUp": 0, "pickedUpFromGroup": 0, "released": 0, "releasedAt": null});
    assert_eq!(
        all.body,
        json!({"data": [row("2026-09-01", "dbl", 3), row("2026-09-02", "dbl", 3), row("2026-09-01", "sgl", 2), row("2026-09-02", "sgl", 2)]})
    );
    let sgl = TestRequest::event("get-allotment-nights")
        .path_param("allotmentId", &id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    // The sample event filters on dbl.
    assert_eq!(sgl.data().as_array().unwrap().len(), 2);
    assert!(sgl
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["unitTypeId"] == "dbl"));
    let bad = TestRequest::event("get-allotment-nights")
        .path_param("allotmentId", &id)
        .query(&[("unitTypeId", "a b")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    let other = key(&ctx.store, "globex").await;
    TestRequest::event("get-allotment-nights")
        .path_param("allotmentId", &id)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
