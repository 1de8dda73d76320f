use std::collections::BTreeMap;

use kit::{allotment_body, date, key_with, Acme, TestRequest, TestResponse};
use serde_json::json;
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn create(body: serde_json::Value) -> TestRequest {
    TestRequest::event("create-allotment").json(body)
}

/// Creates `body` with the key of `acme`, under `idempotency_key` if any.
async fn post(a: &Acme, body: serde_json::Value, idempotency_key: Option<&str>) -> TestResponse {
    let req = create(body).header_opt("idempotency-key", idempotency_key);
    a.call(req, &FUNCTION).await
}

/// The rooms allotted in the pool on 1 Sep.
async fn held_on_the_first(a: &Acme) -> i64 {
    a.pool("2026-09-01", "2026-09-01").await[0].2.allotted
}

#[tokio::test]
async fn creates_holds_the_rooms_and_arms_the_cutoff() {
    let a = kit::acme().await;
    let resp = post(&a, allotment_body(a.est), None).await;
    let d = resp.expect(201);
    let id = d["allotmentId"].as_str().unwrap();
    assert_eq!(
        resp.headers["location"],
        format!("/v1/allotments/{id}").as_str()
    );
    assert_eq!(resp.headers["etag"], "\"1\"");
    assert_eq!(d["status"], "active");
    assert_eq!(d["version"], 1);
    assert_eq!(d["establishmentId"], a.est.to_string());
    assert_eq!(d["penaltyPerRoomNightCents"], "5000");
    assert_eq!(d["minimumPickupPercent"], 70);
    assert_eq!(d["releaseDays"], 7);
    assert_eq!(d["billingFolioId"], json!(null));
    assert_eq!(d["confirmedAt"], json!(null));
    assert_eq!(d["createdAt"], "2026-06-01T10:00:00Z");
    // Paris in summer: 00:00 local on 2 Aug is 22:00Z on 1 Aug; rolling release of
    // 1 Sep - 7 days = 25 Aug is later, so every night goes at the fixed cutoff.
    assert_eq!(
        d["cutoff"],
        json!({"cutoffDate": "2026-08-01", "releaseDays": 7,
               "nextReleaseAt": "2026-08-01T22:00:00Z", "finalReleaseAt": "2026-08-01T22:00:00Z"})
    );
    assert_eq!(
        d["totals"],
        json!([{"unitTypeId": "dbl", "contractedRoomNights": 70, "allocatedRoomNights": 70,
                "pickedUpRoomNights": 0, "pickedUpFromGroupRoomNights": 0, "releasedRoomNights": 0}])
    );
    for internal in [
        "timeZone",
        "releasedThrough",
        "activePickups",
        "manuallyReleasedAt",
    ] {
        assert!(d.get(internal).is_none(), "{internal} leaked");
    }

    for (_, night, n) in a.pool("2026-08-31", "2026-09-08").await {
        let held = if (date("2026-09-01")..=date("2026-09-07")).contains(&night) {
            10
        } else {
            0
        };
        assert_eq!((n.allotted, n.available), (held, 30 - held), "{night}");
    }
}

#[tokio::test]
async fn rolling_release_moments_are_computed_per_night() {
    let a = kit::acme().await;
    let body = kit::with(
        allotment_body(a.est),
        json!({"cutoffDate": "2026-09-05", "releaseDays": 3}),
    );
    let resp = post(&a, body, None).await;
    // Night 1 Sep releases at 00:00 local 29 Aug; the last (7 Sep) at 00:00 local 4 Sep.
    let cutoff = &resp.expect(201)["cutoff"];
    assert_eq!(cutoff["nextReleaseAt"], "2026-08-28T22:00:00Z");
    assert_eq!(cutoff["finalReleaseAt"], "2026-09-03T22:00:00Z");
}

/// A 365-night allotment of 4 unit types is one transaction: with only its very
/// last night short, nothing at all is held.
#[tokio::test]
async fn a_year_of_four_unit_types_is_all_or_nothing() {
    let a = kit::bare_acme().await;
    let units = ["dbl", "sgl", "ste", "twn"];
    for u in units {
        a.inventory(u, "2026-09-15", "2027-09-14", 5).await;
    }
    a.inventory("twn", "2027-09-14", "2027-09-14", 1).await;
    let allocations: Vec<_> = units
        .iter()
        .map(|u| json!({"unitTypeId": u, "quantity": 2}))
        .collect();
    let body = kit::with(
        allotment_body(a.est),
        json!({"periodFrom": "2026-09-15", "periodTo": "2027-09-14", "cutoffDate": "2026-09-01",
               "unitAllocations": allocations}),
    );

    let refused = post(&a, body.clone(), None).await;
    refused.assert_conflict(
        "INSUFFICIENT_CAPACITY",
        json!([{"unitTypeId": "twn", "date": "2027-09-14", "requested": 2, "available": 1}]),
    );
    let pool = a.pool("2026-09-15", "2027-09-14").await;
    assert_eq!(pool.len(), 4 * 365);
    assert!(
        pool.iter().all(|(_, _, n)| n.allotted == 0),
        "a refused creation holds nothing"
    );

    a.inventory("twn", "2027-09-14", "2027-09-14", 5).await;
    let created = post(&a, body, None).await;
    let totals = created.expect(201)["totals"].as_array().unwrap().clone();
    assert_eq!(totals.len(), 4);
    assert!(totals.iter().all(|t| t["contractedRoomNights"] == 730));
    let pool = a.pool("2026-09-15", "2027-09-14").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.allotted == 2 && n.available == 3));
}

#[tokio::test]
async fn every_short_night_is_listed() {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", 12).await;
    a.inventory("dbl", "2026-09-03", "2026-09-04", 7).await;
    let resp = post(&a, allotment_body(a.est), None).await;
    resp.assert_conflict(
        "INSUFFICIENT_CAPACITY",
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 10, "available": 7},
            {"unitTypeId": "dbl", "date": "2026-09-04", "requested": 10, "available": 7},
        ]),
    );
}

#[tokio::test]
async fn validation_and_existence() {
    let a = kit::bare_acme().await;
    let (ctx, est) = (&a.ctx, a.est);
    let body = kit::with(
        allotment_body(est),
        // The cutoff lies before today (1 Jun in Paris).
        json!({"cutoffDate": "2026-05-31", "currency": "USD",
               "allotmentId": Uuid::new_v4().to_string(), "status": "active"}),
    );
    post(&a, body, None)
        .await
        .assert_invalid(&["currency", "allotmentId", "status", "cutoffDate"]);

    let missing = post(&a, allotment_body(Uuid::new_v4()), None).await;
    missing.assert_error(404, "NOT_FOUND");
    let theirs = kit::stocked_establishment(&ctx.store, "globex").await;
    let foreign = post(&a, allotment_body(theirs), None).await;
    foreign.assert_error(404, "NOT_FOUND");
    let their_pool = kit::pool_nights(&ctx.store, "globex", theirs, "2026-09-01", "2026-09-30");
    assert!(their_pool.await.iter().all(|(_, _, n)| n.allotted == 0));

    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    let elsewhere = key_with(&ctx.store, "acme", Some(&[theirs]), &[Scope::Write]).await;
    for key in [read_only, elsewhere] {
        create(allotment_body(est))
            .key(&key)
            .send(&FUNCTION, ctx)
            .await
            .assert_error(403, "FORBIDDEN");
    }
}

/// 40 concurrent creations of 1 room against a pool of 10: exactly 10 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_racing_creations_never_oversell() {
    let a = kit::bare_acme().await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", 10).await;
    let one = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 1}]});
    let body = kit::with(allotment_body(a.est), one);
    let with = (a.clone(), body);
    let answers = kit::concurrently(40, &with, |(a, body), _| async move {
        post(&a, body, None).await
    });
    let mut outcomes: BTreeMap<u16, usize> = BTreeMap::new();
    for resp in answers.await {
        if resp.status == 409 {
            assert_eq!(resp.code(), "INSUFFICIENT_CAPACITY");
        }
        *outcomes.entry(resp.status).or_default() += 1;
    }
    assert_eq!(outcomes, BTreeMap::from([(201, 10), (409, 30)]));
    for (_, night, n) in a.pool("2026-09-01", "2026-09-07").await {
        assert_eq!(
            (n.capacity, n.allotted, n.available),
            (10, 10, 0),
            "{night}"
        );
    }
}

mod idempotency {
    use super::*;
    use shared::http::Ctx;

    #[tokio::test]
    async fn a_repeat_replays_the_first_response_byte_for_byte() {
        let a = kit::acme().await;
        let first = post(&a, allotment_body(a.est), Some("order-42")).await;
        first.expect(201);
        assert!(first.headers.get("idempotency-replayed").is_none());
        let again = post(&a, allotment_body(a.est), Some("order-42")).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.raw, first.raw, "byte for byte");
        assert_eq!(again.headers["idempotency-replayed"], "true");
        assert_eq!(again.headers["x-trace-id"], first.headers["x-trace-id"]);
        assert_eq!(again.headers["location"], first.headers["location"]);
        assert_eq!(held_on_the_first(&a).await, 10, "created once");

        // Another tenant's identical key is another key.
        let other = kit::key(&a.ctx.store, "globex").await;
        let theirs = create(allotment_body(a.est))
            .key(&other)
            .header("idempotency-key", "order-42")
            .send(&FUNCTION, &a.ctx)
            .await;
        theirs.assert_error(404, "NOT_FOUND");
    }

    #[tokio::test]
    async fn the_same_key_with_another_request_is_422() {
        let a = kit::acme().await;
        post(&a, allotment_body(a.est), Some("k1"))
            .await
            .expect(201);
        let three = json!({"unitAllocations": [{"unitTypeId": "dbl", "quantity": 3}]});
        let other = kit::with(allotment_body(a.est), three);
        let resp = post(&a, other, Some("k1")).await;
        resp.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
        assert_eq!(held_on_the_first(&a).await, 10);
    }

    #[tokio::test]
    async fn refusals_of_the_request_leave_the_key_free_and_business_409s_are_kept() {
        let a = kit::bare_acme().await;
        let bad = kit::with(allotment_body(a.est), json!({"currency": "USD"}));
        post(&a, bad, Some("k2"))
            .await
            .assert_error(400, "VALIDATION_ERROR");

        // Same key, corrected body: not a reuse, and no capacity yet: a stored 409.
        let short = post(&a, allotment_body(a.est), Some("k2")).await;
        short.assert_error(409, "INSUFFICIENT_CAPACITY");
        a.inventory("dbl", "2026-09-01", "2026-09-30", 30).await;
        let replay = post(&a, allotment_body(a.est), Some("k2")).await;
        assert_eq!(replay.raw, short.raw, "the 409 outcome is replayed");
        assert_eq!(replay.headers["idempotency-replayed"], "true");

        // A day later the key is free again.
        let later = Ctx::with_now(
            a.ctx.store.clone(),
            kit::now() + std::time::Duration::from_secs(24 * 3600 + 1),
        );
        let fresh = create(allotment_body(a.est))
            .key(&a.key)
            .header("idempotency-key", "k2")
            .send(&FUNCTION, &later)
            .await;
        fresh.expect(201);
    }

    /// No lock: a record of the earlier design's lock that never completed (its
    /// request died) does not block the key; malformed keys are 400.
    #[tokio::test]
    async fn an_abandoned_lock_never_blocks_a_key_and_malformed_keys_are_400() {
        use shared::domain::idempotency::fingerprint;
        let a = kit::acme().await;
        let body = allotment_body(a.est).to_string();
        let fp = fingerprint("POST", "/v1/allotments", body.as_bytes());
        kit::put_pending_idempotency_lock(&a.ctx.store, "acme", "k3", &fp).await;
        let taken = post(&a, allotment_body(a.est), Some("k3")).await;
        taken.expect(201);
        let again = post(&a, allotment_body(a.est), Some("k3")).await;
        assert_eq!(again.raw, taken.raw, "then replayed");
        assert_eq!(held_on_the_first(&a).await, 10, "created once");

        for bad in ["has space", &"x".repeat(256)] {
            let resp = post(&a, allotment_body(a.est), Some(bad)).await;
            resp.assert_invalid(&["Idempotency-Key"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_duplicates_create_once() {
        let a = kit::acme().await;
        let answers = kit::concurrently(8, &a, |a, _| async move {
            post(&a, allotment_body(a.est), Some("dup")).await
        });
        let mut created = 0;
        for r in answers.await {
            match r.status {
                201 => created += 1,
                other => panic!("unexpected {other}: {}", r.raw),
            }
        }
        assert_eq!(created, 8, "one creates, the others replay it");
        assert_eq!(
            held_on_the_first(&a).await,
            10,
            "one allotment whatever the race"
        );
    }
}

/// Issue 13's budget: a keyed creation is the key lookup, the establishment read and
/// ONE transaction (hold, history, record together).
#[tokio::test]
async fn a_keyed_creation_is_two_round_trips_after_the_key() {
    let (ctx, requests) = kit::counting_ctx().await;
    let k = kit::key(&ctx.store, "acme").await;
    let est = kit::stocked_establishment(&ctx.store, "acme").await;
    requests.take();
    let r = create(allotment_body(est))
        .key(&k)
        .header("idempotency-key", "create-1")
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    let want: BTreeMap<String, u64> = [("GetItem", 2), ("TransactWriteItems", 1)]
        .iter()
        .map(|(op, n)| (op.to_string(), *n))
        .collect();
    assert_eq!(requests.take(), want, "key, establishment, transaction");
}
