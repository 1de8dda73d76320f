//! Capacity groups across functions: members draw on the group once their own rooms
//! run out, cancels give rooms back where they came from, deletes wait for pickups.

use kit::{pickup_body, tenant, Acme, TestRequest, TestResponse};
use serde_json::{json, Value};
use uuid::Uuid;

/// A group of `quantity` `dbl` rooms on 1–7 Sep with `members`; its id.
async fn group(a: &Acme, members: &[String], quantity: i64) -> String {
    let body = json!({"establishmentId": a.est.to_string(), "name": format!("Pool {}", Uuid::new_v4()), "periodFrom": "2026-09-01",
                      "periodTo": "2026-09-07", "unitAllocations": [{"unitTypeId": "dbl", "quantity": quantity}],
                      "cutoffDate": "2026-08-15", "allotmentIds": members});
    let req = TestRequest::event("create-capacity-group").json(body);
    let r = a.call(req, &create_capacity_group::FUNCTION).await;
    r.expect(201)["capacityGroupId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn get(id: &str) -> TestRequest {
    TestRequest::on_group("get-capacity-group", id)
}

/// The rooms of the group in use, night by night, as `GET` shows them.
async fn usage(a: &Acme, id: &str) -> Vec<i64> {
    let r = a.call(get(id), &get_capacity_group::FUNCTION).await;
    let nights = r.expect(200)["usage"].as_array().unwrap();
    nights.iter().map(|u| u["used"].as_i64().unwrap()).collect()
}

/// `(shared, used)` of each night of the group, as stored.
async fn shared(a: &Acme, id: &str) -> Vec<(i64, i64)> {
    let t = tenant("acme");
    let g = a.ctx.store.require_group(&t, id.parse().unwrap()).await;
    g.unwrap()
        .grid
        .values()
        .map(|n| (n.shared, n.used))
        .collect()
}

/// A pickup of `q` rooms on 2–3 Sep.
async fn pickup(a: &Acme, allotment: &str, q: i64) -> TestResponse {
    let body = pickup_body("dbl", "2026-09-02", "2026-09-04", q);
    let req = TestRequest::on_allotment("create-pickup", allotment).json(body);
    a.call(req, &create_pickup::FUNCTION).await
}

/// Cancels the pickup `p` of `allotment` through its function.
async fn cancel(a: &Acme, allotment: &str, p: &TestResponse) {
    let pid = p.data()["pickupId"].as_str().unwrap();
    let req = TestRequest::on_allotment("cancel-pickup", allotment)
        .path_param("pickupId", pid)
        .empty();
    a.call(req, &cancel_pickup::FUNCTION).await.expect(200);
}

async fn allotted(a: &Acme) -> Vec<i64> {
    a.per_night("dbl", "2026-09-01", "2026-09-07", |n| n.allotted)
        .await
}

#[tokio::test]
async fn a_member_draws_on_its_group_and_gives_the_rooms_back() {
    let a = kit::acme().await;
    let two = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 2}]});
    let member = a.allotment(two.clone()).await;
    let outsider = a.allotment(two).await;
    let g = group(&a, std::slice::from_ref(&member), 3).await;

    let p = pickup(&a, &member, 4).await;
    assert_eq!(p.expect(201)["capacityGroupId"], g.as_str());
    assert_eq!(
        p.data()["fromGroup"],
        json!([{"date": "2026-09-02", "quantity": 2}, {"date": "2026-09-03", "quantity": 2}])
    );
    assert_eq!(usage(&a, &g).await, [0, 2, 2, 0, 0, 0, 0]);
    let (record, grid) = a.stored(&member).await;
    let view = kit::json(record.representation(&grid));
    assert_eq!(view["totals"][0]["pickedUpRoomNights"], 8);
    assert_eq!(view["totals"][0]["pickedUpFromGroupRoomNights"], 4);
    let pool = a.pool("2026-09-02", "2026-09-02").await;
    assert_eq!(
        (pool[0].2.allotted, pool[0].2.picked_up),
        (2 + 2 + 3, 4),
        "group rooms stay allotted to the group"
    );

    // Own rooms are gone and one group room is left: the next 2 are short.
    let short = pickup(&a, &member, 2).await;
    short.assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert_eq!(
        short.body["details"][0],
        json!({"unitTypeId": "dbl", "date": "2026-09-02", "requested": 2, "remaining": 1})
    );
    // A non-member has only its own rooms.
    let outside = pickup(&a, &outsider, 3).await;
    outside.assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert_eq!(outside.body["details"][0]["remaining"], 2);

    // The group cannot go while a pickup draws on it.
    let delete = || TestRequest::on_group("delete-capacity-group", &g);
    let refused = a.call(delete(), &delete_capacity_group::FUNCTION).await;
    refused.assert_error(409, "ALLOTMENT_HAS_PICKUPS");

    cancel(&a, &member, &p).await;
    assert_eq!(usage(&a, &g).await, [0; 7]);
    let (_, grid) = a.stored(&member).await;
    assert!(grid
        .values()
        .all(|n| n.picked_up == 0 && n.from_group == 0 && n.allocated == 2));
    let deleted = a.call(delete(), &delete_capacity_group::FUNCTION).await;
    assert_eq!(deleted.status, 204);
    let pool: Vec<Value> = a
        .pool("2026-09-01", "2026-09-07")
        .await
        .iter()
        .map(|(_, _, n)| json!([n.allotted, n.picked_up]))
        .collect();
    assert!(pool.iter().all(|n| *n == json!([4, 0])), "{pool:?}");
}

#[tokio::test]
async fn the_group_releases_at_its_own_cutoff_not_at_its_members() {
    let a = kit::acme().await;
    let member = a
        .allotment(
            json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 2}], "releaseDays": null}),
        )
        .await;
    let g = group(&a, std::slice::from_ref(&member), 3).await;
    let p = pickup(&a, &member, 3).await; // 2 own + 1 from the group, on 2 and 3 Sep
    p.expect(201);
    let deliver = |time: &str| {
        let event = json!({"time": time, "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        let store = a.ctx.store.clone();
        async move {
            cutoff_release::handle_event(&store, &event, None)
                .await
                .unwrap()
        }
    };
    // The member's cutoff (1 Aug): its unpicked rooms go, the group's stay.
    deliver("2026-08-01T22:01:00Z").await;
    assert_eq!(
        shared(&a, &g).await,
        [(3, 0), (3, 1), (3, 1), (3, 0), (3, 0), (3, 0), (3, 0)]
    );
    let pool = a.pool("2026-09-01", "2026-09-02").await;
    assert_eq!(
        (pool[0].2.allotted, pool[1].2.allotted),
        (3, 2 + 3),
        "member keeps 2 own picked-up rooms on 2 Sep"
    );
    // The group's cutoff (15 Aug): its unused rooms go back.
    deliver("2026-08-15T22:01:00Z").await;
    assert_eq!(
        shared(&a, &g).await,
        [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0), (0, 0)]
    );
    assert_eq!(allotted(&a).await, [0, 3, 3, 0, 0, 0, 0]);
    // Cancelling the pickup now sends every room to the pool.
    cancel(&a, &member, &p).await;
    let pool = a.pool("2026-09-01", "2026-09-07").await;
    assert!(
        pool.iter()
            .all(|(_, _, n)| n.allotted == 0 && n.picked_up == 0 && n.available == 30),
        "{pool:?}"
    );
    assert_eq!(shared(&a, &g).await, [(0, 0); 7]);
}

#[tokio::test]
async fn groups_are_listed_by_name_and_private_to_their_tenant() {
    let a = kit::acme().await;
    let mut made = Vec::new();
    for name in ["Zulu", "Alpha", "Mike"] {
        let body = json!({"establishmentId": a.est.to_string(), "name": name, "periodFrom": "2026-09-01", "periodTo": "2026-09-02",
                          "unitAllocations": [{"unitTypeId": "dbl", "quantity": 1}], "cutoffDate": "2026-08-15"});
        let req = TestRequest::event("create-capacity-group").json(body);
        let r = a.call(req, &create_capacity_group::FUNCTION).await;
        made.push(
            r.expect(201)["capacityGroupId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let e = a.est.to_string();
    let list = |q: &[(&str, &str)]| TestRequest::event("list-capacity-groups").query(q);
    let first = a
        .call(
            list(&[("establishmentId", &e), ("limit", "2")]),
            &list_capacity_groups::FUNCTION,
        )
        .await;
    first.expect(200);
    assert_eq!(first.list("name"), ["Alpha", "Mike"]);
    let c = first.body["nextCursor"].as_str().unwrap().to_string();
    let second = a
        .call(
            list(&[("establishmentId", &e), ("cursor", &c)]),
            &list_capacity_groups::FUNCTION,
        )
        .await;
    assert_eq!(second.data()[0]["name"], "Zulu");
    assert_eq!(second.body["nextCursor"], json!(null));

    a.assert_hidden(get(&made[0]), &get_capacity_group::FUNCTION)
        .await;
    a.assert_hidden(
        list(&[("establishmentId", &e)]),
        &list_capacity_groups::FUNCTION,
    )
    .await;
    a.call(list(&[]), &list_capacity_groups::FUNCTION)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let got = a.call(get(&made[1]), &get_capacity_group::FUNCTION).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["etag"], "\"1\"");
}
