//! Cursor pagination shared by every list: `limit` (1–100, default 50) and a
//! signed `cursor` bound to the tenant and the query.

use std::future::Future;

use serde::Serialize;
use serde_json::{json, Value};

use super::{ApiRequest, ApiResponse, ApiResult, Ctx};
use crate::domain::cursor;
use crate::domain::error::ApiError;
use crate::domain::ids::TenantId;
use crate::domain::validate::{integer_text, QueryParams};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// `limit` and `cursor` of a list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    cursor: Option<String>,
    /// The parameter the cursor comes in (`cursor`; the event feed's `after`).
    cursor_name: &'static str,
}

impl Paging {
    /// Takes `limit` and `cursor` from the query (issues recorded on `q`).
    pub fn take(q: &mut QueryParams) -> Paging {
        Paging::take_named(q, "cursor")
    }

    /// Takes `limit` and the cursor named `cursor_name` from the query.
    pub fn take_named(q: &mut QueryParams, cursor_name: &'static str) -> Paging {
        let limit = q
            .optional("limit", &integer_text(1, MAX_LIMIT))
            .unwrap_or(DEFAULT_LIMIT);
        let cursor = q.optional(cursor_name, &|v: &Value| {
            Ok(v.as_str().unwrap_or("").to_string())
        });
        Paging {
            limit: limit as usize,
            cursor,
            cursor_name,
        }
    }

    /// `limit` and `cursor` of a query that takes nothing else (any other parameter
    /// is a `400` naming it).
    pub fn only(req: &ApiRequest) -> Result<Paging, ApiError> {
        let mut q = QueryParams::new(req.query.clone());
        let paging = Paging::take(&mut q);
        q.finish()?;
        Ok(paging)
    }

    /// Serves one page of the list `query_id` (every parameter but `limit`: the cursor
    /// is bound to it and to the tenant): `read(limit, after)` reads the page from the
    /// position the cursor names, and returns it with the position of the next page.
    pub async fn serve<T, F, Fut>(
        &self,
        ctx: &Ctx,
        tenant: &TenantId,
        query_id: &str,
        read: F,
    ) -> ApiResult
    where
        T: Serialize,
        F: FnOnce(usize, Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), ApiError>>,
    {
        let after = self.position(ctx, tenant, query_id).await?;
        let (data, next) = read(self.limit, after).await?;
        Paging::response(ctx, tenant, query_id, data, next).await
    }

    /// The position the cursor names, if it was issued for this query and tenant.
    async fn position(
        &self,
        ctx: &Ctx,
        tenant: &TenantId,
        query_id: &str,
    ) -> Result<Option<String>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) => {
                let secret = ctx.store.cursor_secret().await?;
                cursor::verify(&secret, tenant.as_str(), query_id, c)
                    .map(Some)
                    .map_err(|e| match e {
                        ApiError::Validation(_) => ApiError::validation(
                            self.cursor_name,
                            "is not a cursor issued for this query",
                        ),
                        other => other,
                    })
            }
        }
    }

    /// Serves one page of a feed (`GET /v1/events`): like [`Self::serve`], but
    /// `read(limit, after)` always returns the position to resume from, and the
    /// answer always carries it: `{"data": [...], "nextCursor": "...", "hasMore": b}`.
    pub async fn feed<T, F, Fut>(
        &self,
        ctx: &Ctx,
        tenant: &TenantId,
        query_id: &str,
        read: F,
    ) -> ApiResult
    where
        T: Serialize,
        F: FnOnce(usize, Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, String, bool), ApiError>>,
    {
        let after = self.position(ctx, tenant, query_id).await?;
        let (data, next, has_more) = read(self.limit, after).await?;
        let mut resp = Paging::response(ctx, tenant, query_id, data, Some(next)).await?;
        if let Some(body) = resp.body.as_mut() {
            body["hasMore"] = json!(has_more);
        }
        Ok(resp)
    }

    /// `{"data": [...], "nextCursor": ...}`.
    async fn response(
        ctx: &Ctx,
        tenant: &TenantId,
        query_id: &str,
        data: impl Serialize,
        next: Option<String>,
    ) -> Result<ApiResponse, ApiError> {
        let next_cursor = match next {
            Some(position) => {
                let secret = ctx.store.cursor_secret().await?;
                Some(cursor::issue(
                    &secret,
                    tenant.as_str(),
                    query_id,
                    &position,
                )?)
            }
            None => None,
        };
        let mut resp = ApiResponse::ok(data)?;
        if let Some(body) = resp.body.as_mut() {
            body["nextCursor"] = json!(next_cursor);
        }
        Ok(resp)
    }
}
