//! `GET /v1/allotments/{allotmentId}`: the representation with `cutoff`, `totals`
//! and an `ETag`.

use shared::http::{ApiRequest, ApiResponse, ApiResult, Ctx};

shared::function!("get-allotment", Read, handle);

async fn handle(ctx: Ctx, req: ApiRequest) -> ApiResult {
    let (record, grid) = req.allotment(&ctx).await?;
    Ok(ApiResponse::ok(record.representation(&grid))?.with_header("ETag", record.etag()))
}

#[cfg(test)]
mod tests;
