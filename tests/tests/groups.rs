//! Capacity groups across functions: members draw on the group once their own rooms
//! run out, cancels give rooms back where they came from, deletes wait for pickups.

use kit::{allotment_body, key, pickup_body, pool_nights, tenant, TestRequest};
use serde_json::{json, Value};
use shared::http::Ctx;
use uuid::Uuid;

async fn group(ctx: &Ctx, k: &str, est: Uuid, members: &[String], quantity: i64) -> String {
    let body = json!({"establishmentId": est.to_string(), "name": format!("Pool {}", Uuid::new_v4()), "periodFrom": "2026-09-01",
                      "periodTo": "2026-09-07", "unitAllocations": [{"unitTypeId": "dbl", "quantity": quantity}],
                      "cutoffDate": "2026-08-15", "allotmentIds": members});
    let r = TestRequest::event("create-capacity-group")
        .json(body)
        .key(k)
        .send(&create_capacity_group::FUNCTION, ctx)
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.data()["capacityGroupId"].as_str().unwrap().to_string()
}

async fn usage(ctx: &Ctx, k: &str, id: &str) -> Vec<i64> {
    let r = TestRequest::event("get-capacity-group")
        .path_param("capacityGroupId", id)
        .key(k)
        .send(&get_capacity_group::FUNCTION, ctx)
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.data()["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["used"].as_i64().unwrap())
        .collect()
}

async fn pickup(ctx: &Ctx, k: &str, allotment: &str, q: i64) -> kit::TestResponse {
    TestRequest::event("create-pickup")
        .path_param("allotmentId", allotment)
        .json(pickup_body("dbl", "2026-09-02", "2026-09-04", q))
        .key(k)
        .send(&create_pickup::FUNCTION, ctx)
        .await
}

#[tokio::test]
async fn a_member_draws_on_its_group_and_gives_the_rooms_back() {
    let ctx = kit::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 2}]);
    let member = kit::create_allotment(&ctx, &k, body.clone()).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let outsider = kit::create_allotment(&ctx, &k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let g = group(&ctx, &k, est, std::slice::from_ref(&member), 3).await;

    let p = pickup(&ctx, &k, &member, 4).await;
    assert_eq!(p.status, 201, "{}", p.raw);
    assert_eq!(p.data()["capacityGroupId"], g.as_str());
    assert_eq!(
        p.data()["fromGroup"],
        json!([{"date": "2026-09-02", "quantity": 2}, {"date": "2026-09-03", "quantity": 2}])
    );
    assert_eq!(usage(&ctx, &k, &g).await, [0, 2, 2, 0, 0, 0, 0]);
    let (record, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), member.parse().unwrap())
        .await
        .unwrap();
    let view = kit::json(record.representation(&grid));
    assert_eq!(view["totals"][0]["pickedUpRoomNights"], 8);
    assert_eq!(view["totals"][0]["pickedUpFromGroupRoomNights"], 4);
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-02", "2026-09-02").await;
    assert_eq!(
        (pool[0].2.allotted, pool[0].2.picked_up),
        (2 + 2 + 3, 4),
        "group rooms stay allotted to the group"
    );

    // Own rooms are gone and one group room is left: the next 2 are short.
    let short = pickup(&ctx, &k, &member, 2).await;
    short.assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert_eq!(
        short.body["details"][0],
        json!({"unitTypeId": "dbl", "date": "2026-09-02", "requested": 2, "remaining": 1})
    );
    // A non-member has only its own rooms.
    let outside = pickup(&ctx, &k, &outsider, 3).await;
    outside.assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert_eq!(outside.body["details"][0]["remaining"], 2);

    // The group cannot go while a pickup draws on it.
    let del = || {
        TestRequest::event("delete-capacity-group")
            .path_param("capacityGroupId", &g)
            .key(&k)
    };
    del()
        .send(&delete_capacity_group::FUNCTION, &ctx)
        .await
        .assert_error(409, "ALLOTMENT_HAS_PICKUPS");

    let pid = p.data()["pickupId"].as_str().unwrap().to_string();
    let c = TestRequest::event("cancel-pickup")
        .path_param("allotmentId", &member)
        .path_param("pickupId", &pid)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&cancel_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    assert_eq!(usage(&ctx, &k, &g).await, [0; 7]);
    let (_, grid) = ctx
        .store
        .require_allotment(&tenant("acme"), member.parse().unwrap())
        .await
        .unwrap();
    assert!(grid
        .values()
        .all(|n| n.picked_up == 0 && n.from_group == 0 && n.allocated == 2));
    assert_eq!(
        del()
            .send(&delete_capacity_group::FUNCTION, &ctx)
            .await
            .status,
        204
    );
    let pool: Vec<Value> = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07")
        .await
        .iter()
        .map(|(_, _, n)| json!([n.allotted, n.picked_up]))
        .collect();
    assert!(pool.iter().all(|n| *n == json!([4, 0])), "{pool:?}");
}

#[tokio::test]
async fn the_group_releases_at_its_own_cutoff_not_at_its_members() {
    let ctx = kit::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 2}]);
    body["releaseDays"] = json!(null);
    let member = kit::create_allotment(&ctx, &k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let g = group(&ctx, &k, est, std::slice::from_ref(&member), 3).await;
    let p = pickup(&ctx, &k, &member, 3).await; // 2 own + 1 from the group, on 2 and 3 Sep
    assert_eq!(p.status, 201, "{}", p.raw);
    let deliver = |time: &str| {
        let event = json!({"time": time, "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        let store = ctx.store.clone();
        async move {
            cutoff_release::handle_event(&store, &event, None)
                .await
                .unwrap()
        }
    };
    // The member's cutoff (1 Aug): its unpicked rooms go, the group's stay.
    deliver("2026-08-01T22:01:00Z").await;
    let shared = |ctx: &Ctx, g: String| {
        let store = ctx.store.clone();
        async move {
            let loaded = store
                .require_group(&tenant("acme"), g.parse().unwrap())
                .await
                .unwrap();
            loaded
                .grid
                .values()
                .map(|n| (n.shared, n.used))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        shared(&ctx, g.clone()).await,
        [(3, 0), (3, 1), (3, 1), (3, 0), (3, 0), (3, 0), (3, 0)]
    );
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-02").await;
    assert_eq!(
        (pool[0].2.allotted, pool[1].2.allotted),
        (3, 2 + 3),
        "member keeps 2 own picked-up rooms on 2 Sep"
    );
    // The group's cutoff (15 Aug): its unused rooms go back.
    deliver("2026-08-15T22:01:00Z").await;
    assert_eq!(
        shared(&ctx, g.clone()).await,
        [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0), (0, 0)]
    );
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await;
    let allotted: Vec<i64> = pool.iter().map(|(_, _, n)| n.allotted).collect();
    assert_eq!(allotted, [0, 3, 3, 0, 0, 0, 0]);
    // Cancelling the pickup now sends every room to the pool.
    let pid = p.data()["pickupId"].as_str().unwrap().to_string();
    let c = TestRequest::event("cancel-pickup")
        .path_param("allotmentId", &member)
        .path_param("pickupId", &pid)
        .raw_body(Vec::new(), None)
        .key(&k)
        .send(&cancel_pickup::FUNCTION, &ctx)
        .await;
    assert_eq!(c.status, 200, "{}", c.raw);
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await;
    assert!(
        pool.iter()
            .all(|(_, _, n)| n.allotted == 0 && n.picked_up == 0 && n.available == 30),
        "{pool:?}"
    );
    assert_eq!(shared(&ctx, g).await, [(0, 0); 7]);
}

#[tokio::test]
async fn groups_are_listed_by_name_and_private_to_their_tenant() {
    let ctx = kit::ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let mut made = Vec::new();
    for name in ["Zulu", "Alpha", "Mike"] {
        let body = json!({"establishmentId": est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-02",
                          "unitAllocations": [{"unitTypeId": "dbl", "quantity": 1}], "cutoffDate": "2026-08-15"});
        let r = TestRequest::event("create-capacity-group")
            .json(body)
            .key(&k)
            .send(&create_capacity_group::FUNCTION, &ctx)
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
        made.push(r.data()["capacityGroupId"].as_str().unwrap().to_string());
    }
    let e = est.to_string();
    let first = TestRequest::event("list-capacity-groups")
        .query(&[("establishmentId", &e), ("limit", "2")])
        .key(&k)
        .send(&list_capacity_groups::FUNCTION, &ctx)
        .await;
    assert_eq!(first.status, 200, "{}", first.raw);
    let names: Vec<_> = first
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Alpha", "Mike"]);
    let c = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = TestRequest::event("list-capacity-groups")
        .query(&[("establishmentId", &e), ("cursor", &c)])
        .key(&k)
        .send(&list_capacity_groups::FUNCTION, &ctx)
        .await;
    assert_eq!(second.data()[0]["name"], "Zulu");
    assert_eq!(second.body["nextCursor"], json!(null));

    let other = key(&ctx.store, "globex").await;
    TestRequest::event("get-capacity-group")
        .path_param("capacityGroupId", &made[0])
        .key(&other)
        .send(&get_capacity_group::FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    TestRequest::event("list-capacity-groups")
        .query(&[("establishmentId", &e)])
        .key(&other)
        .send(&list_capacity_groups::FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    TestRequest::event("list-capacity-groups")
        .query(&[])
        .key(&k)
        .send(&list_capacity_groups::FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let got = TestRequest::event("get-capacity-group")
        .path_param("capacityGroupId", &made[1])
        .key(&k)
        .send(&get_capacity_group::FUNCTION, &ctx)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["etag"], "\"1\"");
}
