//! `GET /v1/allotments/{allotmentId}/pickups`: most recent first, cursor-paginated.

use shared::domain::error::ApiError;
use shared::domain::validate::QueryParams;
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};
use uuid::Uuid;

shared::function!("list-pickups", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let paging = Paging::take(&mut q);
    q.finish()?;
    let (record, _) = req.allotment(&ctx).await?;
    let tenant = &req.principal()?.tenant;
    let query_id = format!("pickups|{}", record.allotment_id);
    let after = match paging.position(&ctx, tenant, &query_id).await? {
        Some(p) => Some(Uuid::parse_str(&p).map_err(|_| {
            ApiError::validation("cursor", "is not a cursor issued for this query")
        })?),
        None => None,
    };
    let (pickups, next) = ctx
        .store
        .list_pickups(tenant, record.allotment_id, paging.limit, after)
        .await?;
    Paging::response(
        &ctx,
        tenant,
        &query_id,
        pickups.iter().map(|p| p.view()).collect::<Vec<_>>(),
        next.map(|id| id.to_string()),
    )
    .await
}

#[cfg(test)]
mod tests;
