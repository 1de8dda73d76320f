//! `PATCH /v1/allotments/{allotmentId}`: a JSON merge patch of the commercial
//! terms, with `If-Match` (a stale version is `412` and changes nothing).

use serde_json::{Map, Value};
use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{plan_patch, AllotmentRecord, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

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
    let tenant = req.principal()?.tenant.clone();
    let command = PatchAllotment {
        ctx: &ctx,
        req: &req,
        tenant,
        body,
        if_match,
    };
    let (record, grid) = execute(&ctx.store, &command).await?;
    Ok(ApiResponse::ok(record.representation(&grid))?.with_header("ETag", record.etag()))
}

struct PatchAllotment<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    body: Map<String, Value>,
    if_match: Option<i64>,
}

impl Command for PatchAllotment<'_> {
    /// The allotment, and whether a write of this patch was refused before.
    type State = (AllotmentRecord, Grid, bool);
    type Output = (AllotmentRecord, Grid);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let (record, grid) = self.req.allotment(self.ctx).await?;
        Ok((record, grid, attempt.after_refusal))
    }

    fn plan(
        &self,
        (record, grid, refused): Self::State,
    ) -> Result<Decision<Self::Output>, ApiError> {
        let p = plan_patch(
            &record,
            &grid,
            &self.body,
            self.if_match,
            refused,
            self.ctx.now_seconds(),
        )?;
        Ok(Decision::Apply(p.plan, (p.record, p.grid)))
    }
}

#[cfg(test)]
mod tests;
