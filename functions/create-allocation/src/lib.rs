//! `POST /v1/allotments/{allotmentId}/allocations`: sets the quantity of one unit
//! type over some nights, taking rooms from or returning them to the pool in the same
//! transaction, and records an immutable history entry.

use shared::command::{Attempt, Command, Decision};
use shared::domain::allotment::{
    plan_allocation, AllocationChange, AllocationEntry, AllotmentRecord, Grid,
};
use shared::domain::dates::Month;
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::domain::inventory::PoolView;
use shared::http::{run_command, ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("create-allocation", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let change = AllocationChange::parse(&req.json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = ChangeAllocation {
        ctx: &ctx,
        req: &req,
        tenant,
        change,
    };
    run_command(&req, &ctx.store, &command, |entry| {
        ApiResponse::created(entry)
    })
    .await
}

struct ChangeAllocation<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    change: AllocationChange,
}

impl Command for ChangeAllocation<'_> {
    type State = (AllotmentRecord, Grid, Option<PoolView>);
    type Output = AllocationEntry;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The allotment; after a refusal also the pool nights of the change (to name
    /// every short night).
    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let (record, grid) = self.req.allotment(self.ctx).await?;
        let pool = if attempt.after_refusal {
            let from = self.change.from.unwrap_or(record.period_from);
            let to = self.change.to.unwrap_or(record.period_to).max(from);
            let months = Month::range(from, to)
                .map(|m| (self.change.unit_type_id.clone(), m))
                .collect::<Vec<_>>();
            let view = self
                .ctx
                .store
                .read_pool_view(&self.tenant, record.establishment_id, &months)
                .await?;
            Some(view)
        } else {
            None
        };
        Ok((record, grid, pool))
    }

    fn plan(
        &self,
        (record, grid, pool): Self::State,
    ) -> Result<Decision<AllocationEntry>, ApiError> {
        let planned = plan_allocation(
            &record,
            &grid,
            &self.change,
            pool.as_ref(),
            self.ctx.now_seconds(),
        )?;
        Ok(Decision::Apply(planned.plan, planned.entry))
    }
}

#[cfg(test)]
mod tests;
