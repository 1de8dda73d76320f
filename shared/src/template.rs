//! Reads `infra/template.yaml`, the one definition of routes and of the table.
//!
//! The local server routes with [`routes`], the fallback function answers
//! 404/405 with them, and tests and `make dev` create the table from
//! [`table_definition`], so nothing here can drift from what is deployed.

use serde_yaml::Value;

/// The SAM template, embedded at build time.
pub const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// The OpenAPI document of the API, embedded at build time.
pub const OPENAPI: &str = include_str!("../../infra/openapi.yaml");

/// The OpenAPI document as JSON.
pub fn openapi_json() -> serde_json::Value {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(OPENAPI).expect("infra/openapi.yaml is valid YAML");
    serde_json::to_value(doc).expect("the OpenAPI document converts to JSON")
}

/// One HttpApi route of a function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

fn doc() -> Value {
    serde_yaml::from_str(TEMPLATE).expect("infra/template.yaml is valid YAML")
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn functions(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) {
        for (_, r) in resources {
            if r.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let binary = r
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str);
            if let Some(binary) = binary {
                out.push((binary.to_string(), r));
            }
        }
    }
    out
}

/// Every HttpApi route of the template (the `$default` route excluded), sorted.
pub fn routes() -> Vec<Route> {
    let doc = doc();
    let mut out = Vec::new();
    for (function, r) in functions(&doc) {
        let Some(events) = r
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for (_, e) in events {
            if e.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let props = e.get("Properties");
            let path = props
                .and_then(|p| p.get("Path"))
                .map(untag)
                .and_then(Value::as_str);
            let method = props
                .and_then(|p| p.get("Method"))
                .map(untag)
                .and_then(Value::as_str);
            if let (Some(path), Some(method)) = (path, method) {
                out.push(Route {
                    method: method.to_ascii_uppercase(),
                    path: path.to_string(),
                    function: function.clone(),
                });
            }
        }
    }
    out.sort();
    out
}

/// The function that serves the HttpApi `$default` route (an HttpApi event with
/// neither path nor method), if any.
pub fn default_route_function() -> Option<String> {
    let doc = doc();
    for (function, r) in functions(&doc) {
        let events = r
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping)?;
        for (_, e) in events {
            if e.get("Type").and_then(Value::as_str) == Some("HttpApi")
                && e.get("Properties").and_then(|p| p.get("Path")).is_none()
            {
                return Some(function);
            }
        }
    }
    None
}

/// The outcome of matching a request against the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch<'a> {
    Found(&'a Route, Vec<(String, String)>),
    /// The path is known; the methods it accepts, in the template's order.
    MethodNotAllowed(Vec<String>),
    NotFound,
}

/// Matches a method and path against route templates (`{name}` matches one
/// non-empty segment).
pub fn match_route<'a>(routes: &'a [Route], method: &str, path: &str) -> RouteMatch<'a> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut allowed: Vec<String> = Vec::new();
    for route in routes {
        let pattern: Vec<&str> = route.path.trim_start_matches('/').split('/').collect();
        if pattern.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let matched = pattern.iter().zip(&segments).all(|(p, s)| {
            if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                params.push((name.to_string(), s.to_string()));
                !s.is_empty()
            } else {
                p == s
            }
        });
        if !matched {
            continue;
        }
        if route.method == method || route.method == "ANY" {
            return RouteMatch::Found(route, params);
        }
        if !allowed.contains(&route.method) {
            allowed.push(route.method.clone());
        }
    }
    if !allowed.is_empty() {
        RouteMatch::MethodNotAllowed(allowed)
    } else {
        RouteMatch::NotFound
    }
}

/// The table's keys and indexes as the template defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// (name, type `S`/`N`/`B`)
    pub attributes: Vec<(String, String)>,
    /// (name, `HASH`/`RANGE`)
    pub key_schema: Vec<(String, String)>,
    pub global_indexes: Vec<IndexDefinition>,
    pub ttl_attribute: Option<String>,
    /// The stream's view type (`NEW_IMAGE`, ...), when the table has a stream.
    pub stream_view_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection: String,
}

fn key_schema(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|k| {
            Some((
                k.get("AttributeName")?.as_str()?.to_string(),
                k.get("KeyType")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The first `AWS::DynamoDB::Table` of the template.
pub fn table_definition() -> TableDefinition {
    let doc = doc();
    let props = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .find(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::DynamoDB::Table"))
        .and_then(|(_, r)| r.get("Properties"))
        .expect("the template defines a DynamoDB table");
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a.get("AttributeName")?.as_str()?.to_string(),
                a.get("AttributeType")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let global_indexes = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|g| {
            Some(IndexDefinition {
                name: g.get("IndexName")?.as_str()?.to_string(),
                key_schema: key_schema(g.get("KeySchema")),
                projection: g
                    .get("Projection")
                    .and_then(|p| p.get("ProjectionType"))
                    .and_then(Value::as_str)
                    .unwrap_or("ALL")
                    .to_string(),
            })
        })
        .collect();
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .and_then(|t| t.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let stream_view_type = props
        .get("StreamSpecification")
        .and_then(|s| s.get("StreamViewType"))
        .and_then(Value::as_str)
        .map(str::to_string);
    TableDefinition {
        attributes,
        key_schema: key_schema(props.get("KeySchema")),
        global_indexes,
        ttl_attribute,
        stream_view_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            function: "f".into(),
        }
    }

    #[test]
    fn matches_templates_and_tells_404_from_405() {
        let routes = vec![
            route("PUT", "/v1/establishments/{establishmentId}"),
            route("GET", "/v1/establishments/{establishmentId}/availability"),
        ];
        match match_route(&routes, "PUT", "/v1/establishments/abc") {
            RouteMatch::Found(r, params) => {
                assert_eq!(r.method, "PUT");
                assert_eq!(params, vec![("establishmentId".into(), "abc".into())]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            match_route(&routes, "DELETE", "/v1/establishments/abc"),
            RouteMatch::MethodNotAllowed(vec!["PUT".to_string()])
        );
        assert_eq!(
            match_route(&routes, "GET", "/v1/establishments/"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route(&routes, "GET", "/v1/nothing"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route(&routes, "GET", "/v1/establishments/a/b"),
            RouteMatch::NotFound
        );
    }

    #[test]
    fn the_template_defines_routes_and_the_table() {
        let routes = routes();
        assert!(routes.iter().any(|r| r.function == "put-establishment"
            && r.method == "PUT"
            && r.path == "/v1/establishments/{establishmentId}"));
        assert_eq!(default_route_function().as_deref(), Some("route-fallback"));
        let t = table_definition();
        assert_eq!(
            t.key_schema,
            vec![("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]
        );
        assert!(t.global_indexes.iter().any(|g| g.name == "GSI1"));
        assert_eq!(t.ttl_attribute.as_deref(), Some("expiresAt"));
        assert_eq!(t.stream_view_type.as_deref(), Some("NEW_IMAGE"));
    }
}
