//! `POST /v1/allotments/{allotmentId}/pickups`: takes rooms night by night from
//! arrival to the night before departure, all or nothing.

use shared::domain::allotment::MAX_PERIOD_NIGHTS;
use shared::domain::error::ApiError;
use shared::domain::pickup::{GroupDraw, GroupView, NewPickup, NightTake, Pickup, PickupStatus};
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
    let allotment_id = req.path_uuid("allotmentId")?;
    let principal = req.principal()?;
    let tenant = principal.tenant.clone();
    let pickup_id = Uuid::now_v7();

    // One round trip when this process knows the allotment's establishment: take the
    // allotment's own rooms on every night in one transaction, without reading first.
    // Its conditions (active, contractual, nights unreleased, `remaining >= quantity`
    // per night) refuse anything the read would have refused; then the read below says
    // why, or draws on the capacity group.
    // A stay longer than any period can only be refused: the read says why (400).
    let known = ctx
        .store
        .known_establishment(&tenant, allotment_id)
        .filter(|_| new.nights().nights() <= MAX_PERIOD_NIGHTS);
    if let Some(establishment) = known {
        principal.check_establishment(establishment)?;
        let takes: Vec<NightTake> = new
            .nights()
            .iter()
            .map(|date| NightTake {
                date,
                own: new.quantity,
                from_group: 0,
            })
            .collect();
        let pickup = pickup_of(&new, pickup_id, allotment_id, &ctx, None, Vec::new());
        if ctx
            .store
            .create_pickup(&tenant, establishment, &pickup, &takes)
            .await?
        {
            return ApiResponse::created(&pickup);
        }
    }

    for _ in 0..8 {
        let (record, grid) = req.allotment(&ctx).await?;
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
        let group_id = (!from_group.is_empty())
            .then_some(record.group_id)
            .flatten();
        let pickup = pickup_of(
            &new,
            pickup_id,
            record.allotment_id,
            &ctx,
            group_id,
            from_group,
        );
        if ctx
            .store
            .create_pickup(&tenant, record.establishment_id, &pickup, &takes)
            .await?
        {
            return ApiResponse::created(&pickup);
        }
    }
    Err(ApiError::Unavailable("create-pickup: contention".into()))
}

fn pickup_of(
    new: &NewPickup,
    pickup_id: Uuid,
    allotment_id: Uuid,
    ctx: &Ctx,
    capacity_group_id: Option<Uuid>,
    from_group: Vec<GroupDraw>,
) -> Pickup {
    Pickup {
        pickup_id,
        allotment_id,
        unit_type_id: new.unit_type_id.to_string(),
        arrival: new.arrival,
        departure: new.departure,
        quantity: new.quantity,
        reservation_ref: new.reservation_ref.clone(),
        guest_name: new.guest_name.clone(),
        status: PickupStatus::Active,
        created_at: ctx.now_seconds(),
        cancelled_at: None,
        capacity_group_id,
        from_group,
    }
}

#[cfg(test)]
mod tests;
