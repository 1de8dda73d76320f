//! `PUT /v1/establishments/{establishmentId}/inventory`: sets the pool capacity of
//! one unit type over a range of nights, all or nothing.

use serde_json::json;
use shared::domain::dates::format_date;
use shared::domain::inventory::InventoryChange;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "put-inventory",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let change = InventoryChange::parse(&req.json_object()?)?;
    let tenant = &req.principal()?.tenant;
    ctx.store.require_establishment(tenant, id).await?;
    ctx.store.set_capacity(tenant, id, &change).await?;
    ApiResponse::ok(json!({
        "unitTypeId": change.unit_type_id.as_str(),
        "from": format_date(change.range.from()),
        "to": format_date(change.range.to()),
        "capacity": change.capacity,
        "nights": change.range.nights(),
    }))
}

#[cfg(test)]
mod tests;
