//! Test helpers: a fresh table on DynamoDB Local per test, keys, requests.
//!
//! `DYNAMODB_ENDPOINT` must point at a running DynamoDB Local (`make test` starts
//! one). Tests fail, never skip, when it is missing.

pub mod spec;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::domain::auth::Scope;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;
use crate::http::Ctx;
use crate::store::Store;

pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with `make test` (it starts DynamoDB Local)")
}

/// A store on a new table with a random name, created from the template.
pub async fn store() -> Store {
    let table = format!("test-{}", Uuid::new_v4().simple());
    let store = Store::local(&endpoint(), &table);
    store.ensure_table().await.expect("create test table");
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
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        *self.0.lock().unwrap().entry(op).or_default() += 1;
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
    let ctx = Ctx::with_now(Store::new(client, plain.table()), now());
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

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
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

/// A request built from a sample event of `events/` (the same file
/// `cargo lambda invoke --data-file` uses), adjusted per test.
pub struct TestRequest {
    req: lambda_http::Request,
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: serde_json::Value,
    pub raw: String,
}

impl TestResponse {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &serde_json::Value {
        &self.body["data"]
    }

    /// The `field` of every `details` entry.
    pub fn fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the status and the error envelope of API.md.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.raw);
        assert_eq!(self.code(), code, "body: {}", self.raw);
        assert_eq!(self.body["status"], status);
        let trace = self.headers["x-trace-id"].to_str().unwrap();
        assert_eq!(self.body["traceId"], trace);
        assert_eq!(self.body["origin"]["boundedContext"], "allotments");
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

impl TestRequest {
    /// Loads `events/<name>.json`.
    pub fn event(name: &str) -> Self {
        let path = events_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
        TestRequest { req }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.req
            .headers_mut()
            .insert(name, http::HeaderValue::from_str(value).unwrap());
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.req.headers_mut().remove(name);
        self
    }

    pub fn key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    pub fn path_param(self, name: &str, value: &str) -> Self {
        use lambda_http::RequestExt;
        let mut params: std::collections::HashMap<String, String> = self
            .req
            .path_parameters()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.insert(name.to_string(), value.to_string());
        TestRequest {
            req: self.req.with_path_parameters(params),
        }
    }

    pub fn establishment(self, id: Uuid) -> Self {
        self.path_param("establishmentId", &id.to_string())
    }

    pub fn query(self, pairs: &[(&str, &str)]) -> Self {
        use lambda_http::RequestExt;
        let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (k, v) in pairs {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        TestRequest {
            req: self.req.with_query_string_parameters(map),
        }
    }

    pub fn json(self, body: serde_json::Value) -> Self {
        self.raw_body(body.to_string().into_bytes(), Some("application/json"))
    }

    pub fn raw_body(mut self, body: Vec<u8>, content_type: Option<&str>) -> Self {
        match content_type {
            Some(ct) => {
                self = self.header("content-type", ct);
            }
            None => {
                self = self.without_header("content-type");
            }
        }
        *self.req.body_mut() = if body.is_empty() {
            lambda_http::Body::Empty
        } else {
            lambda_http::Body::Binary(body)
        };
        self
    }

    /// The request as built, for a caller that dispatches it itself (the benchmark).
    pub fn into_request(self) -> lambda_http::Request {
        self.req
    }

    /// The route key of the sample event (`POST /v1/allotments`, `$default`).
    fn route_key(&self) -> Option<String> {
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        match self.req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => c.route_key.clone(),
            _ => None,
        }
    }

    /// Runs the request through `function` (as Lambda would) and checks the response
    /// against the OpenAPI document: a declared status and a body of its schema.
    pub async fn send(self, function: &crate::http::Function, ctx: &Ctx) -> TestResponse {
        let route = self.route_key().expect("sample events carry a routeKey");
        let resp = crate::http::dispatch(function, ctx, self.req).await;
        let (parts, body) = resp.into_parts();
        let raw = String::from_utf8(body.to_vec()).expect("utf-8 body");
        let body = if raw.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&raw).expect("JSON body")
        };
        assert!(
            parts.headers.contains_key("x-trace-id"),
            "every response has X-Trace-Id"
        );
        spec::assert_response(&route, parts.status.as_u16(), &raw);
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            raw,
        }
    }
}

/// Creates an establishment (Europe/Paris) directly in the store; returns its id.
pub async fn establishment(store: &Store, tenant_name: &str) -> Uuid {
    let id = Uuid::new_v4();
    let input = crate::domain::establishment::EstablishmentInput {
        name: "Hôtel du Port".into(),
        time_zone: chrono_tz::Europe::Paris,
    };
    put_establishment(store, &tenant(tenant_name), id, &input).await;
    id
}

/// Creates (or updates) an establishment directly in the store.
pub async fn put_establishment(
    store: &Store,
    t: &TenantId,
    id: Uuid,
    input: &crate::domain::establishment::EstablishmentInput,
) {
    let current = store.load_establishment(t, id).await.expect("read");
    let planned = crate::domain::establishment::plan_put(id, current.as_ref(), input, now())
        .expect("plan establishment");
    let applied = store.apply(t, &planned.plan).await.expect("apply");
    assert_eq!(
        applied,
        crate::store::Applied::Done,
        "establishment written"
    );
}

/// Sets the capacity of a unit type over a range as `PUT .../inventory` would: the
/// pool read, the domain plan, one transaction (planned again if the pool moved).
pub async fn set_capacity(
    store: &Store,
    t: &TenantId,
    est: Uuid,
    change: &crate::domain::inventory::InventoryChange,
) -> Result<(), ApiError> {
    let months: Vec<_> = change
        .range
        .by_month()
        .into_iter()
        .map(|(m, _)| (change.unit_type_id.clone(), m))
        .collect();
    for _ in 0..20 {
        let view = store.read_pool_view(t, est, &months).await?;
        let plan = crate::domain::inventory::plan_capacity(est, change, Some(&view))?;
        if store.apply(t, &plan).await? == crate::store::Applied::Done {
            return Ok(());
        }
    }
    Err(ApiError::Unavailable("set_capacity: contention".into()))
}

/// Takes (positive) or returns (negative) pool rooms, all or nothing, as an allotment
/// would: `INSUFFICIENT_CAPACITY` lists every short night.
pub async fn hold(
    store: &Store,
    t: &TenantId,
    est: Uuid,
    holds: &[crate::domain::inventory::NightHold],
) -> Result<(), ApiError> {
    let mut months: Vec<_> = holds
        .iter()
        .map(|h| {
            (
                h.unit_type_id.clone(),
                crate::domain::dates::Month::of(h.date),
            )
        })
        .collect();
    months.dedup();
    let mut pool = None;
    for _ in 0..20 {
        let plan = crate::domain::inventory::plan_holds(est, holds, pool.as_ref())?;
        if store.apply(t, &plan).await? == crate::store::Applied::Done {
            return Ok(());
        }
        pool = Some(store.read_pool_view(t, est, &months).await?);
    }
    Err(ApiError::Unavailable("hold: contention".into()))
}

/// Marks an establishment as holding active allotments or groups, so that its
/// time zone may no longer change.
pub async fn set_active_holds(store: &Store, tenant_name: &str, est: Uuid, holds: i64) {
    let key = crate::store::keys::establishment(&tenant(tenant_name), est);
    set_counter(store, key, "activeHolds", holds).await;
}

/// Writes a lock of the earlier, lock-based idempotency design that never completed
/// (its request died): `state = pending` under the key.
pub async fn put_pending_idempotency_lock(store: &Store, tenant_name: &str, key: &str, fp: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let digest = crate::domain::idempotency::key_digest(key);
    let at = now().timestamp();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item(
            crate::store::keys::PK,
            AttributeValue::S(format!("T#{tenant_name}#IDEM#{digest}")),
        )
        .item(crate::store::keys::SK, AttributeValue::S("IDEM".into()))
        .item("fp", AttributeValue::S(fp.into()))
        .item("state", AttributeValue::S("pending".into()))
        .item("owner", AttributeValue::S("gone".into()))
        .item("createdAt", AttributeValue::N(at.to_string()))
        .item("lockUntil", AttributeValue::N((at + 60).to_string()))
        .send()
        .await
        .expect("put a pending lock");
}

/// A context whose store cannot be reached (nothing listens on the port).
pub fn unreachable_ctx() -> Ctx {
    Ctx::with_now(Store::local("http://127.0.0.1:9", "unreachable"), now())
}

pub fn date(s: &str) -> chrono::NaiveDate {
    crate::domain::dates::parse_date(s).expect("valid date")
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
    let change = crate::domain::inventory::InventoryChange {
        unit_type_id: crate::domain::ids::UnitTypeId::parse(unit).unwrap(),
        range: crate::domain::dates::NightRange::new(date(from), date(to), 731).unwrap(),
        capacity,
    };
    set_capacity(store, &tenant(tenant_name), est, &change)
        .await
        .expect("set inventory");
}

/// Every pool night of an establishment in a range: `(unit type, date, night)`.
pub async fn pool_nights(
    store: &Store,
    tenant_name: &str,
    est: Uuid,
    from: &str,
    to: &str,
) -> Vec<(
    String,
    chrono::NaiveDate,
    crate::domain::inventory::PoolNight,
)> {
    let range = crate::domain::dates::NightRange::new(date(from), date(to), 3000).unwrap();
    store
        .read_pool(&tenant(tenant_name), est, None, &range)
        .await
        .expect("read pool")
        .into_iter()
        .map(|(u, d, n)| (u.to_string(), d, n))
        .collect()
}

/// A valid creation body (the example of API.md) for an establishment.
pub fn allotment_body(est: Uuid) -> serde_json::Value {
    serde_json::json!({
        "establishmentId": est.to_string(),
        "ratePlanId": "2489e9ad-2ee2-8e00-8ec9-32d5f69181c1",
        "channelType": "to",
        "channelExternalId": "TUI-2026-SEPT",
        "allotmentType": "allotment",
        "currency": "EUR",
        "periodFrom": "2026-09-01",
        "periodTo": "2026-09-07",
        "unitAllocations": [{"unitTypeId": "dbl", "quantity": 10}],
        "cutoffDate": "2026-08-01",
        "releaseDays": 7,
        "minimumPickupPercent": 70,
        "penaltyPerRoomNightCents": "5000",
        "complimentaryRooms": 1,
        "contractualHeadcount": 20,
        "invoicingMode": "master_single",
        "billingFolioId": null
    })
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

async fn set_counter(store: &Store, (pk, sk): (String, String), name: &str, n: i64) {
    use aws_sdk_dynamodb::types::AttributeValue;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key(crate::store::keys::PK, AttributeValue::S(pk))
        .key(crate::store::keys::SK, AttributeValue::S(sk))
        .update_expression("SET #c = :n")
        .expression_attribute_names("#c", name)
        .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
        .send()
        .await
        .expect("set counter");
}

/// A pickup body.
pub fn pickup_body(unit: &str, arrival: &str, departure: &str, quantity: i64) -> serde_json::Value {
    serde_json::json!({"unitTypeId": unit, "arrival": arrival, "departure": departure, "quantity": quantity,
                       "reservationRef": "PMS-1", "guestName": "Guest One"})
}

/// Checks every invariant of API.md on the nights `from..=to` of an establishment:
/// pool `allotted` = Σ allocated of its allotments + Σ shared of its groups; pool
/// `pickedUp` = Σ pickedUp of the grids; each grid night's `pickedUp` = Σ its active
/// pickups; `activePickups` = the active pickups; a group's `used` = what active
/// pickups drew, `activeDraws` = those pickups; released nights keep only their own
/// picked-up rooms; cancelled allotments hold nothing; every pool night consistent.
pub async fn check_invariants(
    store: &Store,
    tenant_name: &str,
    est: Uuid,
    group: Option<Uuid>,
    from: &str,
    to: &str,
) {
    use crate::domain::allotment::Status;
    use crate::domain::pickup::PickupStatus;
    use std::collections::BTreeMap;
    let t = tenant(tenant_name);
    let range = crate::domain::dates::NightRange::new(date(from), date(to), 800).unwrap();
    let pool = store.read_pool(&t, est, None, &range).await.unwrap();
    let (records, next) = store
        .list_allotments(
            &t,
            est,
            &crate::store::AllotmentFilter::default(),
            1000,
            None,
        )
        .await
        .unwrap();
    assert!(next.is_none());
    let mut held: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    let mut picked: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    // The group's rooms count in the pool; its `used` is what active pickups drew.
    let g = match group {
        Some(group) => Some(store.require_group(&t, group).await.unwrap()),
        None => None,
    };
    let mut drawn: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
    for ((ut, d), n) in g.iter().flat_map(|g| g.grid.iter()) {
        assert!(0 <= n.used && n.used <= n.shared, "group {ut} {d}: {n:?}");
        *held.entry((ut.to_string(), *d)).or_default() += n.shared;
    }
    let mut draws_active = 0;
    for r in &records {
        let (record, grid) = store.require_allotment(&t, r.allotment_id).await.unwrap();
        // 3. the active pickups add up to `pickedUp`, night by night.
        let (pickups, more) = store
            .list_pickups(&t, r.allotment_id, 10_000, None)
            .await
            .unwrap();
        assert!(more.is_none());
        let mut from_pickups: BTreeMap<(String, chrono::NaiveDate), i64> = BTreeMap::new();
        let mut active = 0;
        for p in pickups.iter().filter(|p| p.status == PickupStatus::Active) {
            active += 1;
            if p.capacity_group_id.is_some() && p.capacity_group_id == group {
                draws_active += 1;
                for draw in &p.from_group {
                    *drawn
                        .entry((p.unit_type_id.clone(), draw.date))
                        .or_default() += draw.quantity;
                }
            }
            for d in p.nights().unwrap().iter() {
                *from_pickups.entry((p.unit_type_id.clone(), d)).or_default() += p.quantity;
            }
        }
        assert_eq!(record.active_pickups, active, "{}", record.allotment_id);
        for ((ut, d), n) in &grid {
            let want = from_pickups
                .get(&(ut.to_string(), *d))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                n.picked_up, want,
                "{} {ut} {d}: pickedUp = sum of active pickups",
                record.allotment_id
            );
            *picked.entry((ut.to_string(), *d)).or_default() += n.picked_up;
        }
        for ((ut, d), n) in &grid {
            assert!(
                0 <= n.picked_up && n.own_picked_up() <= n.allocated && n.from_group <= n.picked_up,
                "{} {ut} {d}: {n:?}",
                record.allotment_id
            );
            if record.status == Status::Cancelled {
                assert_eq!(n.allocated, 0, "a cancelled allotment holds nothing");
            } else {
                *held.entry((ut.to_string(), *d)).or_default() += n.allocated;
            }
            if record.is_night_released(*d) {
                assert_eq!(
                    n.allocated,
                    n.own_picked_up(),
                    "a released night keeps only its own picked-up rooms"
                );
            }
        }
    }
    if let Some(g) = &g {
        assert_eq!(
            g.active_draws, draws_active,
            "activeDraws = pickups drawing on the group"
        );
    }
    for ((ut, d), n) in g.iter().flat_map(|g| g.grid.iter()) {
        let want = drawn.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.used, want,
            "group {ut} {d}: used = what active pickups drew"
        );
    }
    for (ut, d, n) in &pool {
        assert!(n.is_consistent(), "{ut} {d}: {n:?}");
        let expect = held.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.allotted, expect,
            "{ut} {d}: pool.allotted = sum of holdings"
        );
        let expect = picked.get(&(ut.to_string(), *d)).copied().unwrap_or(0);
        assert_eq!(
            n.picked_up, expect,
            "{ut} {d}: pool.pickedUp = sum of pickups"
        );
    }
    for ((ut, d), q) in &held {
        if *q > 0 {
            assert!(
                pool.iter().any(|(u, pd, _)| u.as_str() == ut && pd == d),
                "{ut} {d} held outside the pool"
            );
        }
    }
}
