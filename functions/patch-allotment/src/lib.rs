//! `PATCH /v1/allotments/{allotmentId}`: a JSON merge patch of the commercial
//! terms, with `If-Match` (a stale version is `412` and changes nothing).

use shared::domain::allotment::plan_patch;
use shared::http::{ApiRequest, ApiResult, Ctx};

shared::function!("patch-allotment", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let body = req.json_object()?;
    req.path_uuid("allotmentId")?;
    let if_match = req.if_match()?;
    req.change_allotment(&ctx, |record, grid, attempt| {
        let refused = attempt.after_refusal;
        plan_patch(record, grid, &body, if_match, refused, ctx.now_seconds()).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests;
