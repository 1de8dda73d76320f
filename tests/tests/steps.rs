//! Allotments and capacity groups bigger than one transaction (issue 14, items 1-2), on
//! DynamoDB Local: made, changed, refused, cancelled, deleted and released in steps
//! (`domain::steps`, `store::steps`), all or nothing as seen through the API, and what a
//! request that dies between steps leaves resolved by the scheduled sweeper.

use kit::{tenant, Acme, TestRequest};
use serde_json::{json, Value};
use shared::http::Ctx;

const FROM: &str = "2026-09-01";

fn units(n: usize, quantity: i64) -> Value {
    json!((0..n)
        .map(|i| json!({"unitTypeId": format!("u{i:02}"), "quantity": quantity}))
        .collect::<Vec<_>>())
}

/// Acme with `n` unit types of `capacity` rooms every night from 1 Sep 2026 to `to`.
async fn hotel(n: usize, to: &str, capacity: i64) -> Acme {
    let a = kit::bare_acme().await;
    for i in 0..n {
        a.inventory(&format!("u{i:02}"), FROM, to, capacity).await;
    }
    a
}

fn body(a: &Acme, n: usize, to: &str, quantity: i64) -> Value {
    kit::with(
        kit::allotment_body(a.est),
        json!({"periodFrom": FROM, "periodTo": to, "unitAllocations": units(n, quantity)}),
    )
}

fn create(body: &Value) -> TestRequest {
    TestRequest::event("create-allotment").json(body.clone())
}

/// Σ allotted over the pool from 1 Sep 2026 to `to`.
async fn allotted(a: &Acme, to: &str) -> i64 {
    a.pool(FROM, to)
        .await
        .iter()
        .map(|(_, _, n)| n.allotted)
        .sum()
}

/// How many allotments the API lists for the hotel.
async fn listed(a: &Acme) -> usize {
    let req =
        TestRequest::event("list-allotments").query(&[("establishmentId", &a.est.to_string())]);
    let r = a.call(req, &list_allotments::FUNCTION).await;
    r.expect(200).as_array().unwrap().len()
}

/// Items of the steps (marker, records) `id` still has.
async fn steps_left(a: &Acme, id: &str) -> usize {
    kit::step_items(&a.ctx.store, &tenant("acme"), id).await
}

#[tokio::test]
async fn a_year_of_twelve_unit_types_is_one_request_and_its_cancel_gives_every_room_back() {
    let to = "2027-08-31";
    let a = hotel(12, to, 20).await;
    let r = a
        .call(create(&body(&a, 12, to, 5)), &create_allotment::FUNCTION)
        .await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    assert_eq!(allotted(&a, to).await, 365 * 12 * 5);
    assert_eq!(steps_left(&a, &id).await, 0, "nothing of the steps is left");
    let got = a
        .call(
            TestRequest::on_allotment("get-allotment", &id),
            &get_allotment::FUNCTION,
        )
        .await;
    let totals = got.expect(200)["totals"].as_array().unwrap().clone();
    assert_eq!(totals.len(), 12);
    assert!(totals
        .iter()
        .all(|t| t["allocatedRoomNights"] == json!(365 * 5)));
    let history = a
        .call(
            TestRequest::on_allotment("list-allocations", &id).query(&[("limit", "100")]),
            &list_allocations::FUNCTION,
        )
        .await;
    assert_eq!(history.expect(200).as_array().unwrap().len(), 12);
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;

    // The cancel: 300 pool buckets, given back after the commit, in steps.
    let cancel = TestRequest::on_allotment("cancel-allotment", &id).json(json!({}));
    let r = a.call(cancel, &cancel_allotment::FUNCTION).await;
    assert_eq!(r.expect(200)["status"], "cancelled");
    assert_eq!(allotted(&a, to).await, 0);
    assert_eq!(steps_left(&a, &id).await, 0);
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn the_largest_allotment_the_contract_allows_is_one_request_and_releases_in_one() {
    // 731 nights × 50 unit types: 1,250 pool buckets, 25 grid months.
    let to = "2028-08-31";
    let a = hotel(50, to, 3).await;
    let r = a
        .call(create(&body(&a, 50, to, 2)), &create_allotment::FUNCTION)
        .await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    assert_eq!(allotted(&a, to).await, 731 * 50 * 2);
    assert_eq!(r.data()["totals"].as_array().unwrap().len(), 50);
    // A manual release of all of it: every room back, in steps after its commit.
    let release = TestRequest::on_allotment("release-allotment", &id).json(json!({}));
    let r = a.call(release, &release_allotment::FUNCTION).await;
    assert_eq!(r.expect(200)["status"], "released");
    assert_eq!(allotted(&a, to).await, 0);
    assert_eq!(steps_left(&a, &id).await, 0);
}

#[tokio::test]
async fn a_night_short_in_the_last_step_leaves_nothing_behind() {
    let to = "2027-08-31";
    let a = hotel(12, to, 20).await;
    // The last unit type's last night (the last pool bucket, in the last step) has 4.
    a.inventory("u11", to, to, 4).await;
    let r = a
        .call(create(&body(&a, 12, to, 5)), &create_allotment::FUNCTION)
        .await;
    r.assert_conflict(
        "INSUFFICIENT_CAPACITY",
        json!([{"unitTypeId": "u11", "date": to, "requested": 5, "available": 4}]),
    );
    assert_eq!(allotted(&a, to).await, 0, "every step undone");
    assert_eq!(listed(&a).await, 0);
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn a_request_that_dies_between_steps_is_retried_and_swept() {
    let to = "2027-08-31";
    let a = hotel(12, to, 20).await;
    let dying = Ctx::with_now(a.ctx.store.clone().dying_after_steps(2), kit::now());
    let keyed = create(&body(&a, 12, to, 5)).header("idempotency-key", "tour-2027");
    let r = keyed
        .key(&a.key)
        .send(&create_allotment::FUNCTION, &dying)
        .await;
    r.assert_error(503, "UNAVAILABLE");
    let held = allotted(&a, to).await;
    assert!(
        held > 0,
        "two steps held rooms for an allotment nobody can see"
    );
    assert_eq!(listed(&a).await, 0, "nothing visible");
    // Its key is held until its lease runs out: a retry meanwhile is told to wait.
    let early = create(&body(&a, 12, to, 5)).header("idempotency-key", "tour-2027");
    let r = a.call(early, &create_allotment::FUNCTION).await;
    r.assert_error(409, "IDEMPOTENCY_IN_PROGRESS");
    assert_eq!(allotted(&a, to).await, held, "the retry prepared nothing");
    kit::expire_key_lock(&a.ctx.store, &tenant("acme"), "tour-2027").await;

    // The retry with the same key makes it, once.
    let retry = create(&body(&a, 12, to, 5)).header("idempotency-key", "tour-2027");
    let r = a.call(retry, &create_allotment::FUNCTION).await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    let again = create(&body(&a, 12, to, 5)).header("idempotency-key", "tour-2027");
    let replay = a.call(again, &create_allotment::FUNCTION).await;
    assert_eq!(replay.expect(201)["allotmentId"], json!(id), "replayed");

    // The scheduled run resolves what the dead request left, once its lease ran out.
    let store = &a.ctx.store;
    assert_eq!(
        store.sweep_steps(chrono::Utc::now()).await.unwrap(),
        0,
        "still leased"
    );
    let later = chrono::Utc::now() + shared::store::STEPS_LEASE + chrono::Duration::seconds(1);
    assert_eq!(store.sweep_steps(later).await.unwrap(), 1);
    assert_eq!(store.sweep_steps(later).await.unwrap(), 0, "once");
    assert_eq!(
        allotted(&a, to).await,
        365 * 12 * 5,
        "only the allotment made"
    );
    kit::check_invariants(store, "acme", a.est, None, FROM, to).await;

    // A cancel that dies after its commit: committed, its rooms given back by the
    // sweeper.
    let cancel = TestRequest::on_allotment("cancel-allotment", &id)
        .json(json!({}))
        .header("idempotency-key", "cancel-2027");
    let r = cancel
        .key(&a.key)
        .send(&cancel_allotment::FUNCTION, &dying)
        .await;
    r.assert_error(503, "UNAVAILABLE");
    let retry = TestRequest::on_allotment("cancel-allotment", &id)
        .json(json!({}))
        .header("idempotency-key", "cancel-2027");
    let r = a.call(retry, &cancel_allotment::FUNCTION).await;
    assert_eq!(r.expect(200)["status"], "cancelled");
    assert!(allotted(&a, to).await > 0, "rooms still to give back");
    let later = chrono::Utc::now() + shared::store::STEPS_LEASE + chrono::Duration::seconds(1);
    assert_eq!(store.sweep_steps(later).await.unwrap(), 1);
    assert_eq!(allotted(&a, to).await, 0);
    kit::check_invariants(store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn a_tentative_allotment_in_steps_is_released_whole_at_its_cutoff() {
    let to = "2027-08-31";
    let a = hotel(12, to, 20).await;
    let mut option = body(&a, 12, to, 5);
    option["allotmentType"] = json!("tentative");
    let r = a.call(create(&option), &create_allotment::FUNCTION).await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    assert_eq!(allotted(&a, to).await, 365 * 12 * 5);
    // The scheduled run after its cutoff (1 Aug 2026): one release of 4,380 nights, in
    // steps after its commit.
    let event = json!({"time": "2026-08-02T06:00:00Z", "detail-type": "Scheduled Event",
                       "source": "aws.events", "detail": {}});
    cutoff_release::handle_event(&a.ctx.store, &event, None)
        .await
        .unwrap();
    let got = a
        .call(
            TestRequest::on_allotment("get-allotment", &id),
            &get_allotment::FUNCTION,
        )
        .await;
    assert_eq!(got.expect(200)["status"], "released");
    assert_eq!(allotted(&a, to).await, 0);
    assert_eq!(steps_left(&a, &id).await, 0);
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

/// A year of 1 unit type, `n` members of 1 room each.
async fn members(a: &Acme, n: usize, to: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let b = json!({"periodFrom": FROM, "periodTo": to,
                       "unitAllocations": [{"unitTypeId": "u00", "quantity": 1}]});
        ids.push(a.allotment(b).await);
    }
    ids
}

fn group_body(a: &Acme, to: &str, members: &[String]) -> Value {
    json!({"establishmentId": a.est.to_string(), "name": "Tour operators", "periodFrom": FROM,
           "periodTo": to, "unitAllocations": [{"unitTypeId": "u00", "quantity": 5}],
           "cutoffDate": "2026-08-25", "allotmentIds": members})
}

#[tokio::test]
async fn a_group_of_a_hundred_members_over_a_year_is_one_request() {
    let to = "2027-08-31";
    let a = hotel(1, to, 110).await;
    let ids = members(&a, 100, to).await;
    let req = TestRequest::event("create-capacity-group").json(group_body(&a, to, &ids));
    let r = a.call(req, &create_capacity_group::FUNCTION).await;
    let data = r.expect(201).clone();
    assert_eq!(data["allotmentIds"].as_array().unwrap().len(), 100);
    let group: uuid::Uuid = data["capacityGroupId"].as_str().unwrap().parse().unwrap();
    assert_eq!(allotted(&a, to).await, 365 * (100 + 5));
    for id in &ids {
        let member = kit::group_of(&a.ctx.store, &tenant("acme"), id.parse().unwrap()).await;
        assert_eq!(member, Some(group));
    }
    assert_eq!(steps_left(&a, &group.to_string()).await, 0);
    kit::check_invariants(&a.ctx.store, "acme", a.est, Some(group), FROM, to).await;
}

#[tokio::test]
async fn a_member_claimed_meanwhile_in_the_last_step_leaves_nothing_behind() {
    use shared::domain::group::{plan_group_creation, NewGroup};
    let to = "2027-08-31";
    let a = hotel(1, to, 110).await;
    let ids = members(&a, 100, to).await;
    let t = tenant("acme");
    let store = &a.ctx.store;
    let body = group_body(&a, to, &ids);
    let new = NewGroup::parse(body.as_object().unwrap(), None).unwrap();
    let uuids: Vec<uuid::Uuid> = ids.iter().map(|i| i.parse().unwrap()).collect();
    let candidates = store.load_candidates(&t, &uuids).await.unwrap();
    let group = uuid::Uuid::new_v4();
    let zone = store
        .get_establishment(&t, a.est)
        .await
        .unwrap()
        .unwrap()
        .time_zone;
    let planned = plan_group_creation(&new, group, zone, &candidates, None, kit::now()).unwrap();
    // After the read, another group claims the last member: its claim, in the last
    // step, is refused.
    let other = uuid::Uuid::new_v4();
    kit::claim_membership(store, &t, uuids[99], other).await;
    let applied = store.apply(&t, &planned.plan).await.unwrap();
    assert_eq!(applied, shared::store::Applied::Refused);
    assert_eq!(
        allotted(&a, to).await,
        365 * 100,
        "the group's rooms given back"
    );
    for id in &uuids[..99] {
        assert_eq!(
            kit::group_of(store, &t, *id).await,
            None,
            "every claim given up"
        );
    }
    assert_eq!(kit::group_of(store, &t, uuids[99]).await, Some(other));
    assert!(store.load_group(&t, group).await.unwrap().is_none());
    assert_eq!(steps_left(&a, &group.to_string()).await, 0);
    kit::check_invariants(store, "acme", a.est, None, FROM, to).await;
}

/// A pickup of `q` rooms of `u00` on 2 Sep 2026 on `allotment`.
async fn pickup(a: &Acme, allotment: &str, q: i64) -> kit::TestResponse {
    let body = kit::pickup_body("u00", "2026-09-02", "2026-09-03", q);
    let req = TestRequest::on_allotment("create-pickup", allotment).json(body);
    a.call(req, &create_pickup::FUNCTION).await
}

/// A hotel of 170 rooms, 160 members of 1 room to `to`, a group of the first 100.
async fn hundred_of_160(to: &str) -> (Acme, Vec<String>, String) {
    let a = hotel(1, to, 170).await;
    let ids = members(&a, 160, to).await;
    let req = TestRequest::event("create-capacity-group").json(group_body(&a, to, &ids[..100]));
    let r = a.call(req, &create_capacity_group::FUNCTION).await;
    let group = r.expect(201)["capacityGroupId"]
        .as_str()
        .unwrap()
        .to_string();
    (a, ids, group)
}

#[tokio::test]
async fn sixty_of_a_hundred_members_are_replaced_and_the_group_deleted_in_one_request_each() {
    let to = "2027-08-31";
    let (a, ids, group) = hundred_of_160(to).await;
    let t = tenant("acme");
    let store = &a.ctx.store;
    let gid: uuid::Uuid = group.parse().unwrap();

    // 40 kept, 60 given up, 60 claimed: 120 claims and the header, in steps.
    let next: Vec<String> = ids[..40].iter().chain(&ids[100..]).cloned().collect();
    let patch =
        TestRequest::on_group("patch-capacity-group", &group).json(json!({"allotmentIds": next}));
    let r = a.call(patch, &patch_capacity_group::FUNCTION).await;
    assert_eq!(r.expect(200)["allotmentIds"], json!(next));
    assert_eq!(r.data()["version"], json!(2));
    for (i, id) in ids.iter().enumerate() {
        let want = (!(40..100).contains(&i)).then_some(gid);
        assert_eq!(
            kit::group_of(store, &t, id.parse().unwrap()).await,
            want,
            "member {i}"
        );
    }
    assert_eq!(steps_left(&a, &group).await, 0);
    // A member given up draws nothing from the group; a new one does.
    pickup(&a, &ids[50], 2)
        .await
        .assert_error(409, "ALLOTMENT_EXHAUSTED");
    let drew = pickup(&a, &ids[150], 2).await;
    assert_eq!(drew.expect(201)["capacityGroupId"], json!(group));
    kit::check_invariants(store, "acme", a.est, Some(gid), FROM, to).await;
    let cancel = TestRequest::on_allotment("cancel-pickup", &ids[150])
        .path_param("pickupId", drew.data()["pickupId"].as_str().unwrap())
        .json(json!({}));
    a.call(cancel, &cancel_pickup::FUNCTION).await.expect(200);

    // The delete: its header, name and holds at once; its rooms, months and 100
    // claims after.
    let delete = TestRequest::on_group("delete-capacity-group", &group);
    let deleted = a.call(delete, &delete_capacity_group::FUNCTION).await;
    assert_eq!(deleted.status, 204, "{}", deleted.raw);
    for id in &ids {
        assert_eq!(kit::group_of(store, &t, id.parse().unwrap()).await, None);
    }
    assert!(store.load_group(&t, gid).await.unwrap().is_none());
    assert_eq!(allotted(&a, to).await, 365 * 160, "the group's rooms back");
    assert_eq!(steps_left(&a, &group).await, 0);
    kit::check_invariants(store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn a_group_of_fifty_unit_types_is_resized_and_released_at_its_cutoff_in_steps() {
    let to = "2027-08-31";
    let a = hotel(50, to, 10).await;
    let store = &a.ctx.store;
    let ids = members(&a, 2, to).await;
    let mut body = group_body(&a, to, &ids);
    body["unitAllocations"] = units(50, 4);
    let keyed = || {
        TestRequest::event("create-capacity-group")
            .json(body.clone())
            .header("idempotency-key", "fifty-types")
    };
    let r = a.call(keyed(), &create_capacity_group::FUNCTION).await;
    let group = r.expect(201)["capacityGroupId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.data()["usage"].as_array().unwrap().len(), 50 * 365);
    // Its 1.5 MB answer, stored deflated with its key, replayed byte for byte.
    let replay = a.call(keyed(), &create_capacity_group::FUNCTION).await;
    assert!(
        replay.raw == r.raw,
        "not replayed: {} {}",
        replay.status,
        replay.code()
    );
    let gid: uuid::Uuid = group.parse().unwrap();
    assert_eq!(allotted(&a, to).await, 365 * (2 + 50 * 4));

    // Half up (rooms taken before the commit), half down (given back after it).
    let resize: Vec<Value> = (0..50)
        .map(|i| json!({"unitTypeId": format!("u{i:02}"), "quantity": if i < 25 { 7 } else { 1 }}))
        .collect();
    let patch = TestRequest::on_group("patch-capacity-group", &group)
        .json(json!({"unitAllocations": resize}));
    let r = a.call(patch, &patch_capacity_group::FUNCTION).await;
    assert_eq!(r.expect(200)["unitAllocations"][0]["quantity"], json!(7));
    assert_eq!(allotted(&a, to).await, 365 * (2 + 25 * 7 + 25));
    assert_eq!(steps_left(&a, &group).await, 0);
    kit::check_invariants(store, "acme", a.est, Some(gid), FROM, to).await;

    // One unit type too many for the pool (u00: 2 rooms of members, 7 of the group):
    // refused in its step, nothing held, nothing given back.
    let greedy: Vec<Value> = (0..50)
        .map(|i| {
            let q = match i {
                0 => 10,
                1..=24 => 8,
                _ => 0,
            };
            json!({"unitTypeId": format!("u{i:02}"), "quantity": q})
        })
        .collect();
    let patch = TestRequest::on_group("patch-capacity-group", &group)
        .json(json!({"unitAllocations": greedy}));
    let r = a.call(patch, &patch_capacity_group::FUNCTION).await;
    r.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(allotted(&a, to).await, 365 * (2 + 25 * 7 + 25));
    assert_eq!(steps_left(&a, &group).await, 0);

    // Its cutoff (25 Aug 2026): every unused room back, after the commit.
    let event = json!({"time": "2026-08-26T06:00:00Z", "detail-type": "Scheduled Event",
                       "source": "aws.events", "detail": {}});
    cutoff_release::handle_event(store, &event, None)
        .await
        .unwrap();
    let got = TestRequest::on_group("get-capacity-group", &group);
    let r = a.call(got, &get_capacity_group::FUNCTION).await;
    let usage = r.expect(200)["usage"].as_array().unwrap().clone();
    assert_eq!(usage.len(), 50 * 365);
    assert!(
        usage.iter().all(|n| n["shared"] == json!(0)),
        "every night released"
    );
    assert_eq!(
        allotted(&a, to).await,
        0,
        "members released too, the group's rooms back"
    );
    assert_eq!(steps_left(&a, &group).await, 0);
    kit::check_invariants(store, "acme", a.est, Some(gid), FROM, to).await;
}

#[tokio::test]
async fn a_group_change_that_dies_between_steps_draws_nothing_and_is_swept() {
    let to = "2027-08-31";
    let (a, ids, group) = hundred_of_160(to).await;
    let t = tenant("acme");
    let store = &a.ctx.store;
    let gid: uuid::Uuid = group.parse().unwrap();

    // The 60-by-60 replacement dies after its first step (40 of the claims).
    let next: Vec<String> = ids[..40].iter().chain(&ids[100..]).cloned().collect();
    let dying = Ctx::with_now(store.clone().dying_after_steps(1), kit::now());
    let patch = || {
        TestRequest::on_group("patch-capacity-group", &group).json(json!({"allotmentIds": next}))
    };
    let r = patch()
        .key(&a.key)
        .send(&patch_capacity_group::FUNCTION, &dying)
        .await;
    r.assert_error(503, "UNAVAILABLE");
    let got = TestRequest::on_group("get-capacity-group", &group);
    let r = a.call(got, &get_capacity_group::FUNCTION).await;
    assert_eq!(
        r.expect(200)["allotmentIds"],
        json!(ids[..100]),
        "nothing visible"
    );
    // A member claimed by the dead step is not listed: it draws nothing on the group.
    assert_eq!(
        kit::group_of(store, &t, ids[100].parse().unwrap()).await,
        Some(gid)
    );
    pickup(&a, &ids[100], 2)
        .await
        .assert_error(409, "ALLOTMENT_EXHAUSTED");
    assert!(steps_left(&a, &group).await > 0);

    // The scheduled run undoes it once its lease ran out.
    let later = chrono::Utc::now() + shared::store::STEPS_LEASE + chrono::Duration::seconds(1);
    assert_eq!(store.sweep_steps(later).await.unwrap(), 1);
    for id in &ids[100..] {
        assert_eq!(kit::group_of(store, &t, id.parse().unwrap()).await, None);
    }
    assert_eq!(steps_left(&a, &group).await, 0);
    kit::check_invariants(store, "acme", a.est, Some(gid), FROM, to).await;

    // Made again, it applies.
    let r = a.call(patch(), &patch_capacity_group::FUNCTION).await;
    assert_eq!(r.expect(200)["allotmentIds"], json!(next));
    kit::check_invariants(store, "acme", a.est, Some(gid), FROM, to).await;
}

/// The `allotment.released` events of `id`: (sequence, runs of nights, nights).
async fn released_events(a: &Acme, id: &str) -> Vec<(i64, usize, i64)> {
    let feed = kit::feed(&a.ctx.store, &tenant("acme"), a.est, 100).await;
    feed.iter()
        .filter(|e| e.subject.id.to_string() == id && e.event_type.as_str() == "allotment.released")
        .map(|e| {
            let runs = e.data["nights"].as_array().unwrap();
            let nights = runs
                .iter()
                .map(|r| {
                    let day = |k: &str| kit::date(r[k].as_str().unwrap());
                    (day("to") - day("from")).num_days() + 1
                })
                .sum();
            (e.sequence, runs.len(), nights)
        })
        .collect()
}

/// An allotment of 6 unit types over a year with a 1-night pickup on every other night
/// of three of them: 3 × 365 runs of one night when released, over the 1,000 of one
/// event.
async fn varied_year(a: &Acme, to: &str) -> String {
    let r = a
        .call(create(&body(a, 6, to, 2)), &create_allotment::FUNCTION)
        .await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    let first = kit::date(FROM);
    let stays: Vec<(usize, chrono::NaiveDate)> = (0..3)
        .flat_map(|u| {
            (0..365)
                .step_by(2)
                .map(move |n| (u, first + chrono::Duration::days(n)))
        })
        .collect();
    let with = (a.clone(), id.clone(), std::sync::Arc::new(stays));
    kit::concurrently(4, &with, |(a, id, stays), task| async move {
        for (u, night) in stays.iter().skip(task).step_by(4) {
            let body = kit::pickup_body(
                &format!("u{u:02}"),
                &night.to_string(),
                &night.succ_opt().unwrap().to_string(),
                1,
            );
            kit::pickup(&a.ctx, &a.key, &id, body).await;
        }
    })
    .await;
    id
}

/// Two parts, each within one event, every night once, each its own version.
fn two_parts(events: &[(i64, usize, i64)]) {
    assert_eq!(events.len(), 2, "two parts: {events:?}");
    assert!(events.iter().all(|(_, runs, _)| *runs <= 1_000));
    assert_eq!(
        events.iter().map(|(_, _, n)| n).sum::<i64>(),
        6 * 365,
        "every night once"
    );
    assert!(events[0].0 < events[1].0, "each part its own version");
}

#[tokio::test]
async fn a_release_of_more_runs_than_one_event_holds_goes_in_parts() {
    let to = "2027-08-31";
    let a = hotel(6, to, 5).await;
    let (manual, cutoff) = (varied_year(&a, to).await, varied_year(&a, to).await);

    let release = || {
        TestRequest::on_allotment("release-allotment", &manual)
            .json(json!({}))
            .header("idempotency-key", "release-in-parts")
    };
    let r = a.call(release(), &release_allotment::FUNCTION).await;
    let released = r.expect(200).clone();
    assert_eq!(released["status"], "released");
    let events = released_events(&a, &manual).await;
    two_parts(&events);
    assert_eq!(released["version"], json!(events[1].0));
    // The same request again: replayed, nothing more released.
    let r = a.call(release(), &release_allotment::FUNCTION).await;
    assert_eq!(r.expect(200)["version"], released["version"]);
    assert_eq!(released_events(&a, &manual).await.len(), 2);

    // The other at its cutoff (1 Aug 2026): one run, both parts.
    let event = json!({"time": "2026-08-02T06:00:00Z", "detail-type": "Scheduled Event",
                       "source": "aws.events", "detail": {}});
    cutoff_release::handle_event(&a.ctx.store, &event, None)
        .await
        .unwrap();
    two_parts(&released_events(&a, &cutoff).await);
    let got = TestRequest::on_allotment("get-allotment", &cutoff);
    let r = a.call(got, &get_allotment::FUNCTION).await;
    assert_eq!(r.expect(200)["status"], "released");
    assert_eq!(
        allotted(&a, to).await,
        2 * 3 * 183,
        "only the rooms picked up stay"
    );
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn a_duplicate_sent_while_its_twin_prepares_is_told_it_is_in_progress() {
    // Rooms for one of the twins only: without the held key the second would prepare,
    // find the pool short, and record a 409 its twin would then replay.
    let to = "2027-08-31";
    let a = hotel(12, to, 5).await;
    let body = body(&a, 12, to, 5);
    let send = || create(&body).header("idempotency-key", "twins");
    let (one, two) = tokio::join!(
        a.call(send(), &create_allotment::FUNCTION),
        a.call(send(), &create_allotment::FUNCTION)
    );
    for r in [&one, &two] {
        assert!(
            r.status == 201 || (r.status == 409 && r.code() == "IDEMPOTENCY_IN_PROGRESS"),
            "{} {}",
            r.status,
            r.code()
        );
    }
    let made = [&one, &two]
        .into_iter()
        .find(|r| r.status == 201)
        .expect("one made");
    assert_eq!(listed(&a).await, 1);
    assert_eq!(allotted(&a, to).await, 365 * 12 * 5);
    // The one told to retry gets the same answer.
    let again = a.call(send(), &create_allotment::FUNCTION).await;
    assert_eq!(again.expect(201)["allotmentId"], made.data()["allotmentId"]);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_told_from_its_marker() {
    let to = "2027-08-31";
    let a = hotel(12, to, 20).await;
    let losing = Ctx::with_now(a.ctx.store.clone().losing_commit_answers(), kit::now());
    // A creation: its commit deleted the marker, so it committed — 201, once.
    let r = create(&body(&a, 12, to, 5))
        .header("idempotency-key", "lost-answer")
        .key(&a.key)
        .send(&create_allotment::FUNCTION, &losing)
        .await;
    let id = r.expect(201)["allotmentId"].as_str().unwrap().to_string();
    assert_eq!(listed(&a).await, 1);
    assert_eq!(allotted(&a, to).await, 365 * 12 * 5);
    assert_eq!(steps_left(&a, &id).await, 0);
    // A cancel: its marker says `forward`, so it committed — its rooms given back.
    let cancel = TestRequest::on_allotment("cancel-allotment", &id).json(json!({}));
    let r = cancel
        .key(&a.key)
        .send(&cancel_allotment::FUNCTION, &losing)
        .await;
    assert_eq!(r.expect(200)["status"], "cancelled");
    assert_eq!(allotted(&a, to).await, 0);
    assert_eq!(steps_left(&a, &id).await, 0);
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_creations_in_steps_apply_once_under_lost_answers_and_drops() {
    use kit::proxy::{Config, Fault, Proxy};
    // Half of the transactions dropped or their answers lost (after the write), through
    // the fault proxy: steps, undos and commits fail at any point, clients retry with
    // their keys until answered.
    let to = "2027-08-31";
    let a = hotel(8, to, 40).await;
    let proxy = Proxy::start_at(&kit::endpoint(), Config::default())
        .await
        .expect("start the proxy");
    let conf = shared::store::Store::local_config(&proxy.endpoint()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let faulty = Ctx::with_now(
        shared::store::Store::new(client, a.ctx.store.table()),
        kit::now(),
    );
    proxy.set_config(
        Config::faults(22, 0.5, &[Fault::Drop, Fault::LoseAnswer]).only(&["TransactWriteItems"]),
    );
    let mut made = Vec::new();
    for i in 0..5 {
        let key = format!("faulty-{i}");
        let mut tries = 0;
        let r = loop {
            tries += 1;
            let r = create(&body(&a, 8, to, 1))
                .header("idempotency-key", &key)
                .key(&a.key)
                .send(&create_allotment::FUNCTION, &faulty)
                .await;
            if r.status == 201 || tries >= 25 {
                break r;
            }
            assert!(
                r.status >= 500 || r.code() == "IDEMPOTENCY_IN_PROGRESS",
                "{} {}",
                r.status,
                r.code()
            );
        };
        made.push(r.expect(201)["allotmentId"].as_str().unwrap().to_string());
    }
    proxy.set_config(Config::default());
    let stats = proxy.stats();
    println!("{stats}");
    assert!(stats.faults_total() > 0, "faults were injected");
    // What failed requests left (a marker whose undo failed too): swept.
    let later = chrono::Utc::now() + shared::store::STEPS_LEASE + chrono::Duration::seconds(1);
    a.ctx.store.sweep_steps(later).await.unwrap();
    made.sort();
    made.dedup();
    assert_eq!(made.len(), 5, "one allotment per key");
    assert_eq!(listed(&a).await, 5, "and no other");
    assert_eq!(allotted(&a, to).await, 5 * 365 * 8, "rooms held once each");
    kit::check_invariants(&a.ctx.store, "acme", a.est, None, FROM, to).await;
}
