//! `GET /v1/allotments/{allotmentId}/nights[?unitTypeId=]`: the grid, one row per
//! night and unit type, ordered by unit type then date.

use shared::domain::allotment::nights_view;
use shared::domain::validate::{unit_type_id, QueryParams};
use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-allotment-nights", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let unit = q.optional("unitTypeId", &unit_type_id);
    q.finish()?;
    let (_, grid) = req.allotment(&ctx).await?;
    ApiResponse::ok(nights_view(&grid, unit.as_ref()))
}

#[cfg(test)]
mod tests;
