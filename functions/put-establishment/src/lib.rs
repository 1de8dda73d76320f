//! `PUT /v1/establishments/{establishmentId}`: creates (`201`) or updates (`200`) an
//! establishment of the caller's tenant.

use shared::domain::establishment::EstablishmentInput;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "put-establishment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let input = EstablishmentInput::parse(&req.json_object()?)?;
    let tenant = &req.principal()?.tenant;
    let (establishment, created) = ctx
        .store
        .put_establishment(tenant, id, &input, ctx.now())
        .await?;
    if created {
        ApiResponse::created(establishment)
    } else {
        ApiResponse::ok(establishment)
    }
}

#[cfg(test)]
mod tests;
