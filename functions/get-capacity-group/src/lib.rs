//! `GET /v1/capacity-groups/{capacityGroupId}`: the group with its members and usage.

use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "get-capacity-group",
    access: Access::Read,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let g = req.capacity_group(&ctx).await?;
    Ok(ApiResponse::ok(g.record.view(&g.grid))?.with_header("ETag", g.record.etag()))
}
