//! Serves the HttpApi `$default` route: every request no route matches gets
//! `405 METHOD_NOT_ALLOWED` (known path) or `404 NOT_FOUND`, in the API's envelope.

use shared::domain::error::ApiError;
use shared::http::{ApiRequest, ApiResult, Ctx};
use shared::template::{match_route, routes, RouteMatch};

shared::function!("route-fallback", Public, handle);

async fn handle(_ctx: Ctx, req: ApiRequest) -> ApiResult {
    Err(unmatched(&req.method, &req.path))
}

/// The answer for a request that reached no route.
pub fn unmatched(method: &str, path: &str) -> ApiError {
    let routes = routes();
    match match_route(&routes, method, path) {
        RouteMatch::MethodNotAllowed(allowed) => ApiError::MethodNotAllowed(allowed),
        // A matched route never reaches this function; answer as if unknown.
        RouteMatch::Found(..) | RouteMatch::NotFound => {
            ApiError::NotFound("No such resource".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::{ctx, TestRequest};

    #[tokio::test]
    async fn known_path_with_another_method_is_405() {
        let ctx = ctx().await;
        let resp = TestRequest::event("route-fallback")
            .send(&FUNCTION, &ctx)
            .await;
        resp.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(resp.body["origin"]["module"], "route-fallback");
        // RFC 9110: a 405 lists the methods the path accepts.
        assert_eq!(resp.headers["allow"], "GET, PUT");
    }

    #[test]
    fn unknown_paths_are_404() {
        assert_eq!(unmatched("GET", "/v2/nothing").code(), "NOT_FOUND");
        assert_eq!(unmatched("GET", "/").code(), "NOT_FOUND");
        assert_eq!(
            unmatched("POST", "/v1/establishments/x/availability").code(),
            "METHOD_NOT_ALLOWED"
        );
    }
}
