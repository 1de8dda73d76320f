use kit::NightHold;
use kit::{ctx, date, key, tenant, TestRequest};
use serde_json::json;
use shared::domain::dates::NightRange;
use shared::domain::ids::UnitTypeId;
use shared::domain::inventory::InventoryChange;
use uuid::Uuid;

use super::FUNCTION;

fn get(id: Uuid, query: &[(&str, &str)]) -> TestRequest {
    TestRequest::event("get-availability")
        .establishment(id)
        .query(query)
}

async fn set(ctx: &shared::http::Ctx, est: Uuid, unit: &str, from: &str, to: &str, capacity: i64) {
    let change = InventoryChange {
        unit_type_id: UnitTypeId::parse(unit).unwrap(),
        range: NightRange::new(date(from), date(to), 731).unwrap(),
        capacity,
    };
    kit::set_capacity(&ctx.store, &tenant("acme"), est, &change)
        .await
        .unwrap();
}

#[tokio::test]
async fn rows_per_night_and_unit_type_ordered_by_unit_type_then_date() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    set(&ctx, est, "sgl", "2026-08-30", "2026-09-02", 5).await;
    set(&ctx, est, "dbl", "2026-08-31", "2026-09-01", 30).await;
    set(&ctx, est, "dbl-sea", "2026-09-01", "2026-09-01", 0).await;
    let hold = NightHold {
        unit_type_id: UnitTypeId::parse("dbl").unwrap(),
        date: date("2026-09-01"),
        quantity: 12,
    };
    kit::hold(&ctx.store, &tenant("acme"), est, &[hold])
        .await
        .unwrap();

    let resp = get(est, &[("from", "2026-08-31"), ("to", "2026-09-01")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(
        resp.body,
        json!({"data": [
            {"date": "2026-08-31", "unitTypeId": "dbl", "capacity": 30, "allotted": 0, "pickedUp": 0, "available": 30},
            {"date": "2026-09-01", "unitTypeId": "dbl", "capacity": 30, "allotted": 12, "pickedUp": 0, "available": 18},
            {"date": "2026-08-31", "unitTypeId": "sgl", "capacity": 5, "allotted": 0, "pickedUp": 0, "available": 5},
            {"date": "2026-09-01", "unitTypeId": "sgl", "capacity": 5, "allotted": 0, "pickedUp": 0, "available": 5},
        ]})
    );

    let only = get(
        est,
        &[
            ("from", "2026-08-01"),
            ("to", "2026-09-30"),
            ("unitTypeId", "sgl"),
        ],
    )
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    let dates: Vec<_> = only
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        dates,
        ["2026-08-30", "2026-08-31", "2026-09-01", "2026-09-02"]
    );
    assert!(only
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["unitTypeId"] == "sgl"));
}

#[tokio::test]
async fn an_establishment_with_no_inventory_has_no_rows() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let resp = get(est, &[("from", "2026-09-01"), ("to", "2026-09-30")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.body, json!({"data": []}));
}

#[tokio::test]
async fn query_rules() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
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
        let resp = get(est, query).key(&k).send(&FUNCTION, &ctx).await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.fields(), fields, "{query:?}");
    }
    let ok = get(est, &[("from", "2026-01-01"), ("to", "2027-01-01")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ok.status, 200, "366 nights is the limit");
}

#[tokio::test]
async fn other_tenants_establishments_are_not_found() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let theirs = kit::establishment(&ctx.store, "globex").await;
    let resp = get(theirs, &[("from", "2026-09-01"), ("to", "2026-09-02")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(404, "NOT_FOUND");
    get(theirs, &[("from", "2026-09-01"), ("to", "2026-09-02")])
        .without_header("x-api-key")
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(401, "UNAUTHENTICATED");
}
