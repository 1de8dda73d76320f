//! `POST /v1/allotments/{allotmentId}/pickups`: takes rooms night by night from
//! arrival to the night before departure, all or nothing.

use shared::domain::error::ApiError;
use shared::domain::pickup::{GroupDraw, GroupView, NewPickup, Pickup, PickupStatus};
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
        // A member draws on its capacity group once its own rooms run out.
        let group = match record.group_id {
            Some(id) => ctx.store.load_group(&tenant, id).await?,
            None => None,
        };
        let view = group.as_ref().map(|g| GroupView {
            nights: &g.grid,
            released_through: g.record.released_through,
        });
        let takes = new.plan(&record, &grid, view.as_ref())?;
        let from_group: Vec<GroupDraw> = takes
            .iter()
            .filter(|k| k.from_group > 0)
            .map(|k| GroupDraw {
                date: k.date,
                quantity: k.from_group,
            })
            .collect();
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
            capacity_group_id: (!from_group.is_empty())
                .then_some(record.group_id)
                .flatten(),
            from_group,
        };
        // A refused condition means the allotment or its group moved: reload, plan again.
        if ctx
            .store
            .create_pickup(&tenant, &record, &pickup, &takes)
            .await?
        {
            return ApiResponse::created(&pickup);
        }
    }
    Err(ApiError::Unavailable("create-pickup: contention".into()))
}

#[cfg(test)]
mod tests;
