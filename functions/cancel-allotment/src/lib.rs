//! `POST /v1/allotments/{allotmentId}/cancel`: every held room back to the pool.
//! Refused while pickups are active; a no-op on a cancelled allotment.

use shared::domain::allotment::{parse_reason, plan_cancel};
use shared::http::{ApiRequest, ApiResult, Ctx};

shared::function!("cancel-allotment", Write, handle, long);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    // The reason is validated; cancellation keeps no history entry to put it in.
    parse_reason(&req.optional_json_object()?)?;
    // Cancelled before: nothing to write, the current representation.
    req.change_allotment(&ctx, |record, grid, _| {
        plan_cancel(record, grid, ctx.now_seconds())
    })
    .await
}

#[cfg(test)]
mod tests;
