//! `PUT /v1/establishments/{establishmentId}/inventory`: sets the pool capacity of
//! one unit type over a range of nights, all or nothing.

use serde_json::json;
use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::dates::format_date;
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
    ApiResponse::ok(json!({
        "unitTypeId": change.unit_type_id.as_str(),
        "from": format_date(change.range.from()),
        "to": format_date(change.range.to()),
        "capacity": change.capacity,
        "nights": change.range.nights(),
    }))
}

struct SetCapacity<'a> {
    ctx: &'a Ctx,
    tenant: TenantId,
    establishment_id: Uuid,
    change: &'a InventoryChange,
}

impl Command for SetCapacity<'_> {
    type State = Option<PoolView>;
    type Output = ();

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The establishment must exist; after a refusal, the pool nights of the range
    /// (which are allotted above the new capacity, which months have no bucket yet).
    async fn load(&self, attempt: Attempt) -> Result<Option<PoolView>, ApiError> {
        let store = &self.ctx.store;
        if !attempt.after_refusal {
            store
                .require_establishment(&self.tenant, self.establishment_id)
                .await?;
            return Ok(None);
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
        Ok(Some(view))
    }

    fn plan(&self, pool: Option<PoolView>) -> Result<Decision<()>, ApiError> {
        let plan = plan_capacity(self.establishment_id, self.change, pool.as_ref())?;
        Ok(Decision::Apply(plan, ()))
    }
}

#[cfg(test)]
mod tests;
