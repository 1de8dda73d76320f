//! `POST /v1/allotments/{allotmentId}/pickups/{pickupId}/cancel`: each room goes back
//! where it came from (see `plan_pickup_cancel`). Repeating it is a no-op.

use shared::command::{Attempt, Command, Decision};
use shared::domain::allotment::AllotmentRecord;
use shared::domain::error::ApiError;
use shared::domain::group::GroupRecord;
use shared::domain::ids::TenantId;
use shared::domain::pickup::{plan_pickup_cancel, Pickup, PickupStatus, PickupView};
use shared::domain::validate::Fields;
use shared::http::{run_command, ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("cancel-pickup", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    // The body is optional and carries nothing: any field is unknown.
    Fields::new(&req.optional_json_object()?).finish()?;
    let command = CancelPickup {
        ctx: &ctx,
        req: &req,
        tenant: req.principal()?.tenant.clone(),
        pickup_id: req.path_uuid("pickupId")?,
    };
    run_command(&req, &ctx.store, &command, |pickup| ApiResponse::ok(pickup)).await
}

struct CancelPickup<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    pickup_id: Uuid,
}

impl Command for CancelPickup<'_> {
    /// The allotment, the pickup, and the group it drew on.
    type State = (AllotmentRecord, Pickup, Option<GroupRecord>);
    type Output = PickupView;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        let (record, _) = self.req.allotment(self.ctx).await?;
        let pickup = self
            .ctx
            .store
            .get_pickup(&self.tenant, record.allotment_id, self.pickup_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such pickup".into()))?;
        let group = match pickup.capacity_group_id {
            Some(g) if pickup.status == PickupStatus::Active => self
                .ctx
                .store
                .load_group(&self.tenant, g)
                .await?
                .map(|g| g.record),
            _ => None,
        };
        Ok((record, pickup, group))
    }

    fn plan(&self, (record, pickup, group): Self::State) -> Result<Decision<PickupView>, ApiError> {
        let planned = plan_pickup_cancel(&record, &pickup, group.as_ref(), self.ctx.now_seconds())?;
        let view = planned.pickup.view();
        Ok(if planned.plan.is_empty() {
            Decision::Answer(view)
        } else {
            Decision::Apply(planned.plan, view)
        })
    }
}

#[cfg(test)]
mod tests;
