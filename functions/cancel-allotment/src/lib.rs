//! `POST /v1/allotments/{allotmentId}/cancel`: every held room back to the pool.
//! Refused while pickups are active; a no-op on a cancelled allotment.

use shared::domain::allotment::{parse_reason, Status};
use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "cancel-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    // The reason is validated; cancellation keeps no history entry to put it in.
    parse_reason(&req.optional_json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let (record, grid) = req.allotment(&ctx).await?;
        match record.status {
            Status::Cancelled => return ApiResponse::ok(record.view(&grid)),
            Status::Released => {
                return Err(ApiError::InvalidState(
                    "Cannot cancel a released allotment".into(),
                ))
            }
            Status::Active => {}
        }
        if record.active_pickups > 0 {
            return Err(ApiError::AllotmentHasPickups);
        }
        if ctx
            .store
            .cancel_allotment(&tenant, &record, &grid, ctx.now_seconds())
            .await?
        {
            let (record, grid) = req.allotment(&ctx).await?;
            return Ok(ApiResponse::ok(record.view(&grid))?.with_header("ETag", record.etag()));
        }
    }
    Err(ApiError::Unavailable("cancel-allotment: contention".into()))
}

#[cfg(test)]
mod tests;
