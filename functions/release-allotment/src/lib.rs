//! `POST /v1/allotments/{allotmentId}/release`: releases every unpicked room of every
//! unreleased night now (a manual early cutoff). Idempotent once released.

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{parse_reason, plan_manual_release, AllotmentRecord, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "release-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let reason = parse_reason(&req.optional_json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = ReleaseAllotment {
        ctx: &ctx,
        req: &req,
        tenant,
        reason,
    };
    let (record, grid, released_now) = execute(&ctx.store, &command).await?;
    let resp = ApiResponse::ok(record.representation(&grid))?;
    // Released before: the current representation, as it was.
    Ok(if released_now {
        resp.with_header("ETag", record.etag())
    } else {
        resp
    })
}

struct ReleaseAllotment<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    reason: Option<String>,
}

impl Command for ReleaseAllotment<'_> {
    type State = (AllotmentRecord, Grid);
    /// The allotment as the release leaves it, and whether this request released it.
    type Output = (AllotmentRecord, Grid, bool);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        self.req.allotment(self.ctx).await
    }

    fn plan(&self, (record, grid): Self::State) -> Result<Decision<Self::Output>, ApiError> {
        let planned =
            plan_manual_release(&record, &grid, self.reason.clone(), self.ctx.now_seconds())?;
        Ok(match planned {
            Some(p) => Decision::Apply(p.plan, (p.record, p.grid, true)),
            None => Decision::Answer((record, grid, false)),
        })
    }
}

#[cfg(test)]
mod tests;
