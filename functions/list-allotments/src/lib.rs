//! `GET /v1/allotments?establishmentId=...`: an establishment's allotments ordered by
//! `periodFrom` then `allotmentId`, filtered and cursor-paginated.

use shared::domain::allotment::{AllotmentSummary, AllotmentType, ChannelType, Status};
use shared::domain::error::ApiError;
use shared::domain::validate::{date, uuid, QueryParams};
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};
use shared::store::AllotmentFilter;

shared::function!("list-allotments", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let est = q.required("establishmentId", &uuid);
    let filter = AllotmentFilter {
        status: q.optional("status", &Status::rule),
        allotment_type: q.optional("allotmentType", &AllotmentType::rule),
        channel_type: q.optional("channelType", &ChannelType::rule),
        from: q.optional("from", &date),
        to: q.optional("to", &date),
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to < from {
            q.issue("to", "must be on or after from");
        }
    }
    let paging = Paging::take(&mut q);
    q.finish()?;
    let est = est.ok_or_else(|| ApiError::Internal("validated establishmentId missing".into()))?;

    let principal = req.principal()?;
    principal.check_establishment(est)?;
    let tenant = &principal.tenant;
    ctx.store.require_establishment(tenant, est).await?;

    // The cursor is bound to the tenant and to every parameter but `limit`.
    let query_id = format!(
        "allotments|{est}|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.status, filter.allotment_type, filter.channel_type, filter.from, filter.to
    );
    let after = paging.position(&ctx, tenant, &query_id).await?;
    let (records, next) = ctx
        .store
        .list_allotments(tenant, est, &filter, paging.limit, after.as_deref())
        .await?;
    // Totals need every night of every allotment: read one allotment for them.
    let data: Vec<AllotmentSummary> = records.iter().map(|r| r.summary()).collect();
    Paging::response(&ctx, tenant, &query_id, data, next).await
}

#[cfg(test)]
mod tests;
