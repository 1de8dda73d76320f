use kit::{Acme, TestRequest, TestResponse};
use serde_json::json;
use uuid::Uuid;

use super::FUNCTION;

/// `GET /v1/allotments` with `query`, by `acme`.
async fn list(a: &Acme, query: &[(&str, &str)]) -> TestResponse {
    a.call(
        TestRequest::event("list-allotments").query(query),
        &FUNCTION,
    )
    .await
}

fn ids(resp: &TestResponse) -> Vec<String> {
    resp.list("allotmentId")
}

/// Allotments starting 1, 3, 5 and 3 Sep (two share a start: ordered by id).
async fn four(a: &Acme) -> Vec<String> {
    let mut made = Vec::new();
    for (from, to, ty, ch) in [
        ("2026-09-05", "2026-09-06", "allotment", "to"),
        ("2026-09-01", "2026-09-02", "tentative", "agency"),
        ("2026-09-03", "2026-09-04", "allotment", "group"),
        ("2026-09-03", "2026-09-09", "allotment", "to"),
    ] {
        let changes = json!({"periodFrom": from, "periodTo": to, "cutoffDate": "2026-08-01",
                             "allotmentType": ty, "channelType": ch,
                             "unitAllocations": [{"unitTypeId": "dbl", "quantity": 1}]});
        made.push((from.to_string(), a.allotment(changes).await));
    }
    made.sort();
    made.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn pages_follow_period_then_id_and_filters_apply() {
    let a = kit::acme().await;
    let expected = four(&a).await;
    let e = a.est.to_string();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut q = vec![("establishmentId", e.as_str()), ("limit", "2")];
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let page = list(&a, &q).await;
        assert_eq!(page.status, 200, "{}", page.raw);
        assert!(ids(&page).len() <= 2);
        seen.extend(ids(&page));
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    let tentative = list(
        &a,
        &[("establishmentId", &e), ("allotmentType", "tentative")],
    )
    .await;
    assert_eq!(ids(&tentative), [expected[0].clone()]);
    assert_eq!(tentative.body["nextCursor"], json!(null));
    let to = list(&a, &[("establishmentId", &e), ("channelType", "to")]).await;
    assert_eq!(ids(&to).len(), 2);
    // Overlap of 4..5 Sep: the ones from 3..4, 3..9 and 5..6.
    let overlap = list(
        &a,
        &[
            ("establishmentId", &e),
            ("from", "2026-09-04"),
            ("to", "2026-09-05"),
        ],
    )
    .await;
    assert_eq!(ids(&overlap).len(), 3);
    assert!(!ids(&overlap).contains(&expected[0]));
    let active = list(&a, &[("establishmentId", &e), ("status", "cancelled")]).await;
    assert!(ids(&active).is_empty());
    assert!(tentative.data()[0].get("totals").is_none());
    assert_eq!(tentative.data()[0]["status"], "active");
}

#[tokio::test]
async fn cursors_only_work_for_their_own_query_and_tenant() {
    let a = kit::acme().await;
    four(&a).await;
    let (ctx, e) = (&a.ctx, a.est.to_string());
    let first = list(&a, &[("establishmentId", &e), ("limit", "1")]).await;
    let c = first.body["nextCursor"].as_str().unwrap().to_string();

    let other_filter = list(
        &a,
        &[
            ("establishmentId", &e),
            ("limit", "1"),
            ("status", "active"),
            ("cursor", &c),
        ],
    )
    .await;
    other_filter.assert_invalid(&["cursor"]);
    let mut altered = c.clone();
    altered.insert(3, 'x');
    list(&a, &[("establishmentId", &e), ("cursor", &altered)])
        .await
        .assert_error(400, "VALIDATION_ERROR");
    list(&a, &[("establishmentId", &e), ("cursor", "abc")])
        .await
        .assert_error(400, "VALIDATION_ERROR");

    // Another tenant with the same establishment id: the cursor is not theirs.
    let other = kit::key(&ctx.store, "globex").await;
    let input = shared::domain::establishment::EstablishmentInput {
        name: "G".into(),
        time_zone: chrono_tz::UTC,
    };
    kit::put_establishment(&ctx.store, &kit::tenant("globex"), a.est, &input).await;
    let as_other = |q: &[(&str, &str)]| {
        let req = TestRequest::event("list-allotments").query(q).key(&other);
        req.send(&FUNCTION, ctx)
    };
    as_other(&[("establishmentId", &e), ("limit", "1"), ("cursor", &c)])
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let theirs = as_other(&[("establishmentId", &e)]).await;
    assert_eq!(
        theirs.body,
        json!({"data": [], "nextCursor": null}),
        "another tenant sees none of them"
    );
    let ok = list(
        &a,
        &[("establishmentId", &e), ("limit", "1"), ("cursor", &c)],
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn query_rules_and_unknown_establishments() {
    let a = kit::acme().await;
    let e = a.est.to_string();
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
        list(&a, &q).await.assert_invalid(&fields);
    }
    let unknown = Uuid::new_v4().to_string();
    list(&a, &[("establishmentId", &unknown)])
        .await
        .assert_error(404, "NOT_FOUND");
    let theirs = kit::establishment(&a.ctx.store, "globex").await;
    let theirs = theirs.to_string();
    list(&a, &[("establishmentId", &theirs)])
        .await
        .assert_error(404, "NOT_FOUND");
}
