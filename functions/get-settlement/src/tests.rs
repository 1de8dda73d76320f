use kit::{allotment_body, ctx, key, pickup_body, TestRequest};
use serde_json::json;

use super::FUNCTION;

async fn pickup(
    ctx: &shared::http::Ctx,
    k: &str,
    id: &str,
    arrival: &str,
    departure: &str,
    q: i64,
) {
    kit::pickup(ctx, k, id, pickup_body("dbl", arrival, departure, q)).await;
}

fn settlement(id: &str) -> TestRequest {
    TestRequest::event("get-settlement").path_param("allotmentId", id)
}

#[tokio::test]
async fn the_contract_example_then_final_after_release() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    pickup(&ctx, &k, &id, "2026-09-01", "2026-09-05", 10).await; // 40 room-nights
    let resp = settlement(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 200, "{}", resp.raw);
    assert_eq!(
        resp.body,
        json!({"data": {"allotmentId": id, "final": false, "currency": "EUR",
            "contractedRoomNights": 70, "pickedUpRoomNights": 40,
            "minimumPickupPercent": 70, "requiredRoomNights": 49,
            "shortfallRoomNights": 9, "penaltyPerRoomNightCents": "5000",
            "penaltyCents": "45000", "complimentaryRooms": 1}})
    );
    kit::release(&ctx, &k, &id, None).await;
    let after = settlement(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(after.data()["final"], true);
    assert_eq!(
        after.data()["contractedRoomNights"],
        70,
        "a release never lowers what was contracted"
    );
    assert_eq!(after.data()["penaltyCents"], "45000");
}

#[tokio::test]
async fn table_of_terms() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    kit::inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        100,
    )
    .await;
    // (percent, penalty, type, picked room-nights, required, shortfall, penalty cents)
    let cases = [
        (json!(0), "5000", "allotment", 0, 0, 0, "0"),
        (json!(100), "5000", "allotment", 4, 70, 66, "330000"),
        (json!(72.5), "100", "allotment", 0, 51, 51, "5100"), // 50.75 → 51
        (
            json!(72.5),
            "999999999999999999",
            "allotment",
            2,
            51,
            49,
            "48999999999999999951",
        ),
        (json!(70), "5000", "tentative", 0, 49, 49, "0"),
    ];
    for (pct, penalty, ty, picked, required, shortfall, cents) in cases {
        let mut b = allotment_body(est);
        b["minimumPickupPercent"] = pct.clone();
        b["penaltyPerRoomNightCents"] = json!(penalty);
        b["allotmentType"] = json!(ty);
        let id = kit::create_allotment(&ctx, &k, b).await["allotmentId"]
            .as_str()
            .unwrap()
            .to_string();
        if picked > 0 {
            pickup(
                &ctx,
                &k,
                &id,
                "2026-09-01",
                &format!("2026-09-{:02}", 1 + picked / 2),
                2,
            )
            .await;
        }
        let s = settlement(&id).key(&k).send(&FUNCTION, &ctx).await;
        let d = s.data();
        assert_eq!(d["pickedUpRoomNights"], picked, "{pct} {penalty} {ty}");
        assert_eq!(d["requiredRoomNights"], required, "{pct} {penalty} {ty}");
        assert_eq!(d["shortfallRoomNights"], shortfall, "{pct} {penalty} {ty}");
        assert_eq!(d["penaltyCents"], cents, "{pct} {penalty} {ty}");
        assert_eq!(d["minimumPickupPercent"], pct);
    }
}

#[tokio::test]
async fn a_cancelled_allotment_owes_nothing() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    let id = kit::create_allotment(&ctx, &k, allotment_body(est)).await["allotmentId"]
        .as_str()
        .unwrap()
        .to_string();
    kit::cancel(&ctx, &k, &id).await;
    let s = settlement(&id).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(s.data()["penaltyCents"], "0");
    assert_eq!(s.data()["final"], false);
    let other = key(&ctx.store, "globex").await;
    settlement(&id)
        .key(&other)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
}
