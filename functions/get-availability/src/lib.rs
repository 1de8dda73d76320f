//! `GET /v1/establishments/{establishmentId}/availability?from=&to=[&unitTypeId=]`:
//! the pool per night and unit type (at most 366 nights).

use shared::domain::inventory::{AvailabilityQuery, AvailabilityRow};
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-availability", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let query = AvailabilityQuery::parse(req.query.clone())?;
    let tenant = &req.principal()?.tenant;
    ctx.store.require_establishment(tenant, id).await?;
    let nights = ctx
        .store
        .read_pool(tenant, id, query.unit_type_id.as_ref(), &query.range)
        .await?;
    let rows: Vec<AvailabilityRow> = nights
        .into_iter()
        .filter(|(_, _, night)| night.is_listed())
        .map(|(ut, date, night)| AvailabilityRow::new(&ut, date, night))
        .collect();
    ApiResponse::ok(rows)
}

#[cfg(test)]
mod tests;
