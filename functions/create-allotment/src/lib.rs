//! `POST /v1/allotments`: creates an allotment, takes its rooms from the pool for
//! every night and unit type (all or nothing) and arms its cutoff.

use shared::command::{Attempt, Command, Decision};
use shared::domain::allotment::{
    creation_months, peek_establishment_id, plan_create, AllotmentRecord, CreationDetails, Grid,
    NewAllotment,
};
use shared::domain::error::ApiError;
use shared::domain::establishment::Establishment;
use shared::domain::ids::TenantId;
use shared::http::{run_command, ApiRequest, ApiResponse, ApiResult, Ctx};
use uuid::Uuid;

shared::function!("create-allotment", Write, handle, long);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    let now = ctx.now_seconds();
    // The establishment decides "today" for the cutoff rule.
    let named = req
        .named_establishment(&ctx, peek_establishment_id(&obj), now)
        .await?;
    let new = NewAllotment::parse(&obj, named.as_ref().map(|(_, today)| *today))?;
    let (establishment, _) =
        named.ok_or_else(|| ApiError::NotFound("No such establishment".into()))?;

    let command = CreateAllotment {
        ctx: &ctx,
        tenant: req.principal()?.tenant.clone(),
        new,
        allotment_id: Uuid::new_v4(),
        establishment,
        now,
    };
    run_command(&req, &ctx.store, &command, |(record, grid)| {
        Ok(ApiResponse::created(record.representation(grid))?
            .with_header(
                "Location",
                format!("/v1/allotments/{}", record.allotment_id),
            )
            .with_header("ETag", record.etag()))
    })
    .await
}

struct CreateAllotment<'a> {
    ctx: &'a Ctx,
    tenant: TenantId,
    new: NewAllotment,
    allotment_id: Uuid,
    establishment: Establishment,
    now: shared::Instant,
}

impl Command for CreateAllotment<'_> {
    type State = Option<CreationDetails>;
    type Output = (AllotmentRecord, Grid);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Nothing to read first (the establishment was read to parse the body); after a
    /// refusal, the pool nights of the hold and whether the establishment still exists.
    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        if !attempt.after_refusal {
            return Ok(None);
        }
        let est = self.establishment.establishment_id;
        let store = &self.ctx.store;
        let pool = store
            .read_pool_view(&self.tenant, est, &creation_months(&self.new))
            .await?;
        let establishment_exists = store.get_establishment(&self.tenant, est).await?.is_some();
        Ok(Some(CreationDetails {
            pool,
            establishment_exists,
        }))
    }

    fn plan(&self, details: Self::State) -> Result<Decision<Self::Output>, ApiError> {
        let p = plan_create(
            &self.new,
            self.allotment_id,
            self.establishment.time_zone,
            self.now,
            details.as_ref(),
        )?;
        Ok(Decision::Apply(p.plan, (p.record, p.grid)))
    }
}

#[cfg(test)]
mod tests;
