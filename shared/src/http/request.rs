//! The request as handlers see it: already size-checked and authenticated.

use std::collections::HashMap;

use chrono::NaiveDate;
use http::HeaderMap;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::command::{Attempt, Command, Decision};
use crate::domain::allotment::{AllotmentPlan, AllotmentRecord, Grid};
use crate::domain::auth::Principal;
use crate::domain::error::ApiError;
use crate::domain::establishment::Establishment;
use crate::domain::ids::{parse_uuid, TenantId};
use crate::domain::validate::parse_object;

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    pub path_params: HashMap<String, String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trace_id: String,
    pub(crate) principal: Option<Principal>,
    /// The request's `Idempotency-Key` (a keyed `POST`), set by the edge.
    pub(crate) intent: Option<crate::domain::idempotency::Intent>,
}

impl ApiRequest {
    /// The caller. Present for every function that is not `Access::Public`.
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::Internal("no principal on an authenticated route".into()))
    }

    /// A UUID path parameter (any letter case); `VALIDATION_ERROR` naming it otherwise.
    pub fn path_uuid(&self, name: &str) -> Result<Uuid, ApiError> {
        self.path_params
            .get(name)
            .and_then(|v| parse_uuid(v))
            .ok_or_else(|| ApiError::validation(name, "must be a UUID"))
    }

    /// The path's establishment, checked against the key's establishment scope.
    pub fn establishment_id(&self) -> Result<Uuid, ApiError> {
        let id = self.path_uuid("establishmentId")?;
        self.principal()?.check_establishment(id)?;
        Ok(id)
    }

    /// The establishment a list's query names (validated with the rest of the query:
    /// present once it passed), within the key's scope (`403`) and existing (`404`).
    pub async fn listed_establishment(
        &self,
        ctx: &super::Ctx,
        est: Option<Uuid>,
    ) -> Result<Uuid, ApiError> {
        let est =
            est.ok_or_else(|| ApiError::Internal("validated establishmentId missing".into()))?;
        let principal = self.principal()?;
        principal.check_establishment(est)?;
        ctx.store
            .require_establishment(&principal.tenant, est)
            .await?;
        Ok(est)
    }

    /// The establishment a creation body names (`id`, when its `establishmentId` reads
    /// as one), within the key's scope (`403`), and `now`'s date in its time zone
    /// (what the body's dates are checked against). `None` when it names none, or none
    /// of this tenant: the body is checked first, then the answer is `404`.
    pub async fn named_establishment(
        &self,
        ctx: &super::Ctx,
        id: Option<Uuid>,
        now: crate::Instant,
    ) -> Result<Option<(Establishment, NaiveDate)>, ApiError> {
        let Some(id) = id else { return Ok(None) };
        let principal = self.principal()?;
        principal.check_establishment(id)?;
        let found = ctx.store.get_establishment(&principal.tenant, id).await?;
        Ok(found.map(|e| {
            let today = now.with_timezone(&e.time_zone).date_naive();
            (e, today)
        }))
    }

    /// The body as a JSON object (`BAD_REQUEST` if it is not one).
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        parse_object(&self.body)
    }

    /// Like [`Self::json_object`], but an empty body reads as `{}`.
    pub fn optional_json_object(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            Ok(Map::new())
        } else {
            self.json_object()
        }
    }

    /// The allotment of the path, for this tenant (`404` otherwise) and within the
    /// key's establishment scope (`403`).
    pub async fn allotment(&self, ctx: &super::Ctx) -> Result<(AllotmentRecord, Grid), ApiError> {
        let id = self.path_uuid("allotmentId")?;
        let principal = self.principal()?;
        let (record, grid) = ctx.store.require_allotment(&principal.tenant, id).await?;
        principal.check_establishment(record.establishment_id)?;
        Ok((record, grid))
    }

    /// Runs a command on the allotment of the path (`command::execute`): each round
    /// reads it as [`Self::allotment`] does and `plan` decides on it (`None`: nothing
    /// to write); the answer is the representation of what the plan leaves (or of the
    /// allotment read), with its `ETag`.
    pub async fn change_allotment<F>(
        &self,
        ctx: &super::Ctx,
        plan: F,
    ) -> Result<super::ApiResponse, ApiError>
    where
        F: Fn(&AllotmentRecord, &Grid, Attempt) -> Result<Option<AllotmentPlan>, ApiError> + Sync,
    {
        let command = AllotmentCommand {
            ctx,
            req: self,
            tenant: self.principal()?.tenant.clone(),
            plan,
        };
        super::run_command(self, &ctx.store, &command, |(record, grid)| {
            Ok(super::ApiResponse::ok(record.representation(grid))?
                .with_header("ETag", record.etag()))
        })
        .await
    }

    /// Applies the parts `part` plans of a change too big for one (a release whose
    /// event would list too many nights), each its own command — read, plan, apply,
    /// never under the request's key — until it plans none. What is left, the
    /// request's own [`Self::change_allotment`] does (with the key): a retry after a
    /// failure finds the parts applied and goes on.
    pub async fn change_allotment_in_parts<F>(
        &self,
        ctx: &super::Ctx,
        part: F,
    ) -> Result<(), ApiError>
    where
        F: Fn(&AllotmentRecord, &Grid, Attempt) -> Result<Option<AllotmentPlan>, ApiError> + Sync,
    {
        loop {
            let planned = std::sync::atomic::AtomicBool::new(false);
            let command = AllotmentCommand {
                ctx,
                req: self,
                tenant: self.principal()?.tenant.clone(),
                plan: |record: &AllotmentRecord, grid: &Grid, attempt: Attempt| {
                    let p = part(record, grid, attempt)?;
                    planned.store(p.is_some(), std::sync::atomic::Ordering::SeqCst);
                    Ok(p)
                },
            };
            crate::command::execute(&ctx.store, &command).await?;
            if !planned.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
        }
    }

    /// The capacity group of the path, for this tenant (`404` otherwise) and within
    /// the key's establishment scope (`403`).
    pub async fn capacity_group(
        &self,
        ctx: &super::Ctx,
    ) -> Result<crate::store::groups::LoadedGroup, ApiError> {
        let id = self.path_uuid("capacityGroupId")?;
        let principal = self.principal()?;
        let g = ctx.store.require_group(&principal.tenant, id).await?;
        principal.check_establishment(g.record.establishment_id)?;
        Ok(g)
    }

    /// The version named by `If-Match` (`"3"`, `W/"3"` or `3`), if the header is sent;
    /// `*` (any current version) is the same as no header. Another entity tag can never
    /// match one we issue: `412`. A value that is no entity tag at all (empty, spaces,
    /// unquoted text) is a `400` naming `If-Match`.
    pub fn if_match(&self) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.headers.get("if-match") else {
            return Ok(None);
        };
        parse_if_match(raw.to_str().unwrap_or("\u{0}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The command of [`ApiRequest::change_allotment`].
struct AllotmentCommand<'a, F> {
    ctx: &'a super::Ctx,
    req: &'a ApiRequest,
    tenant: TenantId,
    plan: F,
}

impl<F> Command for AllotmentCommand<'_, F>
where
    F: Fn(&AllotmentRecord, &Grid, Attempt) -> Result<Option<AllotmentPlan>, ApiError> + Sync,
{
    type State = (AllotmentRecord, Grid, Attempt);
    type Output = (AllotmentRecord, Grid);

    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    async fn load(&self, attempt: Attempt) -> Result<Self::State, ApiError> {
        let (record, grid) = self.req.allotment(self.ctx).await?;
        Ok((record, grid, attempt))
    }

    fn plan(
        &self,
        (record, grid, attempt): Self::State,
    ) -> Result<Decision<Self::Output>, ApiError> {
        Ok(match (self.plan)(&record, &grid, attempt)? {
            Some(p) => Decision::Apply(p.plan, (p.record, p.grid)),
            None => Decision::Answer((record, grid)),
        })
    }
}

/// See [`ApiRequest::if_match`].
fn parse_if_match(raw: &str) -> Result<Option<i64>, ApiError> {
    let value = raw.trim();
    if value == "*" {
        return Ok(None);
    }
    let version = |digits: &str| -> Option<i64> {
        (!digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    };
    if let Some(v) = version(value) {
        return Ok(Some(v));
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    let opaque = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| t.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)));
    match opaque {
        Some(inner) => version(inner).map(Some).ok_or(ApiError::PreconditionFailed),
        None => Err(ApiError::validation(
            "If-Match",
            "must be an entity tag such as \"3\" (or *)",
        )),
    }
}

#[cfg(test)]
mod if_match_tests {
    use super::*;

    #[test]
    fn entity_tags_versions_and_malformed_values() {
        assert_eq!(parse_if_match("\"3\"").unwrap(), Some(3));
        assert_eq!(parse_if_match("W/\"12\"").unwrap(), Some(12));
        assert_eq!(parse_if_match(" 7 ").unwrap(), Some(7));
        assert_eq!(parse_if_match("*").unwrap(), None);
        // Well-formed tags we never issue cannot match.
        for stale in ["\"abc\"", "W/\"\"", "\"99999999999999999999\""] {
            assert_eq!(
                parse_if_match(stale).unwrap_err().code(),
                "PRECONDITION_FAILED"
            );
        }
        for bad in ["", "  ", "abc", "\"3", "3\"", "\"a b\"", "-1"] {
            assert_eq!(
                parse_if_match(bad).unwrap_err().code(),
                "VALIDATION_ERROR",
                "{bad:?}"
            );
        }
    }
}
