use kit::TestRequest;
use serde_json::json;

use super::FUNCTION;

fn nights(id: &str) -> TestRequest {
    TestRequest::on_allotment("get-allotment-nights", id)
}

#[tokio::test]
async fn the_grid_per_night_and_unit_type() {
    let a = kit::acme().await;
    let (ctx, k) = (&a.ctx, &a.key);
    kit::inventory(
        &ctx.store,
        "acme",
        a.est,
        "sgl",
        "2026-09-01",
        "2026-09-30",
        5,
    )
    .await;
    let units = json!([{"unitTypeId": "sgl", "quantity": 2}, {"unitTypeId": "dbl", "quantity": 3}]);
    let id = a
        .allotment(json!({"periodTo": "2026-09-02", "unitAllocations": units}))
        .await;

    let all = nights(&id).query(&[]).key(k).send(&FUNCTION, ctx).await;
    all.expect(200);
    let row = |d: &str, u: &str, q: i64| json!({"date": d, "unitTypeId": u, "contracted": q, "allocated": q, "pickedUp": 0, "pickedUpFromGroup": 0, "released": 0, "releasedAt": null});
    assert_eq!(
        all.body,
        json!({"data": [row("2026-09-01", "dbl", 3), row("2026-09-02", "dbl", 3), row("2026-09-01", "sgl", 2), row("2026-09-02", "sgl", 2)]})
    );
    let sgl = nights(&id).key(k).send(&FUNCTION, ctx).await;
    // The sample event filters on dbl.
    let rows = sgl.data().as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["unitTypeId"] == "dbl"));
    let bad = nights(&id)
        .query(&[("unitTypeId", "a b")])
        .key(k)
        .send(&FUNCTION, ctx)
        .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    a.assert_hidden(nights(&id), &FUNCTION).await;
}
