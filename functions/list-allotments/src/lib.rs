//! `GET /v1/allotments?establishmentId=...`: an establishment's allotments ordered by
//! `periodFrom` then `allotmentId`, filtered and cursor-paginated.

use shared::domain::allotment::{AllotmentSummary, AllotmentType, ChannelType, Status};
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
    let est = req.listed_establishment(&ctx, est).await?;
    let (tenant, store) = (&req.principal()?.tenant, &ctx.store);
    // The cursor is bound to the tenant and to every parameter but `limit`.
    let query_id = format!(
        "allotments|{est}|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.status, filter.allotment_type, filter.channel_type, filter.from, filter.to
    );
    let filter = &filter;
    paging
        .serve(&ctx, tenant, &query_id, |limit, after| async move {
            let after = after.as_deref();
            let (records, next) = store
                .list_allotments(tenant, est, filter, limit, after)
                .await?;
            // Totals need every night of every allotment: read one allotment for them.
            let summaries: Vec<AllotmentSummary> = records.iter().map(|r| r.summary()).collect();
            Ok((summaries, next))
        })
        .await
}

#[cfg(test)]
mod tests;
