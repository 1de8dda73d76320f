use kit::{allotment_body, ctx, key, pool_nights, TestRequest};
use serde_json::json;

use super::FUNCTION;

async fn setup(ctx: &shared::http::Ctx, k: &str, name: &str) -> (uuid::Uuid, String) {
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let body = json!({"establishmentId": est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15"});
    let g = kit::group(ctx, k, body).await;
    (est, g["capacityGroupId"].as_str().unwrap().to_string())
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
    let member = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
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
    let t = kit::tenant("acme");
    let group_of = |m: &str| kit::group_of(&ctx.store, &t, m.parse().unwrap());
    assert_eq!(
        group_of(&member).await.map(|g| g.to_string()),
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
    assert!(group_of(&member).await.is_none());
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
    kit::group(&ctx, &k, body).await;
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
        .require_group(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (g.record.name.as_str(), g.record.version),
        ("Pool A", 1),
        "nothing changed"
    );
}

/// A member's pickup of 3 rooms on 2–3 Sep drawing 2 of them on the group.
async fn draw_on_the_group(ctx: &shared::http::Ctx, k: &str, member: &str) {
    let body = kit::pickup_body("dbl", "2026-09-02", "2026-09-04", 3);
    let p = kit::pickup(ctx, k, member, body).await;
    assert_eq!(p["fromGroup"].as_array().unwrap().len(), 2);
}

/// Issue 14, item 5: `quantity: 0` in a PATCH is a resize like any other.
#[tokio::test]
async fn a_unit_type_resized_to_zero_is_emptied_unless_rooms_are_in_use() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let (est, id) = setup(&ctx, &k, "Pool").await;
    let resize = |q: i64| {
        patch(
            &id,
            json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": q}]}),
        )
        .key(&k)
    };
    let emptied = resize(0).send(&FUNCTION, &ctx).await;
    assert_eq!(emptied.status, 200, "{}", emptied.raw);
    assert_eq!(
        emptied.data()["unitAllocations"],
        json!([{"unitTypeId": "dbl", "quantity": 0}])
    );
    assert!(emptied.data()["usage"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["shared"] == 0 && n["available"] == 0));
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 0),
        "the rooms went back to the pool"
    );

    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let member = kit::create_allotment(&ctx, &k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let refill = patch(
        &id,
        json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}], "allotmentIds": [member]}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(refill.status, 200, "{}", refill.raw);
    draw_on_the_group(&ctx, &k, &member).await;

    let refused = resize(0).send(&FUNCTION, &ctx).await;
    refused.assert_error(409, "BELOW_PICKED_UP");
    assert_eq!(
        refused.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-02", "requested": 0, "pickedUp": 2},
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 0, "pickedUp": 2},
        ])
    );
    let g = ctx
        .store
        .require_group(&kit::tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(g.record.unit_allocations[0].quantity, 3, "nothing changed");
    assert!(g.grid.values().all(|n| n.shared == 3));
    // Down to the rooms in use is allowed.
    let down = resize(2).send(&FUNCTION, &ctx).await;
    assert_eq!(down.status, 200, "{}", down.raw);
    let shared: Vec<i64> = down.data()["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["shared"].as_i64().unwrap())
        .collect();
    assert_eq!(shared, [2; 7]);
    let allotted: Vec<i64> = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
        .await
        .iter()
        .map(|(_, _, n)| n.allotted)
        .collect();
    assert_eq!(allotted, [3; 7], "1 for the member, 2 for the group");
}
