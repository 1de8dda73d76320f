use kit::{date, key_with, Acme, NightHold, TestRequest, TestResponse};
use serde_json::{json, Value};
use shared::domain::auth::Scope;
use shared::domain::dates::NightRange;
use shared::domain::ids::UnitTypeId;
use uuid::Uuid;

use super::FUNCTION;

fn put(id: Uuid, body: Value) -> TestRequest {
    TestRequest::event("put-inventory")
        .establishment(id)
        .json(body)
}

/// `PUT .../inventory` of `acme`'s establishment: `capacity` `unit` rooms from `from`
/// to `to`.
async fn set(a: &Acme, unit: &str, from: &str, to: &str, capacity: Value) -> TestResponse {
    let body = json!({"unitTypeId": unit, "from": from, "to": to, "capacity": capacity});
    a.call(put(a.est, body), &FUNCTION).await
}

async fn capacities(a: &Acme, from: &str, to: &str) -> Vec<i64> {
    let range = NightRange::new(date(from), date(to), 800).unwrap();
    a.pool(from, to)
        .await
        .into_iter()
        .filter(|(_, d, _)| range.contains(*d))
        .map(|(_, _, n)| n.capacity)
        .collect()
}

#[tokio::test]
async fn the_sample_event_sets_thirty_nights() {
    let ctx = kit::ctx().await;
    let key = kit::key(&ctx.store, "acme").await;
    let est: Uuid = "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0".parse().unwrap();
    let input = shared::domain::establishment::EstablishmentInput {
        name: "H".into(),
        time_zone: chrono_tz::Europe::Paris,
    };
    kit::put_establishment(&ctx.store, &kit::tenant("acme"), est, &input).await;
    let a = Acme { ctx, key, est };
    let resp = a.call(TestRequest::event("put-inventory"), &FUNCTION).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!({"data": {"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-30", "capacity": 30, "nights": 30}})
    );
    assert_eq!(
        capacities(&a, "2026-09-01", "2026-09-30").await,
        vec![30; 30]
    );
}

#[tokio::test]
async fn lowering_below_allotted_is_refused_with_every_night() {
    let a = kit::bare_acme().await;
    let ten = set(&a, "dbl", "2026-09-01", "2026-09-30", json!(10)).await;
    assert_eq!(ten.status, 200);
    let holds: Vec<NightHold> = ["2026-09-03", "2026-09-04"]
        .iter()
        .map(|d| NightHold {
            unit_type_id: UnitTypeId::parse("dbl").unwrap(),
            date: date(d),
            quantity: 8,
        })
        .collect();
    kit::hold(&a.ctx.store, &kit::tenant("acme"), a.est, &holds)
        .await
        .unwrap();

    let resp = set(&a, "dbl", "2026-09-01", "2026-09-30", json!(5)).await;
    resp.assert_conflict(
        "CAPACITY_BELOW_ALLOTTED",
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 5, "allotted": 8},
            {"unitTypeId": "dbl", "date": "2026-09-04", "requested": 5, "allotted": 8},
        ]),
    );
    assert_eq!(
        capacities(&a, "2026-09-01", "2026-09-30").await,
        vec![10; 30],
        "nothing changed"
    );
}

#[tokio::test]
async fn validation_errors_list_every_field() {
    let a = kit::bare_acme().await;
    let body = json!({"unitTypeId": "dbl room", "from": "2026-09-02", "to": "2026-09-01", "capacity": 2.5,
                      "allotted": 1});
    a.call(put(a.est, body), &FUNCTION).await.assert_invalid(&[
        "unitTypeId",
        "capacity",
        "to",
        "allotted",
    ]);
    let long = set(&a, "dbl", "2026-01-01", "2028-01-02", json!(1)).await;
    long.assert_invalid(&["to"]);
    let huge = set(&a, "dbl", "2026-01-01", "2026-01-01", json!(100_001)).await;
    assert_eq!(huge.fields(), ["capacity"]);
    assert!(capacities(&a, "2026-01-01", "2026-12-31")
        .await
        .iter()
        .all(|c| *c == 0));
}

#[tokio::test]
async fn the_longest_range_and_zero_capacity_work() {
    let a = kit::bare_acme().await;
    let resp = set(&a, "dbl", "2026-01-01", "2028-01-01", json!(4)).await;
    assert_eq!(resp.expect(200)["nights"], 731);
    let zero = set(&a, "dbl", "2026-06-01", "2026-06-30", json!(0)).await;
    assert_eq!(zero.status, 200);
    let june = capacities(&a, "2026-05-31", "2026-07-01").await;
    assert_eq!(june.first(), Some(&4));
    assert_eq!(june.last(), Some(&4));
    assert_eq!(june.iter().filter(|c| **c == 0).count(), 30);
}

#[tokio::test]
async fn unknown_or_foreign_establishments_and_scopes() {
    let a = kit::bare_acme().await;
    let (ctx, mine) = (&a.ctx, a.est);
    let body =
        json!({"unitTypeId": "dbl", "from": "2026-09-01", "to": "2026-09-01", "capacity": 1});
    let unknown = a.call(put(Uuid::new_v4(), body.clone()), &FUNCTION).await;
    unknown.assert_error(404, "NOT_FOUND");
    let theirs = kit::establishment(&ctx.store, "globex").await;
    let foreign = a.call(put(theirs, body.clone()), &FUNCTION).await;
    foreign.assert_error(404, "NOT_FOUND");
    let range = NightRange::new(date("2026-09-01"), date("2026-09-01"), 1).unwrap();
    assert!(ctx
        .store
        .read_pool(&kit::tenant("globex"), theirs, None, &range)
        .await
        .unwrap()
        .is_empty());

    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    let both = [Scope::Read, Scope::Write];
    let elsewhere = key_with(&ctx.store, "acme", Some(&[theirs]), &both).await;
    for key in [read_only, elsewhere] {
        put(mine, body.clone())
            .key(&key)
            .send(&FUNCTION, ctx)
            .await
            .assert_error(403, "FORBIDDEN");
    }
}
