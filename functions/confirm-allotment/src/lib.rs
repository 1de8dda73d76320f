//! `POST /v1/allotments/{allotmentId}/confirm`: a tentative option becomes a
//! contractual allotment (penalty terms required).

use shared::domain::allotment::{parse_confirm, AllotmentType};
use shared::domain::error::ApiError;
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};

pub const FUNCTION: Function = Function {
    name: "confirm-allotment",
    access: Access::Write,
    handler,
};

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let penalty = parse_confirm(&req.optional_json_object()?)?;
    let tenant = req.principal()?.tenant.clone();
    for _ in 0..5 {
        let (record, grid) = req.allotment(&ctx).await?;
        record.require_active("confirm")?;
        if record.allotment_type != AllotmentType::Tentative {
            return Err(ApiError::InvalidState(
                "Only a tentative allotment can be confirmed".into(),
            ));
        }
        let mut next = record.clone();
        next.terms.penalty_per_room_night_cents =
            penalty.or(record.terms.penalty_per_room_night_cents);
        if next.terms.penalty_per_room_night_cents.is_none() {
            return Err(ApiError::validation(
                "penaltyPerRoomNightCents",
                "is required: the allotment has no penalty terms",
            ));
        }
        let now = ctx.now_seconds();
        next.allotment_type = AllotmentType::Allotment;
        next.confirmed_at = Some(now);
        next.updated_at = now;
        next.version += 1;
        if ctx
            .store
            .replace_allotment_header(&tenant, &next, record.version)
            .await?
        {
            return Ok(ApiResponse::ok(next.view(&grid))?.with_header("ETag", next.etag()));
        }
    }
    Err(ApiError::Unavailable(
        "confirm-allotment: contention".into(),
    ))
}

#[cfg(test)]
mod tests;
