//! `GET /v1/allotments?establishmentId=...`: an establishment's allotments ordered by
//! `periodFrom` then `allotmentId`, filtered and cursor-paginated.

use serde_json::{json, Value};
use shared::domain::allotment::{AllotmentType, ChannelType, Status};
use shared::domain::cursor;
use shared::domain::dates::NightRange;
use shared::domain::error::ApiError;
use shared::domain::validate::{date, integer_text, uuid, QueryParams};
use shared::http::{Access, ApiRequest, ApiResponse, ApiResult, Ctx, Function, HandlerFuture};
use shared::store::AllotmentFilter;

pub const FUNCTION: Function = Function {
    name: "list-allotments",
    access: Access::Read,
    handler,
};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

fn handler(ctx: Ctx, req: ApiRequest) -> HandlerFuture {
    Box::pin(handle(ctx, req))
}

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
        if let Err(issue) = NightRange::new(from, to, i64::MAX) {
            q.issue("to", issue.replace("the start of the range", "from"));
        }
    }
    let limit = q
        .optional("limit", &integer_text(1, MAX_LIMIT))
        .unwrap_or(DEFAULT_LIMIT);
    let cursor_text = q.optional("cursor", &|v: &Value| {
        Ok(v.as_str().unwrap_or("").to_string())
    });
    q.finish()?;
    let est = est.ok_or_else(|| ApiError::Internal("validated establishmentId missing".into()))?;

    let principal = req.principal()?;
    principal.check_establishment(est)?;
    let tenant = &principal.tenant;
    ctx.store.require_establishment(tenant, est).await?;

    // The cursor is bound to the tenant and to every parameter but `limit`.
    let query_id = format!(
        "{est}|{:?}|{:?}|{:?}|{:?}|{:?}",
        filter.status, filter.allotment_type, filter.channel_type, filter.from, filter.to
    );
    let secret = ctx.store.cursor_secret().await?;
    let after = match &cursor_text {
        Some(c) => Some(cursor::verify(&secret, tenant.as_str(), &query_id, c)?),
        None => None,
    };
    let (records, next) = ctx
        .store
        .list_allotments(tenant, est, &filter, limit as usize, after.as_deref())
        .await?;
    let next_cursor = match next {
        Some(position) => Some(cursor::issue(
            &secret,
            tenant.as_str(),
            &query_id,
            &position,
        )?),
        None => None,
    };
    let data: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut v = r.view(&Default::default());
            // Totals need every night of every allotment: read one allotment for them.
            if let Value::Object(m) = &mut v {
                m.remove("totals");
            }
            v
        })
        .collect();
    let mut resp = ApiResponse::ok(data)?;
    if let Some(body) = resp.body.as_mut() {
        body["nextCursor"] = json!(next_cursor);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests;
