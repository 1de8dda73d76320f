//! `GET /v1/establishments/{establishmentId}`.

use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-establishment", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let tenant = &req.principal()?.tenant;
    let establishment = ctx.store.require_establishment(tenant, id).await?;
    ApiResponse::ok(establishment)
}

#[cfg(test)]
mod tests;
