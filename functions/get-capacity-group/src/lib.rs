//! `GET /v1/capacity-groups/{capacityGroupId}`: the group with its members and usage.

use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-capacity-group", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let g = req.capacity_group(&ctx).await?;
    Ok(ApiResponse::ok(g.record.view(&g.grid))?.with_header("ETag", g.record.etag()))
}
