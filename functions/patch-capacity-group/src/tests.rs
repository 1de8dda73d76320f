use kit::{Acme, TestRequest, TestResponse};
use serde_json::{json, Value};

use super::FUNCTION;

/// A group `name` of 5 `dbl` rooms on 1–7 Sep without members; the world and its id.
async fn setup(name: &str) -> (Acme, String) {
    let a = kit::acme().await;
    let id = group(&a, name, 5).await;
    (a, id)
}

async fn group(a: &Acme, name: &str, quantity: i64) -> String {
    let body = json!({"establishmentId": a.est.to_string(), "name": name, "periodFrom": "2026-09-01",
                      "periodTo": "2026-09-07", "cutoffDate": "2026-08-15",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": quantity}]});
    let g = kit::group(&a.ctx, &a.key, body).await;
    g["capacityGroupId"].as_str().unwrap().to_string()
}

fn patch(id: &str, body: Value) -> TestRequest {
    TestRequest::on_group("patch-capacity-group", id).json(body)
}

/// A patch by `acme`, with `If-Match: if_match` if any.
async fn send(a: &Acme, id: &str, body: Value, if_match: Option<&str>) -> TestResponse {
    a.call(patch(id, body).header_opt("if-match", if_match), &FUNCTION)
        .await
}

fn dbl(quantity: i64) -> Value {
    json!([{"unitTypeId": "dbl", "quantity": quantity}])
}

/// The `dbl` rooms the pool has allotted each night of 1–7 Sep.
async fn allotted(a: &Acme) -> Vec<i64> {
    a.per_night("dbl", "2026-09-01", "2026-09-07", |n| n.allotted)
        .await
}

async fn stored(a: &Acme, id: &str) -> shared::domain::group::LoadedGroup {
    let t = kit::tenant("acme");
    a.ctx
        .store
        .require_group(&t, id.parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn rename_resize_and_members_with_if_match() {
    let (a, id) = setup("Pool").await;
    let member = a.allotment(json!({})).await;
    let body = json!({"name": "Summer pool", "unitAllocations": dbl(8), "allotmentIds": [member]});
    let resp = send(&a, &id, body, Some("\"1\"")).await;
    assert_eq!(resp.expect(200)["name"], "Summer pool");
    assert_eq!(resp.headers["etag"], "\"2\"");
    assert_eq!(resp.data()["allotmentIds"], json!([member]));
    assert_eq!(resp.data()["usage"][0]["shared"], 8);
    assert_eq!(allotted(&a).await, [18; 7]);
    let t = kit::tenant("acme");
    let group_of = |m: &str| kit::group_of(&a.ctx.store, &t, m.parse().unwrap());
    assert_eq!(
        group_of(&member).await.map(|g| g.to_string()),
        Some(id.clone())
    );

    let stale = send(&a, &id, json!({"name": "x"}), Some("\"1\"")).await;
    stale.assert_error(412, "PRECONDITION_FAILED");
    let clear = json!({"allotmentIds": [], "unitAllocations": dbl(2)});
    let cleared = send(&a, &id, clear, None).await;
    assert_eq!(cleared.expect(200)["allotmentIds"], json!([]));
    assert!(group_of(&member).await.is_none());
    assert_eq!(allotted(&a).await, [12; 7]);
}

#[tokio::test]
async fn names_capacity_and_fields_are_checked() {
    let (a, id) = setup("Pool A").await;
    group(&a, "Pool B", 1).await;
    let taken = send(&a, &id, json!({"name": "Pool B"}), None).await;
    taken.assert_error(409, "NAME_TAKEN");
    let short = send(&a, &id, json!({"unitAllocations": dbl(30)}), None).await;
    short.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(short.body["details"][0]["requested"], 25);
    let bad = json!({"periodTo": "2026-09-10", "allotmentIds": ["nope"]});
    send(&a, &id, bad, None)
        .await
        .assert_invalid(&["periodTo", "allotmentIds[0]"]);
    a.assert_hidden(patch(&id, json!({"name": "Mine"})), &FUNCTION)
        .await;
    let g = stored(&a, &id).await;
    assert_eq!(
        (g.record.name.as_str(), g.record.version),
        ("Pool A", 1),
        "nothing changed"
    );
}

/// Issue 14, item 5: `quantity: 0` in a PATCH is a resize like any other.
#[tokio::test]
async fn a_unit_type_resized_to_zero_is_emptied_unless_rooms_are_in_use() {
    let (a, id) = setup("Pool").await;
    let resize = |q: i64| send(&a, &id, json!({"unitAllocations": dbl(q)}), None);
    let emptied = resize(0).await;
    assert_eq!(emptied.expect(200)["unitAllocations"], dbl(0));
    assert!(emptied.data()["usage"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["shared"] == 0 && n["available"] == 0));
    assert_eq!(
        allotted(&a).await,
        [0; 7],
        "the rooms went back to the pool"
    );

    let member = a.allotment(json!({"unitAllocations": dbl(1)})).await;
    let refill = json!({"unitAllocations": dbl(3), "allotmentIds": [member]});
    send(&a, &id, refill, None).await.expect(200);
    // A member's pickup of 3 rooms on 2–3 Sep drawing 2 of them on the group.
    let body = kit::pickup_body("dbl", "2026-09-02", "2026-09-04", 3);
    let p = kit::pickup(&a.ctx, &a.key, &member, body).await;
    assert_eq!(p["fromGroup"].as_array().unwrap().len(), 2);

    let refused = resize(0).await;
    refused.assert_conflict(
        "BELOW_PICKED_UP",
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-02", "requested": 0, "pickedUp": 2},
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 0, "pickedUp": 2},
        ]),
    );
    let g = stored(&a, &id).await;
    assert_eq!(g.record.unit_allocations[0].quantity, 3, "nothing changed");
    assert!(g.grid.values().all(|n| n.shared == 3));
    // Down to the rooms in use is allowed.
    let down = resize(2).await;
    let shared: Vec<i64> = down.expect(200)["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["shared"].as_i64().unwrap())
        .collect();
    assert_eq!(shared, [2; 7]);
    assert_eq!(
        allotted(&a).await,
        [3; 7],
        "1 for the member, 2 for the group"
    );
}
