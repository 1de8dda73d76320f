//! `POST /v1/allotments/{allotmentId}/pickups/{pickupId}/cancel`: each room goes back
//! to the allotment on nights not yet released, to the pool on released ones.
//! Repeating it is a no-op.

use shared::domain::error::ApiError;
use shared::domain::pickup::PickupStatus;
use shared::domain::validate::Fields;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "cancel-pickup",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    // The body is optional and carries nothing: any field is unknown.
    Fields::new(&req.optional_json_object()?).finish()?;
    let pickup_id = req.path_uuid("pickupId")?;
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..8 {
        let (record, _) = req.allotment(&ctx).await?;
        let pickup = ctx
            .store
            .get_pickup(&tenant, record.allotment_id, pickup_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("No such pickup".into()))?;
        if pickup.status == PickupStatus::Cancelled {
            return ApiResponse::ok(&pickup);
        }
        let group_released_through = match pickup.capacity_group_id {
            Some(g) => ctx
                .store
                .load_group(&tenant, g)
                .await?
                .and_then(|g| g.record.released_through),
            None => None,
        };
        if ctx
            .store
            .cancel_pickup(
                &tenant,
                &record,
                &pickup,
                group_released_through,
                ctx.now_seconds(),
            )
            .await?
        {
            let done = ctx
                .store
                .get_pickup(&tenant, record.allotment_id, pickup_id)
                .await?;
            return ApiResponse::ok(done.unwrap_or(pickup));
        }
    }
    Err(ApiError::Unavailable("cancel-pickup: contention".into()))
}

#[cfg(test)]
mod tests;
