//! The outbox through the handlers: every write endpoint writes its event(s) once,
//! with the data it answers; a refused request writes none; the cutoff's release
//! occurs at its moment, not at the run.

use kit::{allotment_body, tenant, Acme, TestRequest};
use serde_json::{json, Value};
use shared::http::Function;

/// Follows the feed of `a` through `GET /v1/events` (pages of 2) from its cursor.
struct Reader {
    after: Option<String>,
}

impl Reader {
    /// The events since the last read: `(type, subject id, sequence, data)`.
    async fn since(&mut self, a: &Acme) -> Vec<(String, String, i64, Value)> {
        let mut out = Vec::new();
        loop {
            let est = a.est.to_string();
            let mut q = vec![("establishmentId", est.as_str()), ("limit", "2")];
            if let Some(c) = &self.after {
                q.push(("after", c));
            }
            let page = a
                .call(
                    TestRequest::event("list-events").query(&q),
                    &list_events::FUNCTION,
                )
                .await;
            for e in page.expect(200).as_array().unwrap() {
                assert_eq!(e["establishmentId"], json!(a.est));
                out.push((
                    e["type"].as_str().unwrap().to_string(),
                    e["subject"]["id"].as_str().unwrap().to_string(),
                    e["sequence"].as_i64().unwrap(),
                    e["data"].clone(),
                ));
            }
            self.after = Some(page.body["nextCursor"].as_str().unwrap().to_string());
            if page.body["hasMore"] == json!(false) {
                return out;
            }
        }
    }

    /// Asserts that the events since the last read are exactly `want`:
    /// `(type, subject id, sequence)`; their data.
    async fn expect(&mut self, a: &Acme, want: &[(&str, &str, i64)]) -> Vec<Value> {
        let got = self.since(a).await;
        let kinds: Vec<(&str, &str, i64)> = got
            .iter()
            .map(|(t, s, q, _)| (t.as_str(), s.as_str(), *q))
            .collect();
        assert_eq!(kinds, want);
        got.into_iter().map(|(_, _, _, d)| d).collect()
    }
}

async fn send(a: &Acme, req: TestRequest, f: &Function, status: u16) -> Value {
    let r = a.call(req, f).await;
    r.expect(status).clone()
}

#[tokio::test]
async fn every_write_endpoint_writes_its_events_once_with_its_answer() {
    let a = kit::bare_acme().await;
    let est = a.est.to_string();
    let mut feed = Reader { after: None };
    feed.expect(&a, &[("establishment.updated", &est, 1)]).await;

    let put = TestRequest::event("put-establishment").establishment(a.est);
    let e = send(
        &a,
        put.json(json!({"name": "Port", "timeZone": "Europe/Paris"})),
        &put_establishment::FUNCTION,
        200,
    )
    .await;
    let data = feed.expect(&a, &[("establishment.updated", &est, 2)]).await;
    assert_eq!(data[0], e, "the representation answered");

    let inv = TestRequest::event("put-inventory").establishment(a.est);
    let i = send(&a, inv, &put_inventory::FUNCTION, 200).await;
    let data = feed.expect(&a, &[("inventory.changed", &est, 3)]).await;
    assert_eq!(data[0], i, "the change answered");

    let tentative = kit::with(
        allotment_body(a.est),
        json!({"allotmentType": "tentative", "penaltyPerRoomNightCents": null}),
    );
    let created = send(
        &a,
        TestRequest::event("create-allotment").json(tentative),
        &create_allotment::FUNCTION,
        201,
    )
    .await;
    let id = created["allotmentId"].as_str().unwrap().to_string();
    let data = feed.expect(&a, &[("allotment.created", &id, 1)]).await;
    assert_eq!(data[0], created);

    let on = |name: &str| TestRequest::on_allotment(name, &id);
    let steps: [(TestRequest, &Function, &str, i64, u16); 3] = [
        (
            on("patch-allotment").json(json!({"complimentaryRooms": 2})),
            &patch_allotment::FUNCTION,
            "allotment.updated",
            2,
            200,
        ),
        (
            on("confirm-allotment"),
            &confirm_allotment::FUNCTION,
            "allotment.confirmed",
            3,
            200,
        ),
        (
            on("create-allocation"),
            &create_allocation::FUNCTION,
            "allocation.changed",
            4,
            201,
        ),
    ];
    for (req, f, kind, sequence, status) in steps {
        let answer = send(&a, req, f, status).await;
        let data = feed.expect(&a, &[(kind, &id, sequence)]).await;
        assert_eq!(data[0], answer, "{kind}: the data is the answer");
    }

    let taken = send(&a, on("create-pickup"), &create_pickup::FUNCTION, 201).await;
    let pickup = taken["pickupId"].as_str().unwrap().to_string();
    let data = feed.expect(&a, &[("pickup.created", &pickup, 1)]).await;
    assert_eq!(data[0], taken);
    let cancel = || {
        TestRequest::on_allotment("cancel-pickup", &id)
            .path_param("pickupId", &pickup)
            .empty()
    };
    let cancelled = send(&a, cancel(), &cancel_pickup::FUNCTION, 200).await;
    let data = feed.expect(&a, &[("pickup.cancelled", &pickup, 2)]).await;
    assert_eq!(data[0], cancelled);
    // Repeated: nothing changes, nothing is told.
    send(&a, cancel(), &cancel_pickup::FUNCTION, 200).await;
    feed.expect(&a, &[]).await;

    let group = json!({"establishmentId": est, "allotmentIds": [id]});
    let group = kit::with(
        TestRequest::event("create-capacity-group").body_json(),
        group,
    );
    let g = send(
        &a,
        TestRequest::event("create-capacity-group").json(group),
        &create_capacity_group::FUNCTION,
        201,
    )
    .await;
    let gid = g["capacityGroupId"].as_str().unwrap().to_string();
    let data = feed
        .expect(&a, &[("capacity_group.created", &gid, 1)])
        .await;
    // The answer's representation, without `usage` (read with GET: every member's
    // pickup moves it with no event of the group).
    let announced = |answer: &Value| {
        let mut v = answer.clone();
        v.as_object_mut()
            .unwrap()
            .remove("usage")
            .expect("the answer's usage");
        v
    };
    assert_eq!(data[0], announced(&g));
    let patched = send(
        &a,
        TestRequest::on_group("patch-capacity-group", &gid),
        &patch_capacity_group::FUNCTION,
        200,
    )
    .await;
    let data = feed
        .expect(&a, &[("capacity_group.updated", &gid, 2)])
        .await;
    assert_eq!(data[0], announced(&patched));
    send(
        &a,
        TestRequest::on_group("delete-capacity-group", &gid),
        &delete_capacity_group::FUNCTION,
        204,
    )
    .await;
    let data = feed
        .expect(&a, &[("capacity_group.deleted", &gid, 3)])
        .await;
    assert_eq!(data[0]["capacityGroupId"], json!(gid));

    let released = send(
        &a,
        on("release-allotment"),
        &release_allotment::FUNCTION,
        200,
    )
    .await;
    let got = feed.since(&a).await;
    assert_eq!(got.len(), 1);
    let (kind, subject, sequence, _) = &got[0];
    assert_eq!(
        (kind.as_str(), subject.as_str()),
        ("allotment.released", id.as_str())
    );
    assert_eq!(
        *sequence,
        released["version"].as_i64().unwrap(),
        "the version it leaves"
    );
    let data = [got[0].3.clone()];
    assert_eq!(data[0]["allotment"], released);
    assert_eq!(data[0]["reason"], "manual");
    let runs = data[0]["nights"].as_array().unwrap();
    let length = |n: &Value| {
        let day = |f: &str| kit::date(n[f].as_str().unwrap());
        (day("to") - day("from")).num_days() + 1
    };
    assert_eq!(
        runs.iter()
            .map(|n| (n["from"].clone(), n["to"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("2026-09-01"), json!("2026-09-01")),
            (json!("2026-09-02"), json!("2026-09-04")),
            (json!("2026-09-05"), json!("2026-09-07"))
        ],
        "every night of the period, as runs of nights released alike"
    );
    assert!(runs
        .iter()
        .all(|n| n["allocated"] == 0 && n["releasedAt"] == json!("2026-06-01T10:00:00Z")));
    let returned: i64 = runs
        .iter()
        .map(|n| n["quantity"].as_i64().unwrap() * length(n))
        .sum();
    assert_eq!(returned, 7 * 10 + 3 * 2, "10 a night, 12 on 2–4 Sep");

    let other = send(
        &a,
        TestRequest::event("create-allotment").json(allotment_body(a.est)),
        &create_allotment::FUNCTION,
        201,
    )
    .await;
    let other = other["allotmentId"].as_str().unwrap().to_string();
    let cancelled = send(
        &a,
        TestRequest::on_allotment("cancel-allotment", &other),
        &cancel_allotment::FUNCTION,
        200,
    )
    .await;
    let data = feed
        .expect(
            &a,
            &[
                ("allotment.created", &other, 1),
                ("allotment.cancelled", &other, 2),
            ],
        )
        .await;
    assert_eq!(data[1], cancelled);
}

#[tokio::test]
async fn a_refused_request_writes_no_event() {
    let (a, id) = kit::acme_allotment().await;
    let mut feed = Reader { after: None };
    assert_eq!(
        feed.since(&a).await.len(),
        3,
        "establishment, inventory, allotment"
    );
    let on = |name: &str| TestRequest::on_allotment(name, &id);
    let too_many = kit::pickup_body("dbl", "2026-09-02", "2026-09-04", 11);
    let refused: [(TestRequest, &Function); 5] = [
        (on("create-pickup").json(too_many), &create_pickup::FUNCTION),
        (
            on("create-pickup").json(json!({"quantity": 0})),
            &create_pickup::FUNCTION,
        ),
        (
            on("create-allocation").json(json!({"unitTypeId": "dbl", "quantity": 40})),
            &create_allocation::FUNCTION,
        ),
        (on("confirm-allotment"), &confirm_allotment::FUNCTION),
        (
            on("patch-allotment").header("if-match", "\"7\""),
            &patch_allotment::FUNCTION,
        ),
    ];
    for (req, f) in refused {
        let r = a.call(req, f).await;
        assert!((400..500).contains(&r.status), "{}: {}", f.name, r.raw);
    }
    let inventory = TestRequest::event("put-inventory")
        .establishment(a.est)
        .json(
            json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 2}),
        );
    a.call(inventory, &put_inventory::FUNCTION)
        .await
        .assert_error(409, "CAPACITY_BELOW_ALLOTTED");
    assert!(feed.since(&a).await.is_empty(), "nothing refused is told");
}

#[tokio::test]
async fn the_cutoff_releases_at_the_moment_not_at_the_run() {
    let a = kit::acme().await;
    let id = a.allotment(json!({"releaseDays": null})).await;
    let mut feed = Reader { after: None };
    feed.since(&a).await;
    // The scheduled run comes two days after the cutoff (1 Aug, 00:00 in Paris).
    let run = "2026-08-03T09:30:00Z";
    let event = json!({"time": run, "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    cutoff_release::handle_event(&a.ctx.store, &event, None)
        .await
        .unwrap();
    let data = feed.expect(&a, &[("allotment.released", &id, 2)]).await;
    let runs = data[0]["nights"].as_array().unwrap().clone();
    let (_, grid) = a
        .ctx
        .store
        .require_allotment(&tenant("acme"), id.parse().unwrap())
        .await
        .unwrap();
    let mut released_nights = 0;
    for n in &runs {
        let (from, to) = (
            kit::date(n["from"].as_str().unwrap()),
            kit::date(n["to"].as_str().unwrap()),
        );
        for date in from.iter_days().take_while(|d| *d <= to) {
            let stored = &grid[&(shared::domain::ids::UnitTypeId::parse("dbl").unwrap(), date)];
            assert_eq!(
                n["releasedAt"],
                kit::json(stored.released_at),
                "its own moment"
            );
            released_nights += 1;
        }
        assert_eq!(n["quantity"], 10);
    }
    assert_eq!(released_nights, 7, "released whole at its cutoff");
    // occurredAt is the release moment (the events' own field, through the store).
    let served = kit::feed(&a.ctx.store, &tenant("acme"), a.est, 100).await;
    let released = served.last().unwrap();
    let moment = grid.values().filter_map(|n| n.released_at).max().unwrap();
    assert_eq!(released.occurred_at, moment);
    assert!(
        kit::json(released.occurred_at) != json!(run)
            && moment
                < kit::date("2026-08-03")
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc()
    );
    // A second run finds nothing due and tells nothing.
    cutoff_release::handle_event(&a.ctx.store, &event, None)
        .await
        .unwrap();
    assert!(feed.since(&a).await.is_empty());
}
