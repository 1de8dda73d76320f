//! `PUT /v1/establishments/{establishmentId}`: creates (`201`) or updates (`200`) an
//! establishment of the caller's tenant.

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::error::ApiError;
use shared::domain::establishment::{
    plan_put, Establishment, EstablishmentInput, StoredEstablishment,
};
use shared::domain::ids::TenantId;
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("put-establishment", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let input = EstablishmentInput::parse(&req.json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let command = PutEstablishment {
        ctx: &ctx,
        tenant,
        id,
        input,
    };
    let (establishment, created) = execute(&ctx.store, &command).await?;
    if created {
        ApiResponse::created(establishment)
    } else {
        ApiResponse::ok(establishment)
    }
}

struct PutEstablishment<'a> {
    ctx: &'a Ctx,
    tenant: TenantId,
    id: Uuid,
    input: EstablishmentInput,
}

impl Command for PutEstablishment<'_> {
    type State = Option<StoredEstablishment>;
    type Output = (Establishment, bool);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, _: Attempt) -> Result<Self::State, ApiError> {
        self.ctx
            .store
            .load_establishment(&self.tenant, self.id)
            .await
    }

    fn plan(&self, current: Self::State) -> Result<Decision<Self::Output>, ApiError> {
        let planned = plan_put(self.id, current.as_ref(), &self.input, self.ctx.now())?;
        Ok(Decision::Apply(
            planned.plan,
            (planned.establishment, planned.created),
        ))
    }
}

#[cfg(test)]
mod tests;
