use kit::TestRequest;
use serde_json::json;

use super::FUNCTION;

#[tokio::test]
async fn delete_returns_unused_rooms_and_frees_the_name() {
    let a = kit::acme().await;
    let (ctx, k) = (&a.ctx, &a.key);
    let body = json!({"establishmentId": a.est.to_string(), "name": "Pool", "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15"});
    let created = kit::group(ctx, k, body.clone()).await;
    let id = created["capacityGroupId"].as_str().unwrap();
    let other = kit::key(&ctx.store, "globex").await;
    let del = |key: &str| TestRequest::on_group("delete-capacity-group", id).key(key);
    del(&other)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let resp = del(k).send(&FUNCTION, ctx).await;
    assert_eq!(resp.status, 204, "{}", resp.raw);
    assert!(a
        .pool("2026-09-01", "2026-09-07")
        .await
        .iter()
        .all(|(_, _, n)| n.allotted == 0));
    del(k)
        .send(&FUNCTION, ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let again = kit::group(ctx, k, body).await;
    assert_eq!(again["name"], "Pool", "the name is free again");
}
