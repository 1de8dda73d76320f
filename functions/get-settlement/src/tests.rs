use kit::{pickup_body, Acme, TestRequest};
use serde_json::{json, Value};

use super::FUNCTION;

/// A pickup of `q` `dbl` rooms from `arrival` to `departure`.
async fn pickup(a: &Acme, id: &str, arrival: &str, departure: &str, q: i64) {
    kit::pickup(
        &a.ctx,
        &a.key,
        id,
        pickup_body("dbl", arrival, departure, q),
    )
    .await;
}

fn settlement(id: &str) -> TestRequest {
    TestRequest::on_allotment("get-settlement", id)
}

async fn settle(a: &Acme, id: &str) -> Value {
    a.call(settlement(id), &FUNCTION).await.expect(200).clone()
}

#[tokio::test]
async fn the_contract_example_then_final_after_release() {
    let (a, id) = kit::acme_allotment().await;
    pickup(&a, &id, "2026-09-01", "2026-09-05", 10).await; // 40 room-nights
    let resp = a.call(settlement(&id), &FUNCTION).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!({"data": {"allotmentId": id, "final": false, "currency": "EUR",
            "contractedRoomNights": 70, "pickedUpRoomNights": 40,
            "minimumPickupPercent": 70, "requiredRoomNights": 49,
            "shortfallRoomNights": 9, "penaltyPerRoomNightCents": "5000",
            "penaltyCents": "45000", "complimentaryRooms": 1}})
    );
    kit::release(&a.ctx, &a.key, &id, None).await;
    let after = settle(&a, &id).await;
    assert_eq!(after["final"], true);
    assert_eq!(
        after["contractedRoomNights"], 70,
        "a release never lowers what was contracted"
    );
    assert_eq!(after["penaltyCents"], "45000");
}

#[tokio::test]
async fn table_of_terms() {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", 100).await;
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
        let terms = json!({"minimumPickupPercent": pct, "penaltyPerRoomNightCents": penalty,
                           "allotmentType": ty});
        let id = a.allotment(terms).await;
        if picked > 0 {
            let departure = format!("2026-09-{:02}", 1 + picked / 2);
            pickup(&a, &id, "2026-09-01", &departure, 2).await;
        }
        let d = settle(&a, &id).await;
        assert_eq!(d["pickedUpRoomNights"], picked, "{pct} {penalty} {ty}");
        assert_eq!(d["requiredRoomNights"], required, "{pct} {penalty} {ty}");
        assert_eq!(d["shortfallRoomNights"], shortfall, "{pct} {penalty} {ty}");
        assert_eq!(d["penaltyCents"], cents, "{pct} {penalty} {ty}");
        assert_eq!(d["minimumPickupPercent"], pct);
    }
}

#[tokio::test]
async fn a_cancelled_allotment_owes_nothing() {
    let (a, id) = kit::acme_allotment().await;
    kit::cancel(&a.ctx, &a.key, &id).await;
    let s = settle(&a, &id).await;
    assert_eq!(s["penaltyCents"], "0");
    assert_eq!(s["final"], false);
    a.assert_hidden(settlement(&id), &FUNCTION).await;
}
