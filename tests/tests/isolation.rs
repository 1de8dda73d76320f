//! The tenant isolation matrix: every route, called with another tenant's key on the
//! first tenant's ids, answers 404 and changes nothing; read-only keys are refused on
//! every write, keys limited to another establishment are refused, revoked keys are 401.

use kit::{key, key_with, pickup_body, tenant, TestRequest};
use serde_json::{json, Value};
use shared::domain::auth::Scope;
use shared::http::{Access, Ctx, Function};
use shared::template::routes;
use uuid::Uuid;

struct Ids {
    est: Uuid,
    allotment: String,
    pickup: String,
    group: String,
}

/// Tenant `acme` with an establishment, an allotment with a pickup, and a group: its
/// context and ids.
async fn setup() -> (Ctx, Ids) {
    let (a, allotment) = kit::acme_allotment().await;
    let body = pickup_body("dbl", "2026-09-02", "2026-09-03", 1);
    let p = kit::pickup(&a.ctx, &a.key, &allotment, body).await;
    let body = json!({"establishmentId": a.est.to_string(), "name": "Pool", "periodFrom": "2026-09-01", "periodTo": "2026-09-07",
                      "unitAllocations": [{"unitTypeId": "dbl", "quantity": 2}], "cutoffDate": "2026-08-15"});
    let g = kit::group(&a.ctx, &a.key, body).await;
    let ids = Ids {
        est: a.est,
        allotment,
        pickup: p["pickupId"].as_str().unwrap().to_string(),
        group: g["capacityGroupId"].as_str().unwrap().to_string(),
    };
    (a.ctx, ids)
}

/// The sample request of a function, aimed at the first tenant's resources.
fn request(function: &str, ids: &Ids) -> TestRequest {
    let mut r = TestRequest::event(function);
    for (name, value) in [
        ("establishmentId", ids.est.to_string()),
        ("allotmentId", ids.allotment.clone()),
        ("pickupId", ids.pickup.clone()),
        ("capacityGroupId", ids.group.clone()),
    ] {
        let template = routes()
            .into_iter()
            .find(|r| r.function == function)
            .unwrap();
        if template.path.contains(&format!("{{{name}}}")) {
            r = r.path_param(name, &value);
        }
    }
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(kit::events_dir().join(format!("{function}.json"))).unwrap(),
    )
    .unwrap();
    if sample["queryStringParameters"]
        .get("establishmentId")
        .is_some()
    {
        let e = ids.est.to_string();
        let mut q: Vec<(String, String)> = sample["queryStringParameters"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        for (k, v) in q.iter_mut() {
            if k == "establishmentId" {
                *v = e.clone();
            }
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        r = r.query(&pairs);
    }
    if let Some(body) = sample["body"].as_str() {
        let mut body: Value = serde_json::from_str(body).unwrap();
        if body.get("establishmentId").is_some() {
            body["establishmentId"] = json!(ids.est.to_string());
        }
        let ct = sample["headers"]["content-type"]
            .as_str()
            .unwrap_or("application/json")
            .to_string();
        r = r.raw_body(body.to_string().into_bytes(), Some(&ct));
    }
    r.without_header("if-match")
}

fn function(name: &str) -> Function {
    *local_server::functions()
        .iter()
        .find(|f| f.name == name)
        .unwrap()
}

/// Everything the first tenant owns, as the API shows it.
async fn snapshot(ctx: &Ctx, ids: &Ids) -> Value {
    let t = tenant("acme");
    let (a, grid) = ctx
        .store
        .require_allotment(&t, ids.allotment.parse().unwrap())
        .await
        .unwrap();
    let g = ctx
        .store
        .require_group(&t, ids.group.parse().unwrap())
        .await
        .unwrap();
    let p = ctx
        .store
        .get_pickup(
            &t,
            ids.allotment.parse().unwrap(),
            ids.pickup.parse().unwrap(),
        )
        .await
        .unwrap();
    let est = ctx
        .store
        .get_establishment(&t, ids.est)
        .await
        .unwrap()
        .unwrap();
    let pool: Vec<Value> =
        kit::pool_nights(&ctx.store, "acme", ids.est, "2026-08-01", "2026-10-31")
            .await
            .iter()
            .map(|(u, d, n)| json!([u, d.to_string(), n.capacity, n.allotted, n.picked_up]))
            .collect();
    json!({"allotment": kit::json(a.representation(&grid)), "group": g.record.view(&g.grid), "pickup": serde_json::to_value(p).unwrap(),
           "establishment": serde_json::to_value(est).unwrap(), "pool": pool})
}

#[tokio::test]
async fn another_tenant_gets_404_on_every_route_and_changes_nothing() {
    let (ctx, ids) = setup().await;
    let before = snapshot(&ctx, &ids).await;
    let theirs = key(&ctx.store, "globex").await;
    let mut checked = 0;
    // PUT of an establishment creates the other tenant's own one with that id: last.
    let mut all = routes();
    all.sort_by_key(|r| r.function == "put-establishment");
    for route in all {
        let f = function(&route.function);
        if f.access == Access::Public {
            continue;
        }
        let resp = request(&route.function, &ids)
            .key(&theirs)
            .send(&f, &ctx)
            .await;
        // PUT of an establishment id creates the other tenant's own establishment.
        if route.function == "put-establishment" {
            assert_eq!(resp.status, 201, "{}: {}", route.function, resp.raw);
            continue;
        }
        assert_eq!(
            (resp.status, resp.code()),
            (404, "NOT_FOUND"),
            "{} {}: {}",
            route.method,
            route.path,
            resp.raw
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked} routes checked");
    assert_eq!(
        snapshot(&ctx, &ids).await,
        before,
        "the first tenant's data did not change"
    );
}

#[tokio::test]
async fn scopes_establishments_and_revocation() {
    let (ctx, ids) = setup().await;
    let before = snapshot(&ctx, &ids).await;
    let read_only = key_with(&ctx.store, "acme", None, &[Scope::Read]).await;
    let elsewhere = key_with(
        &ctx.store,
        "acme",
        Some(&[Uuid::new_v4()]),
        &[Scope::Read, Scope::Write],
    )
    .await;
    let revoked = key(&ctx.store, "acme").await;
    assert!(ctx
        .store
        .revoke_key(revoked.split_once('.').unwrap().0)
        .await
        .unwrap());
    for route in routes() {
        let f = function(&route.function);
        if f.access == Access::Public {
            continue;
        }
        let what = format!("{} {}", route.method, route.path);
        let send = |key: &str| request(&route.function, &ids).key(key).send(&f, &ctx);
        let r = send(&revoked).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "UNAUTHENTICATED"),
            "revoked, {what}"
        );
        let r = send(&elsewhere).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "FORBIDDEN"),
            "other establishment, {what}: {}",
            r.raw
        );
        if f.access == Access::Write {
            let r = send(&read_only).await;
            assert_eq!(
                (r.status, r.code()),
                (403, "FORBIDDEN"),
                "read-only, {what}"
            );
        }
    }
    assert_eq!(snapshot(&ctx, &ids).await, before, "nothing changed");
}
