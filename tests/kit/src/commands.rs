//! Typed helpers that build a test's state as a client would, without its function
//! crate: each parses the body the endpoint takes, then runs the domain plan through
//! `shared::command::execute` (load → plan → `Store::apply`, planned again after a
//! refusal). Each panics unless the command succeeds and returns the representation
//! the endpoint answers, as JSON.

use std::future::Future;
use std::marker::PhantomData;

use serde::Serialize;
use serde_json::{Map, Value};
use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{
    creation_months, peek_establishment_id, plan_allocation, plan_cancel, plan_create,
    plan_manual_release, plan_patch, AllocationChange, AllotmentPlan, AllotmentRecord,
    CreationDetails, Grid, NewAllotment,
};
use shared::domain::auth::Principal;
use shared::domain::dates::Month;
use shared::domain::error::ApiError;
use shared::domain::group::{plan_group_creation, GroupDetails, NewGroup};
use shared::domain::ids::{TenantId, UnitTypeId};
use shared::domain::inventory::{plan_capacity, InventoryChange};
use shared::domain::pickup::{
    plan_pickup, plan_pickup_cancel, NewPickup, PickupState, PickupStatus,
};
use shared::http::Ctx;
use shared::store::Store;
use uuid::Uuid;

/// A command of the kit: `load` reads on each attempt, `plan` decides on what it read.
pub struct Steps<S, O, L, P> {
    tenant: TenantId,
    load: L,
    plan: P,
    types: PhantomData<fn() -> (S, O)>,
}

impl<S, O, L, F, P> Command for Steps<S, O, L, P>
where
    S: Send,
    O: Send,
    L: Fn(Attempt) -> F + Sync,
    F: Future<Output = Result<S, ApiError>> + Send,
    P: Fn(S) -> Result<Decision<O>, ApiError> + Sync,
{
    type State = S;
    type Output = O;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn load(&self, attempt: Attempt) -> impl Future<Output = Result<S, ApiError>> + Send {
        (self.load)(attempt)
    }

    fn plan(&self, state: S) -> Result<Decision<O>, ApiError> {
        (self.plan)(state)
    }
}

/// Runs `load` → `plan` → `Store::apply` for `tenant` until it commits.
pub async fn run<S, O, L, P>(
    store: &Store,
    tenant: &TenantId,
    load: L,
    plan: P,
) -> Result<O, ApiError>
where
    Steps<S, O, L, P>: Command<Output = O>,
{
    let steps = Steps {
        tenant: tenant.clone(),
        load,
        plan,
        types: PhantomData,
    };
    execute(store, &steps).await
}

/// A value as the JSON a response carries.
pub fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("serialisable")
}

fn object(body: &Value) -> Map<String, Value> {
    body.as_object().cloned().expect("a JSON object body")
}

fn id(text: &str) -> Uuid {
    text.parse().expect("a UUID")
}

fn done<T>(what: &str, result: Result<T, ApiError>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

/// The principal of a key (panics unless it authenticates).
pub async fn principal(ctx: &Ctx, key: &str) -> Principal {
    done("authenticate", ctx.store.authenticate(key).await)
}

/// The allotment `id` as its endpoints read it: this tenant's, in the key's scope.
async fn read_allotment(
    store: &Store,
    p: &Principal,
    id: Uuid,
) -> Result<(AllotmentRecord, Grid), ApiError> {
    let (record, grid) = store.require_allotment(&p.tenant, id).await?;
    p.check_establishment(record.establishment_id)?;
    Ok((record, grid))
}

/// Sets the capacity of a unit type over a range as `PUT .../inventory` does: the
/// pool read, the domain plan, one transaction.
pub async fn set_capacity(
    store: &Store,
    t: &TenantId,
    est: Uuid,
    change: &InventoryChange,
) -> Result<(), ApiError> {
    let months: Vec<_> = change
        .range
        .by_month()
        .into_iter()
        .map(|(m, _)| (change.unit_type_id.clone(), m))
        .collect();
    let months = &months;
    run(
        store,
        t,
        |_| async move {
            let version = match store.load_establishment(t, est).await? {
                Some(e) => e.version,
                None => return Err(ApiError::NotFound("No such establishment".into())),
            };
            Ok((version, store.read_pool_view(t, est, months).await?))
        },
        |(version, view)| {
            Ok(Decision::Apply(
                plan_capacity(est, version, change, Some(&view), crate::now())?,
                (),
            ))
        },
    )
    .await
}

/// Creates an allotment as `POST /v1/allotments` does; its representation.
pub async fn create_allotment(ctx: &Ctx, key: &str, body: Value) -> Value {
    let p = principal(ctx, key).await;
    let obj = object(&body);
    let est = peek_establishment_id(&obj).expect("an establishmentId");
    done("establishment scope", p.check_establishment(est));
    let establishment = done("read", ctx.store.get_establishment(&p.tenant, est).await)
        .expect("the establishment exists");
    let now = ctx.now_seconds();
    let today = now.with_timezone(&establishment.time_zone).date_naive();
    let new = done("the body", NewAllotment::parse(&obj, Some(today)));
    let (store, tenant, new) = (&ctx.store, &p.tenant, &new);
    let allotment_id = Uuid::new_v4();
    let (record, grid) = done(
        "create the allotment",
        run(
            store,
            tenant,
            |attempt: Attempt| async move {
                if !attempt.after_refusal {
                    return Ok(None);
                }
                let pool = store
                    .read_pool_view(tenant, est, &creation_months(new))
                    .await?;
                let establishment_exists = store.get_establishment(tenant, est).await?.is_some();
                Ok(Some(CreationDetails {
                    pool,
                    establishment_exists,
                }))
            },
            |details| {
                let zone = establishment.time_zone;
                let p = plan_create(new, allotment_id, zone, now, details.as_ref())?;
                Ok(Decision::Apply(p.plan, (p.record, p.grid)))
            },
        )
        .await,
    );
    json(record.representation(&grid))
}

/// Runs `plan` on the allotment `id` as its endpoints do (`None`: nothing to write);
/// the representation it leaves.
pub async fn change_allotment<F>(ctx: &Ctx, key: &str, allotment: &str, plan: F) -> Value
where
    F: Fn(&AllotmentRecord, &Grid, Attempt) -> Result<Option<AllotmentPlan>, ApiError> + Sync,
{
    let p = &principal(ctx, key).await;
    let (store, allotment) = (&ctx.store, id(allotment));
    let (record, grid) =
        done(
            "change the allotment",
            run(
                store,
                &p.tenant,
                |attempt: Attempt| async move {
                    Ok((read_allotment(store, p, allotment).await?, attempt))
                },
                |((record, grid), attempt)| {
                    Ok(match plan(&record, &grid, attempt)? {
                        Some(p) => Decision::Apply(p.plan, (p.record, p.grid)),
                        None => Decision::Answer((record, grid)),
                    })
                },
            )
            .await,
        );
    json(record.representation(&grid))
}

/// Releases every unreleased night now, as `POST .../release` does.
pub async fn release(ctx: &Ctx, key: &str, allotment: &str, reason: Option<&str>) -> Value {
    let reason = reason.map(str::to_string);
    change_allotment(ctx, key, allotment, |record, grid, _| {
        plan_manual_release(record, grid, reason.clone(), ctx.now_seconds())
    })
    .await
}

/// Cancels the allotment, as `POST .../cancel` does.
pub async fn cancel(ctx: &Ctx, key: &str, allotment: &str) -> Value {
    change_allotment(ctx, key, allotment, |record, grid, _| {
        plan_cancel(record, grid, ctx.now_seconds())
    })
    .await
}

/// A merge patch of the terms without `If-Match`, as `PATCH /v1/allotments/{id}` does.
pub async fn patch(ctx: &Ctx, key: &str, allotment: &str, body: Value) -> Value {
    let body = object(&body);
    change_allotment(ctx, key, allotment, |record, grid, attempt| {
        let (refused, now) = (attempt.after_refusal, ctx.now_seconds());
        plan_patch(record, grid, &body, None, refused, now).map(Some)
    })
    .await
}

/// An allocation change, as `POST .../allocations` does; its history entry.
pub async fn allocation(ctx: &Ctx, key: &str, allotment: &str, body: Value) -> Value {
    let p = &principal(ctx, key).await;
    let change = &done("the body", AllocationChange::parse(&object(&body)));
    let (store, allotment) = (&ctx.store, id(allotment));
    let entry = run(
        store,
        &p.tenant,
        |attempt: Attempt| async move {
            let (record, grid) = read_allotment(store, p, allotment).await?;
            let mut pool = None;
            if attempt.after_refusal {
                let unit = &change.unit_type_id;
                let months = Month::range(record.period_from, record.period_to)
                    .map(|m| (unit.clone(), m))
                    .collect::<Vec<(UnitTypeId, Month)>>();
                let view = store.read_pool_view(&p.tenant, record.establishment_id, &months);
                pool = Some(view.await?);
            }
            Ok((record, grid, pool))
        },
        |(record, grid, pool)| {
            let planned =
                plan_allocation(&record, &grid, change, pool.as_ref(), ctx.now_seconds())?;
            Ok(Decision::Apply(planned.plan, planned.entry))
        },
    )
    .await;
    json(done("change the allocation", entry))
}

/// A pickup, as `POST .../pickups` does (from the allotment read, drawing on its
/// group when its own rooms run short); its representation.
pub async fn pickup(ctx: &Ctx, key: &str, allotment: &str, body: Value) -> Value {
    let p = &principal(ctx, key).await;
    let new = &done("the body", NewPickup::parse(&object(&body)));
    let (store, allotment, pickup_id) = (&ctx.store, id(allotment), Uuid::now_v7());
    let view = run(
        store,
        &p.tenant,
        |_| async move {
            let (record, grid) = read_allotment(store, p, allotment).await?;
            let group = match record.group_id {
                Some(g) => store.load_group(&p.tenant, g).await?.map(Box::new),
                None => None,
            };
            let record = Box::new(record);
            Ok(PickupState::Loaded {
                record,
                grid,
                group,
            })
        },
        |state| {
            let planned = plan_pickup(new, allotment, pickup_id, &state, ctx.now_seconds())?;
            Ok(Decision::Apply(planned.plan, planned.pickup.view()))
        },
    )
    .await;
    json(done("take the pickup", view))
}

/// Cancels a pickup, as `POST .../pickups/{id}/cancel` does; its representation.
pub async fn cancel_pickup(ctx: &Ctx, key: &str, allotment: &str, pickup: &str) -> Value {
    let p = &principal(ctx, key).await;
    let (store, allotment, pickup) = (&ctx.store, id(allotment), id(pickup));
    let view = run(
        store,
        &p.tenant,
        |_| async move {
            let (record, _) = read_allotment(store, p, allotment).await?;
            let found = store.get_pickup(&p.tenant, allotment, pickup).await?;
            let found = found.ok_or_else(|| ApiError::NotFound("No such pickup".into()))?;
            let mut group = None;
            if let (Some(g), PickupStatus::Active) = (found.capacity_group_id, found.status) {
                group = store.load_group(&p.tenant, g).await?.map(|g| g.record);
            }
            Ok((record, found, group))
        },
        |(record, found, group)| {
            let planned = plan_pickup_cancel(&record, &found, group.as_ref(), ctx.now_seconds())?;
            let view = planned.pickup.view();
            Ok(match planned.plan.is_empty() {
                true => Decision::Answer(view),
                false => Decision::Apply(planned.plan, view),
            })
        },
    )
    .await;
    json(done("cancel the pickup", view))
}

/// A capacity group, as `POST /v1/capacity-groups` does; its representation.
pub async fn group(ctx: &Ctx, key: &str, body: Value) -> Value {
    let p = &principal(ctx, key).await;
    let obj = object(&body);
    let est = obj
        .get("establishmentId")
        .and_then(|v| v.as_str())
        .map(id)
        .expect("an establishmentId");
    done("establishment scope", p.check_establishment(est));
    let establishment = done("read", ctx.store.get_establishment(&p.tenant, est).await)
        .expect("the establishment exists");
    let now = ctx.now_seconds();
    let today = now.with_timezone(&establishment.time_zone).date_naive();
    let new = &done("the body", NewGroup::parse(&obj, Some(today)));
    let (store, group_id) = (&ctx.store, Uuid::new_v4());
    let group = run(
        store,
        &p.tenant,
        |attempt: Attempt| async move {
            let candidates = store.load_candidates(&p.tenant, &new.allotment_ids).await?;
            if !attempt.after_refusal {
                return Ok((candidates, None));
            }
            let name_holder = store.group_name_holder(&p.tenant, est, &new.name).await?;
            let months: Vec<_> = new
                .unit_allocations
                .iter()
                .flat_map(|(ut, _)| {
                    Month::range(new.period.from(), new.period.to()).map(|m| (ut.clone(), m))
                })
                .collect();
            let pool = store.read_pool_view(&p.tenant, est, &months).await?;
            Ok((candidates, Some(GroupDetails { name_holder, pool })))
        },
        |(candidates, details)| {
            let zone = establishment.time_zone;
            let planned =
                plan_group_creation(new, group_id, zone, &candidates, details.as_ref(), now)?;
            Ok(Decision::Apply(planned.plan, planned.group))
        },
    )
    .await;
    let group = done("create the group", group);
    json(group.record.view(&group.grid))
}

/// The settlement of an allotment, as `GET .../settlement` answers it.
pub async fn settlement(ctx: &Ctx, key: &str, allotment: &str) -> Value {
    let p = principal(ctx, key).await;
    let (record, grid) = done("read", read_allotment(&ctx.store, &p, id(allotment)).await);
    json(shared::domain::settlement::settle(&record, &grid))
}
