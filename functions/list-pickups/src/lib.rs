//! `GET /v1/allotments/{allotmentId}/pickups`: most recent first, cursor-paginated.

use shared::domain::error::ApiError;
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};
use uuid::Uuid;

shared::function!("list-pickups", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let paging = Paging::only(&req)?;
    let (record, _) = req.allotment(&ctx).await?;
    let (tenant, id, store) = (&req.principal()?.tenant, record.allotment_id, &ctx.store);
    // A position is the id of the last pickup seen.
    let last_seen = |position: String| {
        Uuid::parse_str(&position)
            .map_err(|_| ApiError::validation("cursor", "is not a cursor issued for this query"))
    };
    let query_id = format!("pickups|{id}");
    paging
        .serve(&ctx, tenant, &query_id, |limit, after| async move {
            let after = after.map(last_seen).transpose()?;
            let (pickups, next) = store.list_pickups(tenant, id, limit, after).await?;
            let views: Vec<_> = pickups.iter().map(|p| p.view()).collect();
            Ok((views, next.map(|id| id.to_string())))
        })
        .await
}

#[cfg(test)]
mod tests;
