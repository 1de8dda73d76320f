//! `DELETE /v1/capacity-groups/{capacityGroupId}`: unused rooms back to the pool;
//! refused while pickups draw on the group.

use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "delete-capacity-group",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let g = req.capacity_group(&ctx).await?;
        if g.active_draws > 0 {
            return Err(ApiError::AllotmentHasPickups);
        }
        if ctx.store.delete_group(&tenant, &g).await? {
            return Ok(ApiResponse::no_content());
        }
    }
    Err(ApiError::Unavailable(
        "delete-capacity-group: contention".into(),
    ))
}

#[cfg(test)]
mod tests;
