//! The local server: every route of `infra/template.yaml` served on one port by the
//! same handler code the Lambda functions run (through `shared::http::dispatch`),
//! plus the local-only `POST /_local/events/{function}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::State;
use axum::response::Response as AxumResponse;
use axum::Router;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use shared::domain::error::ApiError;
use shared::http::{dispatch, error_body, Ctx, Function, BODY_LIMIT};
use shared::template::{default_route_function, match_route, routes, Route, RouteMatch};

/// Every HTTP function, by the binary name the template gives it.
pub fn functions() -> Vec<Function> {
    vec![
        put_establishment::FUNCTION,
        get_establishment::FUNCTION,
        put_inventory::FUNCTION,
        get_availability::FUNCTION,
        create_allotment::FUNCTION,
        get_allotment::FUNCTION,
        get_allotment_nights::FUNCTION,
        list_allotments::FUNCTION,
        patch_allotment::FUNCTION,
        confirm_allotment::FUNCTION,
        release_allotment::FUNCTION,
        cancel_allotment::FUNCTION,
        create_allocation::FUNCTION,
        list_allocations::FUNCTION,
        list_events::FUNCTION,
        create_pickup::FUNCTION,
        list_pickups::FUNCTION,
        cancel_pickup::FUNCTION,
        get_settlement::FUNCTION,
        create_capacity_group::FUNCTION,
        get_capacity_group::FUNCTION,
        list_capacity_groups::FUNCTION,
        delete_capacity_group::FUNCTION,
        patch_capacity_group::FUNCTION,
        get_openapi::FUNCTION,
        route_fallback::FUNCTION,
    ]
}

/// Functions triggered by events (`POST /_local/events/{function}`).
pub fn event_functions() -> Vec<&'static str> {
    vec![
        cutoff_release::NAME,
        cutoff_release_worker::NAME,
        publish_events::NAME,
    ]
}

struct App {
    ctx: Ctx,
    routes: Vec<Route>,
    functions: HashMap<&'static str, Function>,
    /// What the template's `$default` route runs (unknown paths, other methods).
    fallback: Function,
}

/// The router: a single fallback that matches the template's routes itself.
pub fn app(ctx: Ctx) -> Router {
    let functions: HashMap<_, _> = functions().into_iter().map(|f| (f.name, f)).collect();
    let fallback = default_route_function()
        .and_then(|name| functions.get(name.as_str()).copied())
        .unwrap_or(route_fallback::FUNCTION);
    let app = App {
        ctx,
        routes: routes(),
        functions,
        fallback,
    };
    Router::new().fallback(handle).with_state(Arc::new(app))
}

/// Serves until the listener fails or the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, ctx: Ctx) -> std::io::Result<()> {
    axum::serve(listener, app(ctx)).await
}

fn error_response(err: ApiError, module: &str) -> AxumResponse {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let body = error_body(&err, &trace_id, module);
    let mut builder = AxumResponse::builder()
        .status(err.status())
        .header("Content-Type", "application/json")
        .header("X-Trace-Id", trace_id);
    if let ApiError::MethodNotAllowed(allowed) = &err {
        builder = builder.header("Allow", allowed.join(", "));
    }
    builder
        .body(AxumBody::from(body.to_string()))
        .expect("static response parts")
}

async fn handle(State(app): State<Arc<App>>, req: http::Request<AxumBody>) -> AxumResponse {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();

    if let Some(name) = path.strip_prefix("/_local/events/") {
        let name = name.to_string();
        let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
        return local_event(&app.ctx, &name, &parts.method, &bytes).await;
    }

    let (function, params, route_key) = match match_route(&app.routes, parts.method.as_str(), &path)
    {
        RouteMatch::Found(route, params) => match app.functions.get(route.function.as_str()) {
            Some(f) => (*f, params, format!("{} {}", route.method, route.path)),
            None => {
                return error_response(
                    ApiError::Internal(format!("no handler for {}", route.function)),
                    "local-server",
                )
            }
        },
        _ => (app.fallback, Vec::new(), "$default".to_string()),
    };

    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return error_response(ApiError::PayloadTooLarge, function.name),
    };
    let query: HashMap<String, Vec<String>> = parts
        .uri
        .query()
        .map(|q| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
            map
        })
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Binary(bytes.to_vec())
    };
    let context = request_context(route_key, &path, &parts.method);
    let request = http::Request::from_parts(parts, body)
        .with_path_parameters(params.into_iter().collect::<HashMap<_, _>>())
        .with_query_string_parameters(query)
        .with_request_context(context);

    let response = dispatch(&function, &app.ctx, request).await;
    let (parts, body) = response.into_parts();
    AxumResponse::from_parts(parts, AxumBody::from(body.to_vec()))
}

/// What API Gateway's HTTP API puts in the request context, as far as the functions
/// read it: the matched route (for the log line) and the method and path.
fn request_context(route_key: String, path: &str, method: &http::Method) -> RequestContext {
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_string());
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key);
    context.stage = Some("$default".to_string());
    context.http = http;
    RequestContext::ApiGatewayV2(context)
}

/// Runs an event function's handler on the posted event. Locally the event `time`
/// may lie anywhere (to test cutoffs).
async fn local_event(ctx: &Ctx, name: &str, method: &http::Method, body: &[u8]) -> AxumResponse {
    if !event_functions().contains(&name) {
        return error_response(
            ApiError::NotFound("No such event function".into()),
            "local-server",
        );
    }
    if method != http::Method::POST {
        return error_response(ApiError::MethodNotAllowed(vec!["POST".into()]), name);
    }
    let event: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            return error_response(
                ApiError::BadRequest("The event must be a JSON object".into()),
                name,
            )
        }
    };
    // The scheduled run drains its queue in process through the worker's handler; the
    // worker itself takes an SQS event; the publisher a DynamoDB stream event, whose
    // events it logs (no bus locally).
    let result = if name == publish_events::NAME {
        publish_stream_event(event).await
    } else if name == cutoff_release_worker::NAME {
        let options = cutoff_release_worker::WorkerOptions::local();
        cutoff_release_worker::handle_event(&ctx.store, &event, &options).await
    } else {
        cutoff_release_worker::deliver_locally(&ctx.store, &event)
            .await
            .map(|(report, _)| cutoff_release::answer(&report))
    };
    match result {
        Ok(result) => AxumResponse::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .header("X-Trace-Id", uuid::Uuid::new_v4().simple().to_string())
            .body(AxumBody::from(result.to_string()))
            .expect("static response parts"),
        Err(e) => error_response(e, name),
    }
}

async fn publish_stream_event(event: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let event: publish_events::aws_lambda_events::dynamodb::Event = serde_json::from_value(event)
        .map_err(|_| {
        ApiError::BadRequest("The event must be a DynamoDB stream event".into())
    })?;
    publish_events::handle(&publish_events::bus::LogBus, &event, None)
        .await
        .map(|outcome| publish_events::answer(&outcome))
        .map_err(ApiError::Internal)
}
