//! `POST /v1/allotments`: creates an allotment, takes its rooms from the pool for
//! every night and unit type (all or nothing) and arms its cutoff.

use shared::domain::allotment::{
    initial_grid, peek_establishment_id, AllotmentRecord, NewAllotment,
};
use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};
use shared::store::initial_entries;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "create-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    let principal = req.principal()?;
    let tenant = &principal.tenant;
    // The establishment decides "today" for the cutoff rule.
    let establishment = match peek_establishment_id(&obj) {
        Some(id) => {
            principal.check_establishment(id)?;
            ctx.store.get_establishment(tenant, id).await?
        }
        None => None,
    };
    let now = ctx.now_seconds();
    let today = establishment
        .as_ref()
        .map(|e| now.with_timezone(&e.time_zone).date_naive());
    let new = NewAllotment::parse(&obj, today)?;
    let establishment =
        establishment.ok_or_else(|| ApiError::NotFound("No such establishment".into()))?;

    let record = AllotmentRecord::create(&new, Uuid::new_v4(), establishment.time_zone, now);
    let grid = initial_grid(&new.period, &new.unit_allocations);
    let entries = initial_entries(&record, &grid);
    ctx.store
        .create_allotment(tenant, &record, &grid, &entries)
        .await?;
    Ok(ApiResponse::created(record.view(&grid))?
        .with_header(
            "Location",
            format!("/v1/allotments/{}", record.allotment_id),
        )
        .with_header("ETag", record.etag()))
}

#[cfg(test)]
mod tests;

/// Creates an allotment through this handler (as a client would) and returns its
/// representation; panics unless `201`. For other functions' tests.
#[cfg(feature = "test-util")]
pub async fn created(ctx: &Ctx, key: &str, body: serde_json::Value) -> serde_json::Value {
    let r = shared::testing::TestRequest::event("create-allotment")
        .json(body)
        .key(key)
        .send(&FUNCTION, ctx)
        .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    r.data().clone()
}
