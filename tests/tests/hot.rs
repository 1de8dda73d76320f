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
