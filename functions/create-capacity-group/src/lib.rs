//! `POST /v1/capacity-groups`: sets rooms aside from the pool for member allotments
//! to share. Rooms, name and member claims are taken in one transaction.

use shared::domain::allotment::{Status, UnitAllocation};
use shared::domain::error::{ApiError, FieldIssue};
use shared::domain::group::{GroupNight, GroupRecord, NewGroup};
use shared::domain::validate::uuid;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};
use shared::store::groups::GroupGrid;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "create-capacity-group",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let obj = req.json_object()?;
    let principal = req.principal()?;
    let tenant = &principal.tenant;
    let establishment = match obj.get("establishmentId").and_then(|v| uuid(v).ok()) {
        Some(id) => {
            principal.check_establishment(id)?;
            ctx.store.get_establishment(tenant, id).await?
        }
        None => None,
    };
    let now = ctx.now_seconds();
    let today = establishment
        .as_ref()
        .map(|e| now.with_timezone(&e.time_zone).date_naive());
    let new = NewGroup::parse(&obj, today)?;
    let establishment =
        establishment.ok_or_else(|| ApiError::NotFound("No such establishment".into()))?;

    // Members: active allotments of this establishment and tenant, in no other group.
    let mut issues = Vec::new();
    for (i, id) in new.allotment_ids.iter().enumerate() {
        let ok = match ctx.store.load_allotment(tenant, *id).await? {
            Some((a, _)) => {
                a.status == Status::Active && a.establishment_id == new.establishment_id
            }
            None => false,
        } && ctx.store.group_of(tenant, *id).await?.is_none();
        if !ok {
            issues.push(FieldIssue::new(
                format!("allotmentIds[{i}]"),
                "must be an active allotment of this establishment that belongs to no capacity group",
            ));
        }
    }
    if !issues.is_empty() {
        return Err(ApiError::Validation(issues));
    }

    let record = GroupRecord {
        capacity_group_id: Uuid::new_v4(),
        establishment_id: new.establishment_id,
        name: new.name.clone(),
        period_from: new.period.from(),
        period_to: new.period.to(),
        unit_allocations: new
            .unit_allocations
            .iter()
            .map(|(u, q)| UnitAllocation {
                unit_type_id: u.to_string(),
                quantity: *q,
            })
            .collect(),
        cutoff_date: new.cutoff_date,
        release_days: new.release_days,
        allotment_ids: new.allotment_ids.clone(),
        version: 1,
        time_zone: establishment.time_zone.name().to_string(),
        created_at: now,
        updated_at: now,
        released_through: None,
    };
    let mut grid = GroupGrid::new();
    for (ut, q) in &new.unit_allocations {
        for d in new.period.iter() {
            grid.insert(
                (ut.clone(), d),
                GroupNight {
                    shared: *q,
                    used: 0,
                },
            );
        }
    }
    ctx.store.create_group(tenant, &record, &grid).await?;
    Ok(ApiResponse::created(record.view(&grid))?
        .with_header(
            "Location",
            format!("/v1/capacity-groups/{}", record.capacity_group_id),
        )
        .with_header("ETag", record.etag()))
}

#[cfg(test)]
mod tests;
