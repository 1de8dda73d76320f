use kit::{Acme, TestRequest, TestResponse};
use serde_json::json;
use uuid::Uuid;

use super::FUNCTION;

pub fn group_body(est: Uuid, name: &str, members: &[String]) -> serde_json::Value {
    json!({"establishmentId": est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
           "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}], "cutoffDate": "2026-08-15",
           "releaseDays": null, "allotmentIds": members})
}

async fn create(a: &Acme, body: serde_json::Value) -> TestResponse {
    a.call(
        TestRequest::event("create-capacity-group").json(body),
        &FUNCTION,
    )
    .await
}

#[tokio::test]
async fn a_group_takes_its_rooms_from_the_pool_with_its_members() {
    let (a, member) = kit::acme_allotment().await;
    let member = member.to_uppercase();
    let resp = create(
        &a,
        group_body(a.est, "Summer pool", std::slice::from_ref(&member)),
    )
    .await;
    let d = resp.expect(201);
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
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        assert_eq!(
            (n.allotted, n.available),
            (15, 15),
            "{night}: 10 for the allotment, 5 for the group"
        );
    }
    // The member cannot join a second group.
    let again = create(&a, group_body(a.est, "Another pool", &[member])).await;
    again.assert_invalid(&["allotmentIds[0]"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn names_are_unique_per_establishment_even_under_a_race() {
    let a = kit::acme().await;
    let racers = kit::concurrently(2, &a, |a, _| async move {
        create(&a, group_body(a.est, "Pool", &[])).await
    });
    let mut codes: Vec<_> = racers
        .await
        .iter()
        .map(|r| (r.status, r.code().to_string()))
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [(201, String::new()), (409, "NAME_TAKEN".to_string())]
    );
    let held = a.pool("2026-09-01", "2026-09-01").await;
    assert_eq!(held[0].2.allotted, 5, "the loser holds nothing");
    // Another establishment may use the name.
    let other = kit::stocked_establishment(&a.ctx.store, "acme").await;
    create(&a, group_body(other, "Pool", &[])).await.expect(201);
}

#[tokio::test]
async fn capacity_members_and_rules() {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", 4).await;
    let short = create(&a, group_body(a.est, "Pool", &[])).await;
    short.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(short.body["details"].as_array().unwrap().len(), 7);
    let theirs = kit::stocked_establishment(&a.ctx.store, "globex").await;
    let gk = kit::key(&a.ctx.store, "globex").await;
    let foreign = kit::create_allotment(&a.ctx, &gk, kit::allotment_body(theirs)).await;
    let foreign = foreign["allotmentId"].as_str().unwrap().to_string();
    a.inventory("dbl", "2026-09-01", "2026-09-30", 30).await;
    let members = [foreign, Uuid::new_v4().to_string(), "x".into()];
    let bad = create(&a, group_body(a.est, "Pool", &members)).await;
    bad.assert_invalid(&["allotmentIds[2]"]);
    let unknown = [Uuid::new_v4().to_string()];
    let bad = create(&a, group_body(a.est, "Pool", &unknown)).await;
    assert_eq!(bad.fields(), ["allotmentIds[0]"]);
    let nowhere = create(&a, group_body(Uuid::new_v4(), "Pool", &[])).await;
    nowhere.assert_error(404, "NOT_FOUND");
    // Creation needs 1 to 10000 rooms (a PATCH may resize to 0).
    let mut empty = group_body(a.est, "Empty", &[]);
    empty["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 0}]);
    create(&a, empty)
        .await
        .assert_invalid(&["unitAllocations[0].quantity"]);
    assert!(a
        .pool("2026-09-01", "2026-09-30")
        .await
        .iter()
        .all(|(_, _, n)| n.allotted == 0));
}
