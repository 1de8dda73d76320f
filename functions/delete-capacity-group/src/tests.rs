use serde_json::json;
use shared::testing::{self, ctx, key, pool_nights, TestRequest};

use super::FUNCTION;

#[tokio::test]
async fn delete_returns_unused_rooms_and_frees_the_name() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let body = json!({"establishmentId": est.to_string(), "name": "Pool", "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15"});
    let created = TestRequest::event("create-capacity-group")
        .json(body.clone())
        .key(&k)
        .send(&create_capacity_group::FUNCTION, &ctx)
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.data()["capacityGroupId"]
        .as_str()
        .unwrap()
        .to_string();
    let other = key(&ctx.store, "globex").await;
    let del = |key: &str| {
        TestRequest::event("delete-capacity-group")
            .path_param("capacityGroupId", &id)
            .key(key)
    };
    del(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let resp = del(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 204, "{}", resp.raw);
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 0)
    );
    del(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let again = TestRequest::event("create-capacity-group")
        .json(body)
        .key(&k)
        .send(&create_capacity_group::FUNCTION, &ctx)
        .await;
    assert_eq!(again.status, 201, "the name is free again");
}
