//! `GET /v1/allotments/{allotmentId}`: the representation with `cutoff`, `totals`
//! and an `ETag`.

use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "get-allotment",
    access: Access::Read,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let (record, grid) = req.allotment(&ctx).await?;
    Ok(ApiResponse::ok(record.representation(&grid))?.with_header("ETag", record.etag()))
}

#[cfg(test)]
mod tests;
