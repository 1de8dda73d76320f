//! `GET /v1/allotments/{allotmentId}/allocations`: the allocation history, most
//! recent first (creation, changes, releases), cursor-paginated.

use shared::http::{ApiRequest, ApiResult, Ctx, Paging};

shared::function!("list-allocations", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let paging = Paging::only(&req)?;
    let (record, _) = req.allotment(&ctx).await?;
    let (tenant, id, store) = (&req.principal()?.tenant, record.allotment_id, &ctx.store);
    let query_id = format!("allocations|{id}");
    paging
        .serve(&ctx, tenant, &query_id, |limit, after| async move {
            store
                .allocation_history_page(tenant, id, limit, after.as_deref())
                .await
        })
        .await
}

#[cfg(test)]
mod tests;
