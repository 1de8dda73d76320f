//! `GET /v1/allotments/{allotmentId}/nights[?unitTypeId=]`: the grid, one row per
//! night and unit type, ordered by unit type then date.

use serde_json::{json, Value};
use shared::domain::establishment::format_instant;
use shared::domain::validate::{unit_type_id, QueryParams};
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "get-allotment-nights",
    access: Access::Read,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let unit = q.optional("unitTypeId", &unit_type_id);
    q.finish()?;
    let (_, grid) = req.allotment(&ctx).await?;
    let rows: Vec<Value> = grid
        .iter()
        .filter(|((ut, _), _)| unit.as_ref().is_none_or(|u| u == ut))
        .map(|((ut, date), n)| {
            json!({
                "date": date.to_string(),
                "unitTypeId": ut.as_str(),
                "contracted": n.contracted,
                "allocated": n.allocated,
                "pickedUp": n.picked_up,
                "pickedUpFromGroup": n.from_group,
                "released": n.released,
                "releasedAt": n.released_at.as_ref().map(format_instant),
            })
        })
        .collect();
    ApiResponse::ok(rows)
}

#[cfg(test)]
mod tests;
