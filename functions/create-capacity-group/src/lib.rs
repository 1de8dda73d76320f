//! `POST /v1/capacity-groups`: sets rooms aside from the pool for member allotments
//! to share. Rooms, name and member claims are taken in one transaction.

use shared::command::{Attempt, Command, Decision};
use shared::domain::dates::Month;
use shared::domain::error::ApiError;
use shared::domain::establishment::Establishment;
use shared::domain::group::{plan_group_creation, Candidates, GroupDetails, LoadedGroup, NewGroup};
use shared::domain::ids::TenantId;
use shared::domain::validate::uuid;
use shared::http::{run_command, ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("create-capacity-group", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    let id = obj.get("establishmentId").and_then(|v| uuid(v).ok());
    let named = req.named_establishment(&ctx, id, ctx.now_seconds()).await?;
    let new = NewGroup::parse(&obj, named.as_ref().map(|(_, today)| *today))?;
    // The group's cutoff moments are in the establishment's time zone.
    let establishment = named
        .map(|(e, _)| e)
        .ok_or_else(|| ApiError::NotFound("No such establishment".into()))?;
    let command = CreateGroup {
        ctx: &ctx,
        tenant: req.principal()?.tenant.clone(),
        group_id: Uuid::new_v4(),
        establishment,
        new,
    };
    run_command(&req, &ctx.store, &command, |g| {
        Ok(ApiResponse::created(g.record.view(&g.grid))?
            .with_header(
                "Location",
                format!("/v1/capacity-groups/{}", g.record.capacity_group_id),
            )
            .with_header("ETag", g.record.etag()))
    })
    .await
}

struct CreateGroup<'a> {
    ctx: &'a Ctx,
    tenant: TenantId,
    group_id: Uuid,
    establishment: Establishment,
    new: NewGroup,
}

impl Command for CreateGroup<'_> {
    type State = (Candidates, Option<GroupDetails>);
    type Output = LoadedGroup;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The members named (with their memberships); after a refusal also who holds the
    /// name and the pool nights, to say why.
    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let store = &self.ctx.store;
        let est = self.new.establishment_id;
        let candidates = store
            .load_candidates(&self.tenant, &self.new.allotment_ids)
            .await?;
        if !attempt.after_refusal {
            return Ok((candidates, None));
        }
        let name_holder = store
            .group_name_holder(&self.tenant, est, &self.new.name)
            .await?;
        let months: Vec<_> = self
            .new
            .unit_allocations
            .iter()
            .flat_map(|(ut, _)| {
                Month::range(self.new.period.from(), self.new.period.to()).map(|m| (ut.clone(), m))
            })
            .collect();
        let pool = store.read_pool_view(&self.tenant, est, &months).await?;
        Ok((candidates, Some(GroupDetails { name_holder, pool })))
    }

    fn plan(&self, (candidates, details): Self::State) -> Result<Decision<LoadedGroup>, ApiError> {
        let (zone, now) = (self.establishment.time_zone, self.ctx.now_seconds());
        let new = &self.new;
        let planned =
            plan_group_creation(new, self.group_id, zone, &candidates, details.as_ref(), now)?;
        Ok(Decision::Apply(planned.plan, planned.group))
    }
}

#[cfg(test)]
mod tests;
