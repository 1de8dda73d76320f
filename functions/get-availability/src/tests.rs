use kit::{date, Acme, NightHold, TestRequest, TestResponse};
use serde_json::json;
use shared::domain::ids::UnitTypeId;
use uuid::Uuid;

use super::FUNCTION;

fn get(id: Uuid, query: &[(&str, &str)]) -> TestRequest {
    TestRequest::event("get-availability")
        .establishment(id)
        .query(query)
}

async fn availability(a: &Acme, query: &[(&str, &str)]) -> TestResponse {
    a.call(get(a.est, query), &FUNCTION).await
}

#[tokio::test]
async fn rows_per_night_and_unit_type_ordered_by_unit_type_then_date() {
    let a = kit::bare_acme().await;
    a.inventory("sgl", "2026-08-30", "2026-09-02", 5).await;
    a.inventory("dbl", "2026-08-31", "2026-09-01", 30).await;
    a.inventory("dbl-sea", "2026-09-01", "2026-09-01", 0).await;
    let hold = NightHold {
        unit_type_id: UnitTypeId::parse("dbl").unwrap(),
        date: date("2026-09-01"),
        quantity: 12,
    };
    kit::hold(&a.ctx.store, &kit::tenant("acme"), a.est, &[hold])
        .await
        .unwrap();

    let resp = availability(&a, &[("from", "2026-08-31"), ("to", "2026-09-01")]).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!({"data": [
            {"date": "2026-08-31", "unitTypeId": "dbl", "capacity": 30, "allotted": 0, "pickedUp": 0, "available": 30},
            {"date": "2026-09-01", "unitTypeId": "dbl", "capacity": 30, "allotted": 12, "pickedUp": 0, "available": 18},
            {"date": "2026-08-31", "unitTypeId": "sgl", "capacity": 5, "allotted": 0, "pickedUp": 0, "available": 5},
            {"date": "2026-09-01", "unitTypeId": "sgl", "capacity": 5, "allotted": 0, "pickedUp": 0, "available": 5},
        ]})
    );

    let sgl = [
        ("from", "2026-08-01"),
        ("to", "2026-09-30"),
        ("unitTypeId", "sgl"),
    ];
    let only = availability(&a, &sgl).await;
    let rows = only.data().as_array().unwrap();
    let dates: Vec<_> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        ["2026-08-30", "2026-08-31", "2026-09-01", "2026-09-02"]
    );
    assert!(rows.iter().all(|r| r["unitTypeId"] == "sgl"));
}

#[tokio::test]
async fn an_establishment_with_no_inventory_has_no_rows() {
    let a = kit::bare_acme().await;
    let resp = availability(&a, &[("from", "2026-09-01"), ("to", "2026-09-30")]).await;
    assert_eq!(resp.body, json!({"data": []}));
}

#[tokio::test]
async fn query_rules() {
    let a = kit::bare_acme().await;
    type Query<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Query, &[&str]); 5] = [
        (&[("from", "2026-01-01"), ("to", "2027-01-02")], &["to"]),
        (&[("to", "2026-01-02")], &["from"]),
        (
            &[
                ("from", "2026-1-1"),
                ("to", "2026-01-02"),
                ("unitTypeId", "a b"),
            ],
            &["from", "unitTypeId"],
        ),
        (
            &[("from", "2026-01-01"), ("to", "2026-01-02"), ("limit", "5")],
            &["limit"],
        ),
        (&[("from", "2026-01-05"), ("to", "2026-01-02")], &["to"]),
    ];
    for (query, fields) in cases {
        availability(&a, query).await.assert_invalid(fields);
    }
    let ok = availability(&a, &[("from", "2026-01-01"), ("to", "2027-01-01")]).await;
    assert_eq!(ok.status, 200, "366 nights is the limit");
}

#[tokio::test]
async fn other_tenants_establishments_are_not_found() {
    let ctx = kit::ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let theirs = kit::establishment(&ctx.store, "globex").await;
    let sept = [("from", "2026-09-01"), ("to", "2026-09-02")];
    let resp = get(theirs, &sept).key(&k).send(&FUNCTION, &ctx).await;
    resp.assert_error(404, "NOT_FOUND");
    get(theirs, &sept)
        .without_header("x-api-key")
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");
}
