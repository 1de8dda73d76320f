//! `POST /v1/allotments/{allotmentId}/allocations`: sets the quantity of one unit
//! type over some nights, taking rooms from or returning them to the pool in the same
//! transaction, and records an immutable history entry.

use shared::domain::allotment::{plan_allocation, AllocationChange};
use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "create-allocation",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let change = AllocationChange::parse(&req.json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let (record, grid) = req.allotment(&ctx).await?;
        let plan = plan_allocation(&record, &grid, &change, ctx.now_seconds())?;
        if ctx
            .store
            .change_allocation(
                &tenant,
                &record,
                &grid,
                &change.unit_type_id,
                &plan,
                ctx.now_seconds(),
            )
            .await?
        {
            return ApiResponse::created(&plan.entry);
        }
    }
    Err(ApiError::Unavailable(
        "create-allocation: contention".into(),
    ))
}

#[cfg(test)]
mod tests;
