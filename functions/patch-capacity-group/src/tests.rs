use serde_json::json;
use shared::testing::{self, allotment_body, ctx, key, pool_nights, TestRequest};

use super::FUNCTION;

async fn setup(ctx: &shared::http::Ctx, k: &str, name: &str) -> (uuid::Uuid, String) {
    let est = testing::stocked_establishment(&ctx.store, "acme").await;
    let body = json!({"establishmentId": est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15"});
    let r = TestRequest::event("create-capacity-group")
        .json(body)
        .key(k)
        .send(&create_capacity_group::FUNCTION, ctx)
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    (
        est,
        r.data()["capacityGroupId"].as_str().unwrap().to_string(),
    )
}

fn patch(id: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::event("patch-capacity-group")
        .path_param("capacityGroupId", id)
        .json(body)
}

#[tokio::test]
async fn rename_resize_and_members_with_if_match() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, "Pool").await;
    let member = create_allotment::created(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = patch(&id, json!({"name": "Summer pool", "unitAllocations": [{"unitTypeId": "dbl", "quantity": 8}], "allotmentIds": [member]}))
        .header("if-match", "\"1\"")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.headers["etag"], "\"2\"");
    assert_eq!(resp.data()["name"], "Summer pool");
    assert_eq!(resp.data()["allotmentIds"], json!([member]));
    assert_eq!(resp.data()["usage"][0]["shared"], 8);
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 18)
    );
    assert_eq!(
        ctx.store
            .group_of(&testing::tenant("acme"), member.parse().unwrap())
            .await
            .unwrap()
            .map(|g| g.to_string()),
        Some(id.clone())
    );

    patch(&id, json!({"name": "x"}))
        .header("if-match", "\"1\"")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    let cleared = patch(
        &id,
        json!({"allotmentIds": [], "unitAllocations": [{"unitTypeId": "dbl", "quantity": 2}]}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.raw);
    assert_eq!(cleared.data()["allotmentIds"], json!([]));
    assert!(ctx
        .store
        .group_of(&testing::tenant("acme"), member.parse().unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 12)
    );
}

#[tokio::test]
async fn names_capacity_and_fields_are_checked() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, "Pool A").await;
    let body = json!({"establishmentId": est.to_string(), "name": "Pool B", "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 1}], "cutoffDate": "2026-08-15"});
    assert_eq!(
        TestRequest::event("create-capacity-group")
            .json(body)
            .key(&k)
            .send(&create_capacity_group::FUNCTION, &ctx)
            .await
            .status,
        201
    );
    patch(&id, json!({"name": "Pool B"}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(409, "NAME_TAKEN");
    let short = patch(
        &id,
        json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 30}]}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    short.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(short.body["details"][0]["requested"], 25);
    let bad = patch(
        &id,
        json!({"periodTo": "2026-09-10", "allotmentIds": ["nope"]}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["periodTo", "allotmentIds[0]"]);
    let other = key(&ctx.store, "globex").await;
    patch(&id, json!({"name": "Mine"}))
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let g = ctx
        .store
        .require_group(&testing::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (g.record.name.as_str(), g.record.version),
        ("Pool A", 1),
        "nothing changed"
    );
}
