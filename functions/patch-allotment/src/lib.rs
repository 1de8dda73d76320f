//! `PATCH /v1/allotments/{allotmentId}`: a JSON merge patch of the commercial
//! terms, with `If-Match` (a stale version is `412` and changes nothing).

use shared::domain::allotment::plan_patch;
use shared::http::{Access, ApiRequest, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "patch-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

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
