use kit::{allotment_body, ctx, key, TestRequest};
use serde_json::json;

use super::FUNCTION;

#[tokio::test]
async fn history_newest_first_with_creation_changes_and_release_paginated() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "sgl",
        "2026-09-01",
        "2026-09-30",
        5,
    )
    .await;
    let mut body = allotment_body(est);
    body["unitAllocations"] =
        json!([{"unitTypeId": "dbl", "quantity": 10}, {"unitTypeId": "sgl", "quantity": 2}]);
    let id = kit::create_allotment(&ctx, &k, body).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let sample = TestRequest::event("create-allocation").body_json();
    kit::allocation(&ctx, &k, &id, sample).await;
    kit::release(&ctx, &k, &id, Some("Group size confirmed early")).await;
    let mut memos = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", "2")];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let page = TestRequest::event("list-allocations")
            .path_param("allotmentId", &id)
            .query(&q)
            .key(&k)
            .send(&FUNCTION, &ctx)
            .await;
        assert_eq!(page.status, 200, "{}", page.raw);
        pages += 1;
        for e in page.data().as_array().unwrap() {
            memos.push(format!(
                "{} {}",
                e["unitTypeId"].as_str().unwrap(),
                e["memo"].as_str().unwrap()
            ));
        }
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        memos,
        [
            "dbl released manually: Group size confirmed early",
            "sgl released manually: Group size confirmed early",
            "dbl Client asked for 2 more rooms midweek",
            "dbl initial allocation",
            "sgl initial allocation",
        ]
    );
    let all = TestRequest::event("list-allocations")
        .path_param("allotmentId", &id)
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    let first = &all.data()[0];
    assert_eq!(first["quantity"], 0);
    assert_eq!(
        first["previousQuantity"],
        json!(null),
        "12 midweek, 10 on the other nights"
    );
    assert_eq!(
        (first["from"].clone(), first["to"].clone()),
        (json!("2026-09-01"), json!("2026-09-07"))
    );
    assert_eq!(all.body["nextCursor"], json!(null));

    let forged = TestRequest::event("list-allocations")
        .path_param("allotmentId", &id)
        .query(&[("cursor", "SCMwMDAwMDAwMDAwMDJ8MA.AAAA")])
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    forged.assert_error(400, "VALIDATION_ERROR");
    let other = key(&ctx.store, "globex").await;
    TestRequest::event("list-allocations")
        .path_param("allotmentId", &id)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
