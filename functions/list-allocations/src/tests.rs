use kit::TestRequest;
use serde_json::json;

use super::FUNCTION;

fn list(id: &str) -> TestRequest {
    TestRequest::on_allotment("list-allocations", id)
}

#[tokio::test]
async fn history_newest_first_with_creation_changes_and_release_paginated() {
    let a = kit::acme().await;
    a.inventory("sgl", "2026-09-01", "2026-09-30", 5).await;
    let units =
        json!([{"unitTypeId": "dbl", "quantity": 10}, {"unitTypeId": "sgl", "quantity": 2}]);
    let id = a.allotment(json!({"unitAllocations": units})).await;
    let sample = TestRequest::event("create-allocation").body_json();
    kit::allocation(&a.ctx, &a.key, &id, sample).await;
    kit::release(&a.ctx, &a.key, &id, Some("Group size confirmed early")).await;

    let mut memos = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", "2")];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let page = a.call(list(&id).query(&q), &FUNCTION).await;
        pages += 1;
        for e in page.expect(200).as_array().unwrap() {
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
    let all = a.call(list(&id), &FUNCTION).await;
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

    let forged = list(&id).query(&[("cursor", "SCMwMDAwMDAwMDAwMDJ8MA.AAAA")]);
    let forged = a.call(forged, &FUNCTION).await;
    forged.assert_error(400, "VALIDATION_ERROR");
    a.assert_hidden(list(&id), &FUNCTION).await;
}
