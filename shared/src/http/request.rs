//! The request as handlers see it: already size-checked and authenticated.

use std::collections::HashMap;

use http::HeaderMap;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::auth::Principal;
use crate::domain::error::ApiError;
use crate::domain::ids::parse_uuid;
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
    pub async fn allotment(
        &self,
        ctx: &super::Ctx,
    ) -> Result<
        (
            crate::domain::allotment::AllotmentRecord,
            crate::domain::allotment::Grid,
        ),
        ApiError,
    > {
        let id = self.path_uuid("allotmentId")?;
        let principal = self.principal()?;
        let (record, grid) = ctx.store.require_allotment(&principal.tenant, id).await?;
        principal.check_establishment(record.establishment_id)?;
        Ok((record, grid))
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

    /// The version named by `If-Match` (`"3"`, `W/"3"` or `3`), if the header is sent.
    /// A value that names no version can never match: `412`.
    pub fn if_match(&self) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.header("if-match") else {
            return Ok(None);
        };
        let v = raw.trim().trim_start_matches("W/").trim_matches('"');
        v.parse()
            .map(Some)
            .map_err(|_| ApiError::PreconditionFailed)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
