//! `GET /v1/capacity-groups?establishmentId=`: an establishment's groups by name.

use shared::domain::validate::{uuid, QueryParams};
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};

shared::function!("list-capacity-groups", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let est = q.required("establishmentId", &uuid);
    let paging = Paging::take(&mut q);
    q.finish()?;
    let est = req.listed_establishment(&ctx, est).await?;
    let (tenant, store) = (&req.principal()?.tenant, &ctx.store);
    let query_id = format!("capacity-groups|{est}");
    paging
        .serve(&ctx, tenant, &query_id, |limit, after| async move {
            let (ids, next) = store
                .list_groups(tenant, est, (limit, after.as_deref()))
                .await?;
            let mut views = Vec::new();
            for id in ids {
                // Listed by an eventually consistent index: a group deleted meanwhile
                // is skipped.
                if let Some(g) = store.load_group(tenant, id).await? {
                    views.push(g.record.view(&g.grid));
                }
            }
            Ok((views, next))
        })
        .await
}
