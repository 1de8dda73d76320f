//! `POST /v1/allotments/{allotmentId}/confirm`: a tentative option becomes a
//! contractual allotment (penalty terms required).

use shared::domain::allotment::{parse_confirm, plan_confirm};
use shared::http::{ApiRequest, ApiResult, Ctx};

shared::function!("confirm-allotment", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let penalty = parse_confirm(&req.optional_json_object()?)?;
    req.change_allotment(&ctx, |record, grid, _| {
        plan_confirm(record, grid, penalty, ctx.now_seconds()).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests;
