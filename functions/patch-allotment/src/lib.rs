//! `PATCH /v1/allotments/{allotmentId}`: a JSON merge patch of the commercial
//! terms, with `If-Match` (a stale version is `412` and changes nothing).

use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "patch-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    req.path_uuid("allotmentId")?;
    let if_match = req.if_match()?;
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let (record, grid) = req.allotment(&ctx).await?;
        record.require_active("change")?;
        // The patch is checked first: an invalid body is a 400 whatever the version.
        let next = record.patched(&obj, ctx.now_seconds())?;
        if let Some(expected) = if_match {
            if expected != record.version {
                return Err(ApiError::PreconditionFailed);
            }
        }
        if ctx
            .store
            .replace_allotment_header(&tenant, &next, record.version)
            .await?
        {
            return Ok(ApiResponse::ok(next.view(&grid))?.with_header("ETag", next.etag()));
        }
        if if_match.is_some() {
            return Err(ApiError::PreconditionFailed);
        }
    }
    Err(ApiError::Unavailable("patch-allotment: contention".into()))
}

#[cfg(test)]
mod tests;
