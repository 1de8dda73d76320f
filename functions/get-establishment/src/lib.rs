//! `GET /v1/establishments/{establishmentId}`.

use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "get-establishment",
    access: Access::Read,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let id = req.establishment_id()?;
    let tenant = &req.principal()?.tenant;
    let establishment = ctx.store.require_establishment(tenant, id).await?;
    ApiResponse::ok(establishment)
}

#[cfg(test)]
mod tests;
