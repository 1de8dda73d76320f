use kit::{allotment_body, ctx, key, pool_nights, TestRequest};
use serde_json::json;
use uuid::Uuid;

use super::FUNCTION;

pub fn group_body(est: Uuid, name: &str, members: &[String]) -> serde_json::Value {
    json!({"establishmentId": est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
           "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15",
           "releaseDays": null, "allotmentIds": members})
}

fn create(body: serde_json::Value) -> TestRequest {
    TestRequest::event("create-capacity-group").json(body)
}

#[tokio::test]
async fn a_group_takes_its_rooms_from_the_pool_with_its_members() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let member = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let resp = create(group_body(
        est,
        "Summer pool",
        std::slice::from_ref(&member),
    ))
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(resp.status, 201, "{}", resp.raw);
    let d = resp.data();
    let id = d["capacityGroupId"].as_str().unwrap();
    assert_eq!(
        resp.headers["location"],
        format!("/v1/capacity-groups/{id}").as_str()
    );
    assert_eq!(d["allotmentIds"], json!([member.to_lowercase()]));
    assert_eq!(d["usage"].as_array().unwrap().len(), 7);
    assert_eq!(
        d["usage"][0],
        json!({"date": "2026-09-01", "unitTypeId": "dbl", "shared": 5, "used": 0, "available": 5})
    );
    assert!(d.get("timeZone").is_none());
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
        assert_eq!(
            (n.allotted, n.available),
            (15, 15),
            "{night}: 10 for the allotment, 5 for the group"
        );
    }
    // The member cannot join a second group.
    let again = create(group_body(est, "Another pool", &[member]))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    again.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(again.fields(), ["allotmentIds[0]"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn names_are_unique_per_establishment_even_under_a_race() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (ctx, k) = (ctx.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            create(group_body(est, "Pool", &[]))
                .key(&k)
                .send(&FUNCTION, &ctx)
                .await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        codes.push((r.status, r.code().to_string()));
    }
    codes.sort();
    assert_eq!(
        codes,
        [(201, String::new()), (409, "NAME_TAKEN".to_string())]
    );
    let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
    assert_eq!(held[0].2.allotted, 5, "the loser holds nothing");
    // Another establishment may use the name.
    let other = kit::stocked_establishment(&ctx.store, "acme").await;
    assert_eq!(
        create(group_body(other, "Pool", &[]))
            .key(&k)
            .send(&FUNCTION, &ctx)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn capacity_members_and_rules() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        4,
    )
    .await;
    let short = create(group_body(est, "Pool", &[]))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    short.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(short.body["details"].as_array().unwrap().len(), 7);
    let theirs = kit::stocked_establishment(&ctx.store, "globex").await;
    let gk = key(&ctx.store, "globex").await;
    let foreign = kit::create_allotment(&ctx, &gk, allotment_body(theirs)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        30,
    )
    .await;
    let bad = create(group_body(
        est,
        "Pool",
        &[foreign, Uuid::new_v4().to_string(), "x".into()],
    ))
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    bad.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["allotmentIds[2]"]);
    let bad = create(group_body(est, "Pool", &[Uuid::new_v4().to_string()]))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(bad.fields(), ["allotmentIds[0]"]);
    create(group_body(Uuid::new_v4(), "Pool", &[]))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    // Creation needs 1 to 10000 rooms (a PATCH may resize to 0).
    let mut empty = group_body(est, "Empty", &[]);
    empty["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 0}]);
    let zero = create(empty).key(&k).send(&FUNCTION, &ctx).await;
    zero.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(zero.fields(), ["unitAllocations[0].quantity"]);
    assert!(
        pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-30")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 0)
    );
}
