//! `GET /v1/capacity-groups?establishmentId=`: an establishment's groups by name.

use shared::domain::error::ApiError;
use shared::domain::group::GroupView;
use shared::domain::validate::{uuid, QueryParams};
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};

shared::function!("list-capacity-groups", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let est = q.required("establishmentId", &uuid);
    let paging = Paging::take(&mut q);
    q.finish()?;
    let est = est.ok_or_else(|| ApiError::Internal("validated establishmentId missing".into()))?;
    let principal = req.principal()?;
    principal.check_establishment(est)?;
    let tenant = &principal.tenant;
    ctx.store.require_establishment(tenant, est).await?;
    let query_id = format!("capacity-groups|{est}");
    let after = paging.position(&ctx, tenant, &query_id).await?;
    let (ids, next) = ctx
        .store
        .list_groups(tenant, est, (paging.limit, after.as_deref()))
        .await?;
    let mut data: Vec<GroupView> = Vec::new();
    for id in ids {
        // Listed by an eventually consistent index: a group deleted meanwhile is skipped.
        if let Some(g) = ctx.store.load_group(tenant, id).await? {
            data.push(g.record.view(&g.grid));
        }
    }
    Paging::response(&ctx, tenant, &query_id, data, next).await
}
