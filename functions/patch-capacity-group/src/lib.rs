//! `PATCH /v1/capacity-groups/{capacityGroupId}`: rename (names stay unique), resize
//! (increases capacity-checked, decreases never below `used`), replace the members.
//! `If-Match` as for allotments. Removing a member does not take back rooms it drew.

use shared::domain::allotment::Status;
use shared::domain::error::{ApiError, FieldIssue};
use shared::domain::group::plan_group_change;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "patch-capacity-group",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    req.path_uuid("capacityGroupId")?;
    let if_match = req.if_match()?;
    let tenant = req.principal()?.tenant.clone();
    // Pickups drawing on the group move its version too: retry with a short pause.
    for attempt in 0..10u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
        }
        let g = req.capacity_group(&ctx).await?;
        // The patch is checked first: an invalid body is a 400 whatever the version.
        let change = plan_group_change(&g.record, &g.grid, &obj, ctx.now_seconds())?;
        if let Some(expected) = if_match {
            if expected != g.record.version {
                return Err(ApiError::PreconditionFailed);
            }
        }
        let mut issues = Vec::new();
        for (i, id) in change.next.allotment_ids.iter().enumerate() {
            if !change.added.contains(id) {
                continue;
            }
            let ok = match ctx.store.load_allotment(&tenant, *id).await? {
                Some((a, _)) => {
                    a.status == Status::Active && a.establishment_id == g.record.establishment_id
                }
                None => false,
            } && ctx.store.group_of(&tenant, *id).await?.is_none();
            if !ok {
                issues.push(FieldIssue::new(
                    format!("allotmentIds[{i}]"),
                    "must be an active allotment of this establishment that belongs to no capacity group",
                ));
            }
        }
        if !issues.is_empty() {
            return Err(ApiError::Validation(issues));
        }
        if ctx.store.update_group(&tenant, &g, &change).await? {
            let g = req.capacity_group(&ctx).await?;
            return Ok(
                ApiResponse::ok(g.record.view(&g.grid))?.with_header("ETag", g.record.etag())
            );
        }
        if if_match.is_some() {
            return Err(ApiError::PreconditionFailed);
        }
    }
    Err(ApiError::Unavailable(
        "patch-capacity-group: contention".into(),
    ))
}

#[cfg(test)]
mod tests;
