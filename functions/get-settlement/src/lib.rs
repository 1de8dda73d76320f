//! `GET /v1/allotments/{allotmentId}/settlement`: attrition, exact; `final` once
//! the allotment is released, a projection from today's pickups before.

use shared::domain::settlement::settle;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "get-settlement",
    access: Access::Read,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let (record, grid) = req.allotment(&ctx).await?;
    ApiResponse::ok(settle(&record, &grid))
}

#[cfg(test)]
mod tests;
