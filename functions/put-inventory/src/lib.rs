//! `PUT /v1/establishments/{establishmentId}/inventory`: sets the pool capacity of
//! one unit type over a range of nights, all or nothing.

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::domain::inventory::{plan_capacity, InventoryChange, PoolView};
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("put-inventory", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let establishment_id = req.establishment_id()?;
    let change = InventoryChange::parse(&req.json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = SetCapacity {
        ctx: &ctx,
        tenant,
        establishment_id,
        change: &change,
    };
    execute(&ctx.store, &command).await?;
    ApiResponse::ok(change.event())
}

struct SetCapacity<'a> {
    ctx: &'a Ctx,
    tenant: TenantId,
    establishment_id: Uuid,
    change: &'a InventoryChange,
}

impl Command for SetCapacity<'_> {
    /// The establishment's version, and the pool read after a refusal.
    type State = (i64, Option<PoolView>);
    type Output = ();

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The establishment must exist (its version is the event's sequence); after a
    /// refusal, the pool nights of the range too (which are allotted above the new
    /// capacity, which months have no bucket yet).
    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let store = &self.ctx.store;
        let version = store
            .load_establishment(&self.tenant, self.establishment_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such establishment".into()))?
            .version;
        if !attempt.after_refusal {
            return Ok((version, None));
        }
        let months: Vec<_> = self
            .change
            .range
            .by_month()
            .into_iter()
            .map(|(m, _)| (self.change.unit_type_id.clone(), m))
            .collect();
        let view = store
            .read_pool_view(&self.tenant, self.establishment_id, &months)
            .await?;
        Ok((version, Some(view)))
    }

    fn plan(&self, (version, pool): Self::State) -> Result<Decision<()>, ApiError> {
        let plan = plan_capacity(
            self.establishment_id,
            version,
            self.change,
            pool.as_ref(),
            self.ctx.now_seconds(),
        )?;
        Ok(Decision::Apply(plan, ()))
    }
}

#[cfg(test)]
mod tests;
