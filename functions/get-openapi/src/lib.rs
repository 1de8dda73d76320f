//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the API (no key needed).

use std::sync::OnceLock;

use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-openapi", Public, handle);

async fn handle(_ctx: Ctx, _req: ApiRequest) -> ApiResult {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    let doc = DOC.get_or_init(shared::template::openapi_json);
    // The document itself, not wrapped in `data`.
    Ok(ApiResponse::raw(200, doc.clone()).with_header("Cache-Control", "public, max-age=300"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::{unreachable_ctx, TestRequest};

    #[tokio::test]
    async fn serves_the_document_without_a_key_or_a_store() {
        let resp = TestRequest::event("get-openapi")
            .without_header("x-api-key")
            .send(&FUNCTION, &unreachable_ctx())
            .await;
        assert_eq!(resp.status, 200, "{}", resp.raw);
        assert_eq!(resp.body["openapi"], "3.1.0");
        assert!(resp.body["paths"]["/v1/allotments"]["post"].is_object());
    }
}
