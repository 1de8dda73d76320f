//! `POST /v1/allotments/{allotmentId}/release`: releases every unpicked room of every
//! unreleased night now (a manual early cutoff). Idempotent once released.

use shared::domain::allotment::{parse_reason, plan_manual_release, plan_manual_release_part};
use shared::http::{ApiRequest, ApiResult, Ctx};

shared::function!("release-allotment", Write, handle, long);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let reason = parse_reason(&req.optional_json_object()?)?;
    // Too many runs of nights for one event: the earliest nights first, part by part.
    req.change_allotment_in_parts(&ctx, |record, grid, _| {
        plan_manual_release_part(record, grid, reason.clone(), ctx.now_seconds())
    })
    .await?;
    // Released before: nothing to write, the current representation.
    req.change_allotment(&ctx, |record, grid, _| {
        plan_manual_release(record, grid, reason.clone(), ctx.now_seconds())
    })
    .await
}

#[cfg(test)]
mod tests;
