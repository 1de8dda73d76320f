//! `POST /v1/allotments/{allotmentId}/pickups`: takes rooms night by night from
//! arrival to the night before departure, all or nothing.

use shared::domain::error::ApiError;
use shared::domain::pickup::{NewPickup, Pickup, PickupStatus};
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "create-pickup",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let new = NewPickup::parse(&req.json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    let pickup_id = Uuid::now_v7();
    for _ in 0..8 {
        let (record, grid) = req.allotment(&ctx).await?;
        new.check(&record, &grid)?;
        let pickup = Pickup {
            pickup_id,
            allotment_id: record.allotment_id,
            unit_type_id: new.unit_type_id.to_string(),
            arrival: new.arrival,
            departure: new.departure,
            quantity: new.quantity,
            reservation_ref: new.reservation_ref.clone(),
            guest_name: new.guest_name.clone(),
            status: PickupStatus::Active,
            created_at: ctx.now_seconds(),
            cancelled_at: None,
        };
        // A refused condition means the allotment moved: reload, check again.
        if ctx.store.create_pickup(&tenant, &record, &pickup).await? {
            return ApiResponse::created(&pickup);
        }
    }
    Err(ApiError::Unavailable("create-pickup: contention".into()))
}

#[cfg(test)]
mod tests;
