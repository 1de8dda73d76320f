//! `POST /v1/allotments/{allotmentId}/cancel`: every held room back to the pool.
//! Refused while pickups are active; a no-op on a cancelled allotment.

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{parse_reason, plan_cancel, AllotmentRecord, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "cancel-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    // The reason is validated; cancellation keeps no history entry to put it in.
    parse_reason(&req.optional_json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = CancelAllotment {
        ctx: &ctx,
        req: &req,
        tenant,
    };
    let (record, grid, cancelled_now) = execute(&ctx.store, &command).await?;
    let resp = ApiResponse::ok(record.representation(&grid))?;
    // Cancelled before: the current representation, as it was.
    Ok(if cancelled_now {
        resp.with_header("ETag", record.etag())
    } else {
        resp
    })
}

struct CancelAllotment<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
}

impl Command for CancelAllotment<'_> {
    type State = (AllotmentRecord, Grid);
    /// The allotment as the cancel leaves it, and whether this request cancelled it.
    type Output = (AllotmentRecord, Grid, bool);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        self.req.allotment(self.ctx).await
    }

    fn plan(&self, (record, grid): Self::State) -> Result<Decision<Self::Output>, ApiError> {
        Ok(match plan_cancel(&record, &grid, self.ctx.now_seconds())? {
            Some(p) => Decision::Apply(p.plan, (p.record, p.grid, true)),
            None => Decision::Answer((record, grid, false)),
        })
    }
}

#[cfg(test)]
mod tests;
