//! `POST /v1/allotments/{allotmentId}/release`: releases every unpicked room of every
//! unreleased night now (a manual early cutoff). Idempotent once released.

use shared::domain::allotment::{parse_reason, ReleaseReason, Status};
use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "release-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let reason = ReleaseReason::Manual(parse_reason(&req.optional_json_object()?)?);
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let (record, grid) = req.allotment(&ctx).await?;
        match record.status {
            Status::Released => return ApiResponse::ok(record.view(&grid)),
            Status::Cancelled => {
                return Err(ApiError::InvalidState(
                    "Cannot release a cancelled allotment".into(),
                ))
            }
            Status::Active => {}
        }
        let now = ctx.now_seconds();
        if ctx
            .store
            .release_allotment(&tenant, &record, &grid, record.period_to, &reason, now)
            .await?
        {
            let (record, grid) = req.allotment(&ctx).await?;
            return Ok(ApiResponse::ok(record.view(&grid))?.with_header("ETag", record.etag()));
        }
    }
    Err(ApiError::Unavailable(
        "release-allotment: contention".into(),
    ))
}

#[cfg(test)]
mod tests;
