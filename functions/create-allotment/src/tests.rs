use std::collections::BTreeMap;

use kit::{allotment_body, ctx, date, inventory, key, key_with, pool_nights, TestRequest};
use serde_json::json;
use shared::domain::auth::Scope;
use uuid::Uuid;

use super::FUNCTION;

fn create(body: serde_json::Value) -> TestRequest {
    TestRequest::event("create-allotment").json(body)
}

#[tokio::test]
async fn creates_holds_the_rooms_and_arms_the_cutoff() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        30,
    )
    .await;

    let resp = create(allotment_body(est))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    assert_eq!(resp.status, 201, "{}", resp.raw);
    let d = resp.data();
    let id = d["allotmentId"].as_str().unwrap();
    assert_eq!(
        resp.headers["location"],
        format!("/v1/allotments/{id}").as_str()
    );
    assert_eq!(resp.headers["etag"], "\"1\"");
    assert_eq!(d["status"], "active");
    assert_eq!(d["version"], 1);
    assert_eq!(d["establishmentId"], est.to_string());
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

    let pool = pool_nights(&ctx.store, "acme", est, "2026-08-31", "2026-09-08").await;
    for (_, night, n) in pool {
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
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        30,
    )
    .await;
    let mut body = allotment_body(est);
    body["cutoffDate"] = json!("2026-09-05");
    body["releaseDays"] = json!(3);
    let resp = create(body).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(resp.status, 201, "{}", resp.raw);
    // Night 1 Sep releases at 00:00 local 29 Aug; the last (7 Sep) at 00:00 local 4 Sep.
    assert_eq!(
        resp.data()["cutoff"]["nextReleaseAt"],
        "2026-08-28T22:00:00Z"
    );
    assert_eq!(
        resp.data()["cutoff"]["finalReleaseAt"],
        "2026-09-03T22:00:00Z"
    );
}

/// A 365-night allotment of 4 unit types is one transaction: with only its very
/// last night short, nothing at all is held.
#[tokio::test]
async fn a_year_of_four_unit_types_is_all_or_nothing() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let units = ["dbl", "sgl", "ste", "twn"];
    for u in units {
        inventory(&ctx.store, "acme", est, u, "2026-09-15", "2027-09-14", 5).await;
    }
    inventory(
        &ctx.store,
        "acme",
        est,
        "twn",
        "2027-09-14",
        "2027-09-14",
        1,
    )
    .await;
    let mut body = allotment_body(est);
    body["periodFrom"] = json!("2026-09-15");
    body["periodTo"] = json!("2027-09-14");
    body["cutoffDate"] = json!("2026-09-01");
    body["unitAllocations"] = json!(units
        .iter()
        .map(|u| json!({"unitTypeId": u, "quantity": 2}))
        .collect::<Vec<_>>());

    let refused = create(body.clone()).key(&k).send(&FUNCTION, &ctx).await;
    refused.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(
        refused.body["details"],
        json!([{"unitTypeId": "twn", "date": "2027-09-14", "requested": 2, "available": 1}])
    );
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-15", "2027-09-14").await;
    assert_eq!(pool.len(), 4 * 365);
    assert!(
        pool.iter().all(|(_, _, n)| n.allotted == 0),
        "a refused creation holds nothing"
    );

    inventory(
        &ctx.store,
        "acme",
        est,
        "twn",
        "2027-09-14",
        "2027-09-14",
        5,
    )
    .await;
    let created = create(body).key(&k).send(&FUNCTION, &ctx).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let totals = created.data()["totals"].as_array().unwrap().clone();
    assert_eq!(totals.len(), 4);
    assert!(totals.iter().all(|t| t["contractedRoomNights"] == 730));
    let pool = pool_nights(&ctx.store, "acme", est, "2026-09-15", "2027-09-14").await;
    assert!(pool
        .iter()
        .all(|(_, _, n)| n.allotted == 2 && n.available == 3));
}

#[tokio::test]
async fn every_short_night_is_listed() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        12,
    )
    .await;
    inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-03",
        "2026-09-04",
        7,
    )
    .await;
    let resp = create(allotment_body(est))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    resp.assert_error(409, "INSUFFICIENT_CAPACITY");
    assert_eq!(
        resp.body["details"],
        json!([
            {"unitTypeId": "dbl", "date": "2026-09-03", "requested": 10, "available": 7},
            {"unitTypeId": "dbl", "date": "2026-09-04", "requested": 10, "available": 7},
        ])
    );
}

#[tokio::test]
async fn validation_and_existence() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    let mut body = allotment_body(est);
    body["cutoffDate"] = json!("2026-05-31"); // before today (1 Jun in Paris)
    body["currency"] = json!("USD");
    body["allotmentId"] = json!(Uuid::new_v4().to_string());
    body["status"] = json!("active");
    let resp = create(body).key(&k).send(&FUNCTION, &ctx).await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        resp.fields(),
        ["currency", "allotmentId", "status", "cutoffDate"]
    );

    let missing = create(allotment_body(Uuid::new_v4()))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await;
    missing.assert_error(404, "NOT_FOUND");
    let theirs = kit::establishment(&ctx.store, "globex").await;
    inventory(
        &ctx.store,
        "globex",
        theirs,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        30,
    )
    .await;
    create(allotment_body(theirs))
        .key(&k)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(404, "NOT_FOUND");
    assert!(
        pool_nights(&ctx.store, "globex", theirs, "2026-09-01", "2026-09-30")
            .await
            .iter()
            .all(|(_, _, n)| n.allotted == 0)
    );

    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    create(allotment_body(est))
        .key(&read_only)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
    let elsewhere = key_with(&ctx.store, "acme", Some(&[theirs]), &[Scope::Write]).await;
    create(allotment_body(est))
        .key(&elsewhere)
        .send(&FUNCTION, &ctx)
        .await
        .assert_error(403, "FORBIDDEN");
}

/// 40 concurrent creations of 1 room against a pool of 10: exactly 10 succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_racing_creations_never_oversell() {
    let ctx = ctx().await;
    let k = key(&ctx.store, "acme").await;
    let est = kit::establishment(&ctx.store, "acme").await;
    inventory(
        &ctx.store,
        "acme",
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        10,
    )
    .await;
    let mut body = allotment_body(est);
    body["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 1}]);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (ctx, k, body) = (ctx.clone(), k.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            create(body).key(&k).send(&FUNCTION, &ctx).await
        }));
    }
    let mut outcomes: BTreeMap<u16, usize> = BTreeMap::new();
    for t in tasks {
        let resp = t.await.unwrap();
        if resp.status == 409 {
            assert_eq!(resp.code(), "INSUFFICIENT_CAPACITY");
        }
        *outcomes.entry(resp.status).or_default() += 1;
    }
    assert_eq!(outcomes, BTreeMap::from([(201, 10), (409, 30)]));
    for (_, night, n) in pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-07").await {
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
        let ctx = ctx().await;
        let k = key(&ctx.store, "acme").await;
        let est = kit::establishment(&ctx.store, "acme").await;
        inventory(
            &ctx.store,
            "acme",
            est,
            "dbl",
            "2026-09-01",
            "2026-09-30",
            30,
        )
        .await;
        let send = || {
            create(allotment_body(est))
                .key(&k)
                .header("idempotency-key", "order-42")
                .send(&FUNCTION, &ctx)
        };
        let first = send().await;
        assert_eq!(first.status, 201, "{}", first.raw);
        assert!(first.headers.get("idempotency-replayed").is_none());
        let again = send().await;
        assert_eq!(again.status, 201);
        assert_eq!(again.raw, first.raw, "byte for byte");
        assert_eq!(again.headers["idempotency-replayed"], "true");
        assert_eq!(again.headers["x-trace-id"], first.headers["x-trace-id"]);
        assert_eq!(again.headers["location"], first.headers["location"]);
        let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
        assert_eq!(held[0].2.allotted, 10, "created once");

        // Another tenant's identical key is another key.
        let other = key(&ctx.store, "globex").await;
        let theirs = create(allotment_body(est))
            .key(&other)
            .header("idempotency-key", "order-42")
            .send(&FUNCTION, &ctx)
            .await;
        theirs.assert_error(404, "NOT_FOUND");
    }

    #[tokio::test]
    async fn the_same_key_with_another_request_is_422() {
        let ctx = ctx().await;
        let k = key(&ctx.store, "acme").await;
        let est = kit::establishment(&ctx.store, "acme").await;
        inventory(
            &ctx.store,
            "acme",
            est,
            "dbl",
            "2026-09-01",
            "2026-09-30",
            30,
        )
        .await;
        let first = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k1")
            .send(&FUNCTION, &ctx)
            .await;
        assert_eq!(first.status, 201);
        let mut other = allotment_body(est);
        other["unitAllocations"] = json!([{"unitTypeId": "dbl", "quantity": 3}]);
        let resp = create(other)
            .key(&k)
            .header("idempotency-key", "k1")
            .send(&FUNCTION, &ctx)
            .await;
        resp.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
        let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
        assert_eq!(held[0].2.allotted, 10);
    }

    #[tokio::test]
    async fn refusals_of_the_request_leave_the_key_free_and_business_409s_are_kept() {
        let ctx = ctx().await;
        let k = key(&ctx.store, "acme").await;
        let est = kit::establishment(&ctx.store, "acme").await;
        let mut bad = allotment_body(est);
        bad["currency"] = json!("USD");
        create(bad)
            .key(&k)
            .header("idempotency-key", "k2")
            .send(&FUNCTION, &ctx)
            .await
            .assert_error(400, "VALIDATION_ERROR");

        // Same key, corrected body: not a reuse, and no capacity yet: a stored 409.
        let short = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k2")
            .send(&FUNCTION, &ctx)
            .await;
        short.assert_error(409, "INSUFFICIENT_CAPACITY");
        inventory(
            &ctx.store,
            "acme",
            est,
            "dbl",
            "2026-09-01",
            "2026-09-30",
            30,
        )
        .await;
        let replay = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k2")
            .send(&FUNCTION, &ctx)
            .await;
        assert_eq!(replay.raw, short.raw, "the 409 outcome is replayed");
        assert_eq!(replay.headers["idempotency-replayed"], "true");

        // A day later the key is free again.
        let later = Ctx::with_now(
            ctx.store.clone(),
            kit::now() + std::time::Duration::from_secs(24 * 3600 + 1),
        );
        let fresh = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k2")
            .send(&FUNCTION, &later)
            .await;
        assert_eq!(fresh.status, 201, "{}", fresh.raw);
    }

    /// No lock: a record of the earlier design's lock that never completed (its
    /// request died) does not block the key; malformed keys are 400.
    #[tokio::test]
    async fn an_abandoned_lock_never_blocks_a_key_and_malformed_keys_are_400() {
        use shared::domain::idempotency::fingerprint;
        let ctx = ctx().await;
        let k = key(&ctx.store, "acme").await;
        let est = kit::establishment(&ctx.store, "acme").await;
        inventory(
            &ctx.store,
            "acme",
            est,
            "dbl",
            "2026-09-01",
            "2026-09-30",
            30,
        )
        .await;
        let body = allotment_body(est).to_string();
        let fp = fingerprint("POST", "/v1/allotments", body.as_bytes());
        kit::put_pending_idempotency_lock(&ctx.store, "acme", "k3", &fp).await;
        let taken = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k3")
            .send(&FUNCTION, &ctx)
            .await;
        assert_eq!(taken.status, 201, "{}", taken.raw);
        let again = create(allotment_body(est))
            .key(&k)
            .header("idempotency-key", "k3")
            .send(&FUNCTION, &ctx)
            .await;
        assert_eq!(again.raw, taken.raw, "then replayed");
        let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
        assert_eq!(held[0].2.allotted, 10, "created once");

        for bad in ["has space", &"x".repeat(256)] {
            let resp = create(allotment_body(est))
                .key(&k)
                .header("idempotency-key", bad)
                .send(&FUNCTION, &ctx)
                .await;
            resp.assert_error(400, "VALIDATION_ERROR");
            assert_eq!(resp.fields(), ["Idempotency-Key"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_duplicates_create_once() {
        let ctx = ctx().await;
        let k = key(&ctx.store, "acme").await;
        let est = kit::establishment(&ctx.store, "acme").await;
        inventory(
            &ctx.store,
            "acme",
            est,
            "dbl",
            "2026-09-01",
            "2026-09-30",
            30,
        )
        .await;
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (ctx, k) = (ctx.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                create(allotment_body(est))
                    .key(&k)
                    .header("idempotency-key", "dup")
                    .send(&FUNCTION, &ctx)
                    .await
            }));
        }
        let mut created = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                201 => created += 1,
                other => panic!("unexpected {other}: {}", r.raw),
            }
        }
        assert_eq!(created, 8, "one creates, the others replay it");
        let held = pool_nights(&ctx.store, "acme", est, "2026-09-01", "2026-09-01").await;
        assert_eq!(held[0].2.allotted, 10, "one allotment whatever the race");
    }
}

/// Issue 13's budget: a keyed creation is the key lookup, the establishment read and
/// ONE transaction (hold, history, record together).
#[tokio::test]
async fn a_keyed_creation_is_two_round_trips_after_the_key() {
    let (ctx, requests) = kit::counting_ctx().await;
    let k = key(&ctx.store, "acme").await;
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
