//! Fixtures: a fresh table on DynamoDB Local per test, a fixed clock, keys,
//! establishments with rooms, and the bodies most tests send.
//!
//! `DYNAMODB_ENDPOINT` must point at a running DynamoDB Local (`make test` starts
//! one). Tests fail, never skip, when it is missing.

use chrono::{DateTime, TimeZone, Utc};
use shared::domain::auth::Scope;
use shared::domain::dates::NightRange;
use shared::domain::establishment::EstablishmentInput;
use shared::domain::ids::{TenantId, UnitTypeId};
use shared::domain::inventory::{InventoryChange, PoolNight};
use shared::http::Ctx;
use shared::store::Store;
use uuid::Uuid;

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with `make test` (it starts DynamoDB Local)")
}

/// A client of the tests' DynamoDB Local with the project's configuration, for raw
/// reads and writes no production code makes.
pub fn client() -> aws_sdk_dynamodb::Client {
    client_at(&endpoint())
}

/// A client of the DynamoDB at `endpoint` (DynamoDB Local, or a proxy in front of it)
/// with the project's configuration.
pub fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(Store::local_config(endpoint).build())
}

/// A store on a new table with a random name, created from the template. Its event
/// feed serves what has committed (no settle delay: a test's writes are over when it
/// reads; the delay itself is tested with a store of its own).
pub async fn store() -> Store {
    let table = format!("test-{}", Uuid::new_v4().simple());
    let store = Store::local(&endpoint(), &table).with_event_settle(std::time::Duration::ZERO);
    store.ensure_table().await.expect("create test table");
    store
}

/// [`store`] with the table's stream (NEW_IMAGE, as deployed), for the tests that read it:
/// the stream slows DynamoDB Local's writes, so other tables have none.
pub async fn store_with_stream() -> Store {
    let table = format!("test-{}", Uuid::new_v4().simple());
    let store = Store::local(&endpoint(), &table);
    store
        .ensure_table_with_stream()
        .await
        .expect("create test table");
    store
}

/// A fixed "now" for handler tests: 2026-06-01T10:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap()
}

/// DynamoDB requests sent, by operation (`GetItem`, `TransactWriteItems`, ...), retries
/// included: an SDK interceptor on the client of [`counting_ctx`].
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>,
);

impl RequestCounter {
    /// The requests since the last call, and starts counting afresh.
    pub fn take(&self) -> std::collections::BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "request-counter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // `X-Amz-Target: DynamoDB_20120810.GetItem`
        let target = context.request().headers().get("x-amz-target");
        let op = target.and_then(|t| t.rsplit('.').next()).unwrap_or("?");
        *self.0.lock().unwrap().entry(op.to_string()).or_default() += 1;
        Ok(())
    }
}

/// Like [`ctx`], with a client that counts its requests.
pub async fn counting_ctx() -> (Ctx, RequestCounter) {
    let plain = store().await;
    let counter = RequestCounter::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        Store::local_config(&endpoint())
            .interceptor(counter.clone())
            .build(),
    );
    let store = Store::new(client, plain.table()).with_event_settle(plain.event_settle());
    let ctx = Ctx::with_now(store, now());
    counter.take();
    (ctx, counter)
}

pub async fn ctx() -> Ctx {
    // Warnings and errors go to the test's captured output: shown when it fails.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .try_init();
    Ctx::with_now(store().await, now())
}

/// A context on a fresh table whose store reaches DynamoDB Local through the fault
/// proxy with the real service's transaction conflict rule on (10 ms hold, no
/// faults): keep the proxy for as long as the context is used.
pub async fn conflicting_ctx() -> (Ctx, crate::proxy::Proxy) {
    use crate::proxy::{Config, ConflictRule, Proxy};
    let base = ctx().await;
    let upstream = crate::proxy::upstream_of(&crate::endpoint())
        .await
        .expect("DYNAMODB_ENDPOINT resolves");
    let proxy = Proxy::spawn(
        upstream,
        Config::default().with_conflicts(ConflictRule::default()),
    )
    .expect("the proxy starts");
    let store = Store::local(&proxy.endpoint(), base.store.table())
        .with_event_settle(base.store.event_settle());
    (Ctx::with_now(store, now()), proxy)
}

/// A context whose store cannot be reached (nothing listens on the port).
pub fn unreachable_ctx() -> Ctx {
    Ctx::with_now(Store::local("http://127.0.0.1:9", "unreachable"), now())
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

pub fn date(s: &str) -> chrono::NaiveDate {
    shared::domain::dates::parse_date(s).expect("valid date")
}

/// Mints a key for `tenant` with both scopes on every establishment.
pub async fn key(store: &Store, tenant: &str) -> String {
    key_with(store, tenant, None, &[Scope::Read, Scope::Write]).await
}

pub async fn key_with(
    store: &Store,
    tenant: &str,
    establishments: Option<&[Uuid]>,
    scopes: &[Scope],
) -> String {
    store
        .create_key(
            &TenantId::parse(tenant).unwrap(),
            establishments,
            scopes,
            now(),
        )
        .await
        .expect("create key")
        .1
}

/// Creates an establishment (Europe/Paris) directly in the store; returns its id.
pub async fn establishment(store: &Store, tenant_name: &str) -> Uuid {
    let id = Uuid::new_v4();
    let input = EstablishmentInput {
        name: "Hôtel du Port".into(),
        time_zone: chrono_tz::Europe::Paris,
    };
    put_establishment(store, &tenant(tenant_name), id, &input).await;
    id
}

/// Creates (or updates) an establishment directly in the store.
pub async fn put_establishment(store: &Store, t: &TenantId, id: Uuid, input: &EstablishmentInput) {
    let current = store.load_establishment(t, id).await.expect("read");
    let planned = shared::domain::establishment::plan_put(id, current.as_ref(), input, now())
        .expect("plan establishment");
    let applied = store.apply(t, &planned.plan).await.expect("apply");
    assert_eq!(
        applied,
        shared::store::Applied::Done,
        "establishment written"
    );
}

/// Sets the pool capacity of a unit type over a range (inclusive).
pub async fn inventory(
    store: &Store,
    tenant_name: &str,
    est: Uuid,
    unit: &str,
    from: &str,
    to: &str,
    capacity: i64,
) {
    let change = InventoryChange {
        unit_type_id: UnitTypeId::parse(unit).unwrap(),
        range: NightRange::new(date(from), date(to), 731).unwrap(),
        capacity,
    };
    crate::set_capacity(store, &tenant(tenant_name), est, &change)
        .await
        .expect("set inventory");
}

/// An establishment of `tenant` with 30 `dbl` rooms every night of September 2026.
pub async fn stocked_establishment(store: &Store, tenant_name: &str) -> Uuid {
    let est = establishment(store, tenant_name).await;
    inventory(
        store,
        tenant_name,
        est,
        "dbl",
        "2026-09-01",
        "2026-09-30",
        30,
    )
    .await;
    est
}

/// Every pool night of an establishment in a range: `(unit type, date, night)`.
pub async fn pool_nights(
    store: &Store,
    tenant_name: &str,
    est: Uuid,
    from: &str,
    to: &str,
) -> Vec<(String, chrono::NaiveDate, PoolNight)> {
    let range = NightRange::new(date(from), date(to), 3000).unwrap();
    store
        .read_pool(&tenant(tenant_name), est, None, &range)
        .await
        .expect("read pool")
        .into_iter()
        .map(|(u, d, n)| (u.to_string(), d, n))
        .collect()
}

/// A valid creation body (the example of API.md) for an establishment: the sample
/// event's body as a contractual allotment (penalty 5000, cutoff 1 Aug).
pub fn allotment_body(est: Uuid) -> serde_json::Value {
    let sample = crate::TestRequest::event("create-allotment").body_json();
    let contract = serde_json::json!({"establishmentId": est.to_string(), "allotmentType": "allotment",
                                      "cutoffDate": "2026-08-01", "penaltyPerRoomNightCents": "5000"});
    with(sample, contract)
}

/// A pickup body.
pub fn pickup_body(unit: &str, arrival: &str, departure: &str, quantity: i64) -> serde_json::Value {
    serde_json::json!({"unitTypeId": unit, "arrival": arrival, "departure": departure, "quantity": quantity,
                       "reservationRef": "PMS-1", "guestName": "Guest One"})
}

/// `body` with the fields of `changes` set (a shallow merge): `with(allotment_body(est),
/// json!({"periodTo": "2026-09-02"}))`.
pub fn with(mut body: serde_json::Value, changes: serde_json::Value) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(c)) = (body.as_object_mut(), changes) {
        b.extend(c);
    }
    body
}

/// The usual world of a test: a fresh context, a key of tenant `acme` (both scopes,
/// every establishment) and its [`stocked_establishment`].
#[derive(Clone)]
pub struct Acme {
    pub ctx: Ctx,
    pub key: String,
    pub est: Uuid,
}

/// [`Acme`] on a fresh table.
pub async fn acme() -> Acme {
    acme_on(ctx().await).await
}

/// [`Acme`] on the table of `ctx`.
pub async fn acme_on(ctx: Ctx) -> Acme {
    let a = bare_acme_on(ctx).await;
    a.inventory("dbl", "2026-09-01", "2026-09-30", 30).await;
    a
}

/// [`Acme`] whose establishment has no rooms yet, on a fresh table.
pub async fn bare_acme() -> Acme {
    bare_acme_on(ctx().await).await
}

async fn bare_acme_on(ctx: Ctx) -> Acme {
    let key = key(&ctx.store, "acme").await;
    let est = establishment(&ctx.store, "acme").await;
    Acme { ctx, key, est }
}

/// [`Acme`] with one allotment of [`allotment_body`]: the world and the allotment's id.
pub async fn acme_allotment() -> (Acme, String) {
    let a = acme().await;
    let id = a.allotment(serde_json::json!({})).await;
    (a, id)
}

impl Acme {
    /// Sends `req` with the key of `acme` through `function`.
    pub async fn call(
        &self,
        req: crate::TestRequest,
        function: &shared::http::Function,
    ) -> crate::TestResponse {
        req.key(&self.key).send(function, &self.ctx).await
    }

    /// Asserts that another tenant's key gets `404 NOT_FOUND` for `req`, exactly like
    /// an unknown id.
    pub async fn assert_hidden(&self, req: crate::TestRequest, function: &shared::http::Function) {
        let other = key(&self.ctx.store, "globex").await;
        let resp = req.key(&other).send(function, &self.ctx).await;
        resp.assert_error(404, "NOT_FOUND");
    }

    /// Sets the capacity of `unit` in the establishment from `from` to `to` (inclusive).
    pub async fn inventory(&self, unit: &str, from: &str, to: &str, capacity: i64) {
        inventory(&self.ctx.store, "acme", self.est, unit, from, to, capacity).await;
    }

    /// Creates an allotment of [`allotment_body`] `with` `changes`; its id.
    pub async fn allotment(&self, changes: serde_json::Value) -> String {
        let body = with(allotment_body(self.est), changes);
        let created = crate::create_allotment(&self.ctx, &self.key, body).await;
        created["allotmentId"].as_str().unwrap().to_string()
    }

    /// The pool nights of the establishment from `from` to `to`.
    pub async fn pool(&self, from: &str, to: &str) -> Vec<(String, chrono::NaiveDate, PoolNight)> {
        pool_nights(&self.ctx.store, "acme", self.est, from, to).await
    }

    /// `field` of each pool night of `unit` from `from` to `to`.
    pub async fn per_night(
        &self,
        unit: &str,
        from: &str,
        to: &str,
        field: fn(&PoolNight) -> i64,
    ) -> Vec<i64> {
        let nights = self.pool(from, to).await;
        nights
            .iter()
            .filter(|(u, _, _)| u == unit)
            .map(|(_, _, n)| field(n))
            .collect()
    }

    /// Every history entry of the allotment `id`, newest first.
    pub async fn history(&self, id: &str) -> Vec<shared::domain::allotment::AllocationEntry> {
        let id = id.parse().expect("a UUID");
        crate::allocation_history(&self.ctx.store, &tenant("acme"), id)
            .await
            .expect("read")
    }

    /// The allotment `id` as stored.
    pub async fn stored(
        &self,
        id: &str,
    ) -> (
        shared::domain::allotment::AllotmentRecord,
        shared::domain::allotment::Grid,
    ) {
        let id = id.parse().expect("a UUID");
        self.ctx
            .store
            .require_allotment(&tenant("acme"), id)
            .await
            .expect("read")
    }
}
