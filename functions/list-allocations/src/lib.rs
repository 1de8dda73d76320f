//! `GET /v1/allotments/{allotmentId}/allocations`: the allocation history, most
//! recent first (creation, changes, releases), cursor-paginated.

use shared::domain::validate::QueryParams;
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};

shared::function!("list-allocations", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let paging = Paging::take(&mut q);
    q.finish()?;
    let (record, _) = req.allotment(&ctx).await?;
    let tenant = &req.principal()?.tenant;
    let query_id = format!("allocations|{}", record.allotment_id);
    let after = paging.position(&ctx, tenant, &query_id).await?;
    let (entries, next) = ctx
        .store
        .allocation_history_page(tenant, record.allotment_id, paging.limit, after.as_deref())
        .await?;
    Paging::response(&ctx, tenant, &query_id, entries, next).await
}

#[cfg(test)]
mod tests;
