//! Pickups under the real service's transaction conflict rule (issue 17), through the
//! fault proxy (`kit::proxy`, 10 ms hold): a pickup writes no item shared by the
//! hotel's allotments, and a concurrent burst leaves every invariant of API.md exact.

use kit::{pickup_body, tenant, Acme, TestRequest};
use serde_json::json;

/// Sends `n` pickups of 1 room on `allotment`, one after the other, night by night
/// from `first` (0-based night of September); the statuses answered.
async fn pickups(a: &Acme, allotment: &str, first: usize, n: usize, nights: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        let d = (first + i) % nights + 1;
        let body = pickup_body(
            "dbl",
            &format!("2026-09-{d:02}"),
            &format!("2026-09-{:02}", d + 1),
            1,
        );
        let req = TestRequest::on_allotment("create-pickup", allotment).json(body);
        let r = a.call(req, &create_pickup::FUNCTION).await;
        r.assert_among(&[(201, ""), (503, "UNAVAILABLE")], "pickup");
        statuses.push(r.status);
    }
    statuses
}

/// The pool's `pickedUp` over September (what availability answers), summed.
async fn pool_picked_up(a: &Acme) -> i64 {
    let range = shared::domain::dates::NightRange::new(
        kit::date("2026-09-01"),
        kit::date("2026-09-30"),
        400,
    )
    .unwrap();
    let pool = a
        .ctx
        .store
        .read_pool(&tenant("acme"), a.est, None, &range)
        .await
        .unwrap();
    pool.iter().map(|(_, _, n)| n.picked_up).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pickups_of_a_hotels_allotments_never_conflict_and_a_burst_keeps_every_invariant() {
    let (ctx, proxy) = kit::conflicting_ctx().await;
    let a = kit::acme_on(ctx).await;
    let contract = json!({"allotmentType": "allotment"});
    // One allotment of 10 dbl over 1–7 Sep, and four of 5 (the pool holds 30).
    let hot = a.allotment(contract.clone()).await;
    let mut others = Vec::new();
    for _ in 0..4 {
        let body = json!({"allotmentType": "allotment",
                          "unitAllocations": [{"unitTypeId": "dbl", "quantity": 5}]});
        others.push(a.allotment(body).await);
    }

    // The hotel's allotments, one client each, at once: they share no item, so the
    // rule never cancels one of them (the pool month was that item: every pickup of
    // the hotel-month conflicted with every other).
    proxy.reset_stats();
    let with = (a.clone(), others.clone());
    let answered = kit::concurrently(4, &with, |(a, others), i| async move {
        pickups(&a, &others[i], i, 5, 7).await
    })
    .await;
    let stats = proxy.stats();
    assert_eq!(
        stats.conflicts_total(),
        0,
        "pickups of different allotments met on an item: {stats}"
    );
    assert!(answered.iter().flatten().all(|s| *s == 201));

    // A burst on one allotment beside them: every answer is a pickup taken or a 503
    // that changed nothing, and the pool's `pickedUp` is exactly the rooms taken.
    proxy.reset_stats();
    let with = (a.clone(), hot.clone(), others.clone());
    let answered = kit::concurrently(20, &with, |(a, hot, others), i| async move {
        if i < 16 {
            pickups(&a, &hot, i * 3, 3, 7).await
        } else {
            pickups(&a, &others[i - 16], 5 + i, 3, 7).await
        }
    })
    .await;
    let taken = answered.iter().flatten().filter(|s| **s == 201).count() as i64;
    println!(
        "{taken} of {} pickups taken; proxy: {}",
        answered.iter().flatten().count(),
        proxy.stats()
    );
    assert!(
        proxy.stats().conflicts_total() > 0,
        "the burst must meet the rule"
    );
    assert_eq!(pool_picked_up(&a).await, 20 + taken);
    kit::check_invariants(
        &a.ctx.store,
        "acme",
        a.est,
        None,
        "2026-09-01",
        "2026-09-30",
    )
    .await;
}

/// One allotment over September and October: pickups of its nights in different
/// months share no item (no header in a pickup: what it checked, the months check),
/// so the rule cancels none of them; pickups of one month still meet on it. And a
/// cancel of the allotment racing pickups is refused or closes the months to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pickups_of_one_allotment_meet_only_on_the_months_of_their_nights() {
    let (ctx, proxy) = kit::conflicting_ctx().await;
    let a = kit::acme_on(ctx).await;
    a.inventory("dbl", "2026-10-01", "2026-10-31", 30).await;
    let body = json!({"allotmentType": "allotment", "periodFrom": "2026-09-01",
                      "periodTo": "2026-10-31",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 20}]});
    let id = a.allotment(body).await;
    let stay = |month: u32, day: usize| {
        pickup_body(
            "dbl",
            &format!("2026-{month:02}-{day:02}"),
            &format!("2026-{month:02}-{:02}", day + 1),
            1,
        )
    };
    // Two clients, one in each month, ten pickups each.
    proxy.reset_stats();
    let with = (a.clone(), id.clone());
    let answered = kit::concurrently(2, &with, |(a, id), i| async move {
        let mut taken = Vec::new();
        for day in 1..=10 {
            let req = TestRequest::on_allotment("create-pickup", &id).json(stay(9 + i as u32, day));
            let r = a.call(req, &create_pickup::FUNCTION).await;
            taken.push(r.expect(201)["pickupId"].as_str().unwrap().to_string());
        }
        taken
    })
    .await;
    let stats = proxy.stats();
    assert_eq!(
        stats.conflicts_total(),
        0,
        "pickups of one allotment in different months met: {stats}"
    );
    let mut taken: Vec<String> = answered.into_iter().flatten().collect();

    // Eight clients in September: they meet on its month.
    proxy.reset_stats();
    let answered = kit::concurrently(8, &with, |(a, id), i| async move {
        let req = TestRequest::on_allotment("create-pickup", &id).json(stay(9, 11 + i));
        let r = a.call(req, &create_pickup::FUNCTION).await;
        r.expect(201)["pickupId"].as_str().unwrap().to_string()
    })
    .await;
    taken.extend(answered);
    assert!(proxy.stats().conflicts_total() > 0, "one month is one item");

    // A cancel while pickups are active is refused; once none is, it closes every
    // month, October's too, to pickups.
    let cancel = || TestRequest::on_allotment("cancel-allotment", &id).json(json!({}));
    a.call(cancel(), &cancel_allotment::FUNCTION)
        .await
        .assert_error(409, "ALLOTMENT_HAS_PICKUPS");
    for p in &taken {
        let req = TestRequest::on_allotment("cancel-pickup", &id)
            .path_param("pickupId", p)
            .json(json!({}));
        a.call(req, &cancel_pickup::FUNCTION).await.expect(200);
    }
    a.call(cancel(), &cancel_allotment::FUNCTION)
        .await
        .expect(200);
    for month in [9, 10] {
        let req = TestRequest::on_allotment("create-pickup", &id).json(stay(month, 20));
        a.call(req, &create_pickup::FUNCTION)
            .await
            .assert_error(409, "INVALID_STATE");
    }
    kit::check_invariants(
        &a.ctx.store,
        "acme",
        a.est,
        None,
        "2026-09-01",
        "2026-10-31",
    )
    .await;
}
