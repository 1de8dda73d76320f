use kit::NightHold;
use kit::{ctx, date, key, key_with, tenant, TestRequest};
use serde_json::json;
use shared::domain::auth::Scope;
use shared::domain::dates::NightRange;
use shared::domain::ids::UnitTypeId;
use uuid::Uuid;

use super::FUNCTION;

fn put(id: Uuid, body: serde_json::Value) -> TestRequest {
    TestRequest::event("put-inventory")
        .establishment(id)
        .json(body)
}

async fn capacities(ctx: &shared::http::Ctx, est: Uuid, from: &str, to: &str) -> Vec<i64> {
    let range = NightRange::new(date(from), date(to), 800).unwrap();
    ctx.store
        .read_pool(&tenant("acme"), est, None, &range)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, d, _)| range.contains(*d))
        .map(|(_, _, n)| n.capacity)
        .collect()
}

#[tokio::test]
async fn the_sample_event_sets_thirty_nights() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est: Uuid = "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0".parse().unwrap();
    kit::put_establishment(
        &ctx.store,
        &tenant("acme"),
        est,
        &shared::domain::establishment::EstablishmentInput {
            name: "H".into(),
            time_zone: chrono_tz::Europe::Paris,
        },
    )
    .await;
    let resp = TestRequest::event("put-inventory")
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(
        resp.body,
        json!({"data": {"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 30, "nights": 30}})
    );
    assert_eq!(
        capacities(&ctx, est, "2026-09-01", "2026-09-30").await,
        vec![30; 30]
    );
}

#[tokio::test]
async fn lowering_below_allotted_is_refused_with_every_night() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let body =
        json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 10});
    assert_eq!(
        put(est, body).key(&k).send(&FUNCTION, &ctx).await.status,
        200
    );
    let holds: Vec<NightHold> = ["2026-09-03", "2026-09-04"]
        .iter()
        .map(|d| NightHold {
            unit_type_id: UnitTypeId::parse("dbl").unwrap(),
            date: date(d),
            quantity: 8,
        })
        .collect();
    kit::hold(&ctx.store, &tenant("acme"), est, &holds)
        .await
        .unwrap();

    let resp = put(
        est,
        json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 5}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    resp.assert_error(409, "CAPACITY_BELOW_ALLOTTED");
    assert_eq!(
        resp.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 5, "allotted": 8},
            {"unitTypeId": "dbl", "date": "2026-09-04", "requested": 5, "allotted": 8},
        ])
    );
    assert_eq!(
        capacities(&ctx, est, "2026-09-01", "2026-09-30").await,
        vec![10; 30],
        "nothing changed"
    );
}

#[tokio::test]
async fn validation_errors_list_every_field() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let resp = put(est, json!({"unitTypeId": "dbl room", "from": "2026-09-02", "to": "2026-09-01", "capacity": 2.5, "allotted": 1}))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(resp.fields(), ["unitTypeId", "capacity", "to", "allotted"]);
    let long = put(
        est,
        json!({"unitTypeId": "dbl", "from": "2026-01-01", "to": "2028-01-02", "capacity": 1}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    long.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(long.fields(), ["to"]);
    let huge = put(
        est,
        json!({"unitTypeId": "dbl", "from": "2026-01-01", "to": "2026-01-01", "capacity": 100_001}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(huge.fields(), ["capacity"]);
    assert!(capacities(&ctx, est, "2026-01-01", "2026-12-31")
        .await
        .iter()
        .all(|c| *c == 0));
}

#[tokio::test]
async fn the_longest_range_and_zero_capacity_work() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let resp = put(
        est,
        json!({"unitTypeId": "dbl", "from": "2026-01-01", "to": "2028-01-01", "capacity": 4}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(resp.data()["nights"], 731);
    let zero = put(
        est,
        json!({"unitTypeId": "dbl", "from": "2026-06-01", "to": "2026-06-30", "capacity": 0}),
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(zero.status, 200);
    let june = capacities(&ctx, est, "2026-05-31", "2026-07-01").await;
    assert_eq!(june.first(), Some(&4));
    assert_eq!(june.last(), Some(&4));
    assert_eq!(june.iter().filter(|c| **c == 0).count(), 30);
}

#[tokio::test]
async fn unknown_or_foreign_establishments_and_scopes() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let body =
        json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-01", "capacity": 1});
    put(Uuid::new_v4(), body.clone())
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let theirs = kit::establishment(&ctx.store, "globex").await;
    put(theirs, body.clone())
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let range = NightRange::new(date("2026-09-01"), date("2026-09-01"), 1).unwrap();
    assert!(ctx
        .store
        .read_pool(&tenant("globex"), theirs, None, &range)
        .await
        .unwrap()
        .is_empty());

    let mine = kit::establishment(&ctx.store, "acme").await;
    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    put(mine, body.clone())
        .key(&read_only)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
    let elsewhere = key_with(
        &ctx.store,
        "acme",
        Some(&[theirs]),
        &[Scope::Read, Scope::Write],
    )
    .await;
    put(mine, body)
        .key(&elsewhere)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
}
