//! `POST /v1/allotments/{allotmentId}/pickups`: takes rooms night by night from
//! arrival to the night before departure, all or nothing.

use shared::command::{Attempt, Command, Decision};
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::domain::pickup::{plan_pickup, NewPickup, PickupState, PickupView};
use shared::http::{run_command, ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("create-pickup", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let new = NewPickup::parse(&req.json_object()?)?;
    let command = TakePickup {
        ctx: &ctx,
        req: &req,
        tenant: req.principal()?.tenant.clone(),
        allotment_id: req.path_uuid("allotmentId")?,
        pickup_id: Uuid::now_v7(),
        new,
    };
    run_command(&req, &ctx.store, &command, |pickup| {
        ApiResponse::created(pickup)
    })
    .await
}

struct TakePickup<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    allotment_id: Uuid,
    pickup_id: Uuid,
    new: NewPickup,
}

impl Command for TakePickup<'_> {
    type State = PickupState;
    type Output = PickupView;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// One round trip on a warm process: when it knows the allotment's establishment
    /// (it never changes), the first attempt reads nothing and plans blind (see
    /// [`PickupState::Blind`]); a stay longer than any period can only be refused, so
    /// it reads at once to say why. Otherwise, and after a refusal, the allotment and
    /// its capacity group.
    async fn load(&self, attempt: Attempt) -> Result<PickupState, ApiError> {
        let known = self
            .ctx
            .store
            .known_establishment(&self.tenant, self.allotment_id)
            .filter(|_| attempt == Attempt::FIRST && self.new.fits_a_period());
        if let Some(establishment_id) = known {
            self.req
                .principal()?
                .check_establishment(establishment_id)?;
            return Ok(PickupState::Blind { establishment_id });
        }
        let (record, grid) = self.req.allotment(self.ctx).await?;
        let group = match record.group_id {
            Some(id) => self.ctx.store.load_group(&self.tenant, id).await?,
            None => None,
        };
        Ok(PickupState::Loaded {
            record: Box::new(record),
            grid,
            group: group.map(Box::new),
        })
    }

    fn plan(&self, state: PickupState) -> Result<Decision<PickupView>, ApiError> {
        let planned = plan_pickup(
            &self.new,
            self.allotment_id,
            self.pickup_id,
            &state,
            self.ctx.now_seconds(),
        )?;
        Ok(Decision::Apply(planned.plan, planned.pickup.view()))
    }
}

#[cfg(test)]
mod tests;
