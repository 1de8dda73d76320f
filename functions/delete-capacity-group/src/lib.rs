//! `DELETE /v1/capacity-groups/{capacityGroupId}`: unused rooms back to the pool;
//! refused while pickups draw on the group (see `plan_group_deletion`).

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::error::ApiError;
use shared::domain::group::{plan_group_deletion, LoadedGroup};
use shared::domain::ids::TenantId;
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("delete-capacity-group", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let command = DeleteGroup {
        ctx: &ctx,
        req: &req,
        tenant: req.principal()?.tenant.clone(),
    };
    execute(&ctx.store, &command).await?;
    Ok(ApiResponse::no_content())
}

struct DeleteGroup<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
}

impl Command for DeleteGroup<'_> {
    type State = LoadedGroup;
    type Output = ();

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<LoadedGroup, ApiError> {
        self.req.capacity_group(self.ctx).await
    }

    fn plan(&self, group: LoadedGroup) -> Result<Decision<()>, ApiError> {
        Ok(Decision::Apply(
            plan_group_deletion(&group, self.ctx.now_seconds())?,
            (),
        ))
    }
}

#[cfg(test)]
mod tests;
