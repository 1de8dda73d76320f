//! `POST /v1/allotments/{allotmentId}/confirm`: a tentative option becomes a
//! contractual allotment (penalty terms required).

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::allotment::{parse_confirm, plan_confirm, AllotmentRecord, Cents, Grid};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "confirm-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let penalty = parse_confirm(&req.optional_json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = ConfirmAllotment {
        ctx: &ctx,
        req: &req,
        tenant,
        penalty,
    };
    let (record, grid) = execute(&ctx.store, &command).await?;
    Ok(ApiResponse::ok(record.representation(&grid))?.with_header("ETag", record.etag()))
}

struct ConfirmAllotment<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    penalty: Option<Cents>,
}

impl Command for ConfirmAllotment<'_> {
    type State = (AllotmentRecord, Grid);
    type Output = (AllotmentRecord, Grid);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        self.req.allotment(self.ctx).await
    }

    fn plan(&self, (record, grid): Self::State) -> Result<Decision<Self::Output>, ApiError> {
        let p = plan_confirm(&record, &grid, self.penalty, self.ctx.now_seconds())?;
        Ok(Decision::Apply(p.plan, (p.record, p.grid)))
    }
}

#[cfg(test)]
mod tests;
