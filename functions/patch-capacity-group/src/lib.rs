//! `PATCH /v1/capacity-groups/{capacityGroupId}`: rename (names stay unique), resize
//! (increases capacity-checked, decreases never below `used`, 0 empties a unit type),
//! replace the members (see `plan_group_patch`). `If-Match` as for allotments.
//! Removing a member does not take back rooms it drew.

use shared::command::{execute, Attempt, Command, Decision};
use shared::domain::dates::Month;
use shared::domain::error::ApiError;
use shared::domain::group::{plan_group_patch, Candidates, GroupDetails, GroupPatch, LoadedGroup};
use shared::domain::ids::TenantId;
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("patch-capacity-group", Write, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    req.path_uuid("capacityGroupId")?;
    let if_match = req.if_match()?;
    // The patch is checked first: an invalid body is a 400 whatever the version.
    let patch = GroupPatch::parse(&obj)?;
    let command = PatchGroup {
        ctx: &ctx,
        req: &req,
        tenant: req.principal()?.tenant.clone(),
        if_match,
        patch,
    };
    let g = execute(&ctx.store, &command).await?;
    Ok(ApiResponse::ok(g.record.view(&g.grid))?.with_header("ETag", g.record.etag()))
}

struct PatchGroup<'a> {
    ctx: &'a Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    if_match: Option<i64>,
    patch: GroupPatch,
}

impl Command for PatchGroup<'_> {
    type State = (LoadedGroup, Candidates, Option<GroupDetails>);
    type Output = LoadedGroup;

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The group and the members it would add; after a refusal also who holds the
    /// new name and the pool nights of the unit types resized, to say why.
    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let store = &self.ctx.store;
        let group = self.req.capacity_group(self.ctx).await?;
        let added = self.patch.added(&group.record.allotment_ids);
        let candidates = store.load_candidates(&self.tenant, &added).await?;
        if !attempt.after_refusal {
            return Ok((group, candidates, None));
        }
        let g = &group.record;
        let name_holder = match &self.patch.name {
            Some(name) if *name != g.name => {
                store
                    .group_name_holder(&self.tenant, g.establishment_id, name)
                    .await?
            }
            _ => None,
        };
        let months: Vec<_> = self
            .patch
            .resize
            .iter()
            .flatten()
            .flat_map(|(ut, _)| Month::range(g.period_from, g.period_to).map(|m| (ut.clone(), m)))
            .collect();
        let pool = store
            .read_pool_view(&self.tenant, g.establishment_id, &months)
            .await?;
        Ok((group, candidates, Some(GroupDetails { name_holder, pool })))
    }

    fn plan(
        &self,
        (group, candidates, details): Self::State,
    ) -> Result<Decision<LoadedGroup>, ApiError> {
        let planned = plan_group_patch(
            &group,
            &self.patch,
            self.if_match,
            &candidates,
            details.as_ref(),
            self.ctx.now_seconds(),
        )?;
        Ok(Decision::Apply(planned.plan, planned.group))
    }
}

#[cfg(test)]
mod tests;
