//! `GET /v1/events?establishmentId=...[&types=&after=&limit=]`: the establishment's
//! events, oldest first, from where the cursor `after` left off (see
//! `Store::read_feed`: settled events only, so resuming skips nothing and repeats
//! nothing). `nextCursor` is never null; `hasMore` says whether to read again now.

use shared::domain::error::ApiError;
use shared::domain::event::{types_rule, FeedPosition};
use shared::domain::validate::{uuid, QueryParams};
use shared::http::{ApiRequest, ApiResult, Ctx, Paging};

shared::function!("list-events", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let mut q = QueryParams::new(req.query.clone());
    let est = q.required("establishmentId", &uuid);
    let types = q.optional("types", &types_rule);
    let paging = Paging::take_named(&mut q, "after");
    q.finish()?;
    let est = req.listed_establishment(&ctx, est).await?;
    let (tenant, store) = (&req.principal()?.tenant, &ctx.store);
    // The cursor is bound to the tenant, the establishment and the types.
    let named: Vec<&str> = types.iter().flatten().map(|t| t.as_str()).collect();
    let query_id = format!("events|{est}|{}", named.join(","));
    let types = types.as_ref();
    paging
        .feed(&ctx, tenant, &query_id, |limit, after| async move {
            let position = match after {
                Some(p) => Some(FeedPosition::parse(&p).ok_or_else(|| {
                    // Positions come from signed cursors this function issued.
                    ApiError::Internal(format!("feed position {p:?}"))
                })?),
                None => None,
            };
            let page = store.read_feed(tenant, est, position, types, limit).await?;
            Ok((page.events, page.next.encode(), page.has_more))
        })
        .await
}

#[cfg(test)]
mod tests;
