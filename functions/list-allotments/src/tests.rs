use kit::{allotment_body, ctx, key, TestRequest};
use serde_json::json;
use uuid::Uuid;

use super::FUNCTION;

async fn create(ctx: &shared::http::Ctx, k: &str, body: serde_json::Value) -> String {
    let created = kit::create_allotment(ctx, k, body).await;
    created["allotmentId"].as_str().unwrap().to_string()
}

fn list(query: &[(&str, &str)]) -> TestRequest {
    TestRequest::event("list-allotments").query(query)
}

fn ids(resp: &kit::TestResponse) -> Vec<String> {
    resp.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["allotmentId"].as_str().unwrap().to_string())
        .collect()
}

/// Allotments starting 1, 3, 5 and 3 Sep (two share a start: ordered by id).
async fn four(ctx: &shared::http::Ctx, k: &str, est: Uuid) -> Vec<String> {
    let mut made = Vec::new();
    for (from, to, ty, ch) in [
        ("2026-09-05", "2026-09-06", "allotment", "to"),
        ("2026-09-01", "2026-09-02", "tentative", "agency"),
        ("2026-09-03", "2026-09-04", "allotment", "group"),
        ("2026-09-03", "2026-09-09", "allotment", "to"),
    ] {
        let mut b = allotment_body(est);
        b["periodFrom"] = json!(from);
        b["periodTo"] = json!(to);
        b["cutoffDate"] = json!("2026-08-01");
        b["allotmentType"] = json!(ty);
        b["channelType"] = json!(ch);
        b["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
        made.push((from.to_string(), create(ctx, k, b).await));
    }
    made.sort();
    made.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn pages_follow_period_then_id_and_filters_apply() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let expected = four(&ctx, &k, est).await;
    let e = est.to_string();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut q = vec![("establishmentId", e.as_str()), ("limit", "2")];
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let page = list(&q).key(&k).send(&FUNCTION, &ctx).await;
        assert_eq!(page.status, 200, "{}", page.raw);
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    let tentative = list(&[("establishmentId", &e), ("allotmentType", "tentative")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ids(&tentative), [expected[0].clone()]);
    assert_eq!(tentative.body["nextCursor"], json!(null));
    let to = list(&[("establishmentId", &e), ("channelType", "to")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ids(&to).len(), 2);
    // Overlap of 4..5 Sep: the ones from 3..4, 3..9 and 5..6.
    let overlap = list(&[
        ("establishmentId", &e),
        ("from", "2026-09-04"),
        ("to", "2026-09-05"),
    ])
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    assert_eq!(ids(&overlap).len(), 3);
    assert!(!ids(&overlap).contains(&expected[0]));
    let active = list(&[("establishmentId", &e), ("status", "cancelled")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert!(ids(&active).is_empty());
    assert!(tentative.data()[0].get("totals").is_none());
    assert_eq!(tentative.data()[0]["status"], "active");
}

#[tokio::test]
async fn cursors_only_work_for_their_own_query_and_tenant() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    four(&ctx, &k, est).await;
    let e = est.to_string();
    let first = list(&[("establishmentId", &e), ("limit", "1")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    let c = first.body["nextCursor"].as_str().unwrap().to_string();

    let other_filter = list(&[
        ("establishmentId", &e),
        ("limit", "1"),
        ("status", "active"),
        ("cursor", &c),
    ])
    .key(&k)
    .send(&FUNCTION, &ctx)
    .await;
    other_filter.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(other_filter.fields(), ["cursor"]);
    let mut altered = c.clone();
    altered.insert(3, 'x');
    list(&[("establishmentId", &e), ("cursor", &altered)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    list(&[("establishmentId", &e), ("cursor", "abc")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");

    // Another tenant with the same establishment id: the cursor is not theirs.
    let other = key(&ctx.store, "globex").await;
    let (t2, input) = (
        kit::tenant("globex"),
        shared::domain::establishment::EstablishmentInput {
            name: "G".into(),
            time_zone: chrono_tz::UTC,
        },
    );
    kit::put_establishment(&ctx.store, &t2, est, &input).await;
    list(&[("establishmentId", &e), ("limit", "1"), ("cursor", &c)])
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let theirs = list(&[("establishmentId", &e)])
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(
        theirs.body,
        json!({"data": [], "nextCursor": null}),
        "another tenant sees none of them"
    );
    let ok = list(&[("establishmentId", &e), ("limit", "1"), ("cursor", &c)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn query_rules_and_unknown_establishments() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let e = est.to_string();
    for (q, fields) in [
        (vec![], vec!["establishmentId"]),
        (
            vec![("establishmentId", e.as_str()), ("limit", "0")],
            vec!["limit"],
        ),
        (
            vec![("establishmentId", e.as_str()), ("limit", "101")],
            vec!["limit"],
        ),
        (
            vec![
                ("establishmentId", e.as_str()),
                ("status", "open"),
                ("from", "2026-09-09"),
                ("to", "2026-09-01"),
            ],
            vec!["status", "to"],
        ),
        (
            vec![("establishmentId", e.as_str()), ("sort", "desc")],
            vec!["sort"],
        ),
    ] {
        let resp = list(&q).key(&k).send(&FUNCTION, &ctx).await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.fields(), fields, "{q:?}");
    }
    let unknown = Uuid::new_v4().to_string();
    list(&[("establishmentId", &unknown)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    let theirs = kit::establishment(&ctx.store, "globex").await.to_string();
    list(&[("establishmentId", &theirs)])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
