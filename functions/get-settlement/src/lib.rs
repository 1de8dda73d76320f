//! `GET /v1/allotments/{allotmentId}/settlement`: attrition, exact; `final` once
//! the allotment is released, a projection from today's pickups before.

use shared::domain::settlement::settle;
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-settlement", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let (record, grid) = req.allotment(&ctx).await?;
    ApiResponse::ok(settle(&record, &grid))
}

#[cfg(test)]
mod tests;
