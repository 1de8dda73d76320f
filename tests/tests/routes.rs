//! The local server, the template and the function crates agree route by route.

use std::collections::BTreeSet;

use shared::template::{default_route_function, match_route, routes, RouteMatch};

fn registered() -> BTreeSet<String> {
    local_server::functions()
        .iter()
        .map(|f| f.name.to_string())
        .collect()
}

#[test]
fn every_template_function_has_a_local_handler_and_back() {
    let mut in_template: BTreeSet<String> = routes().into_iter().map(|r| r.function).collect();
    in_template.insert(default_route_function().expect("a $default route"));
    assert_eq!(in_template, registered());
}

#[test]
fn every_function_crate_is_deployed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let crates: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "admin" && n != "local-server")
        .collect();
    let mut served = registered();
    served.extend(
        local_server::event_functions()
            .iter()
            .map(|f| f.to_string()),
    );
    assert_eq!(crates, served, "every function crate is served locally");
    assert_eq!(
        crates,
        template_binaries(),
        "every function crate is deployed"
    );
}

/// The `Binary` of every function of the template.
fn template_binaries() -> BTreeSet<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(shared::template::TEMPLATE).unwrap();
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| {
            r.get("Metadata")?
                .get("BuildProperties")?
                .get("Binary")?
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn each_route_reaches_its_own_function() {
    let all = routes();
    assert!(!all.is_empty());
    for route in &all {
        let concrete = route
            .path
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        match match_route(&all, &route.method, &concrete) {
            RouteMatch::Found(found, _) => assert_eq!(found, route),
            other => panic!("{} {}: {other:?}", route.method, route.path),
        }
    }
    let names: BTreeSet<_> = all
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(names.len(), all.len(), "no route is defined twice");
}

#[test]
fn every_function_has_a_sample_event_that_names_its_route() {
    let events = shared::testing::events_dir();
    for route in routes() {
        let path = events.join(format!("{}.json", route.function));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            event["routeKey"],
            format!("{} {}", route.method, route.path),
            "{}",
            path.display()
        );
        assert_eq!(event["requestContext"]["http"]["method"], route.method);
    }
}

#[test]
fn the_openapi_document_lists_exactly_the_deployed_routes() {
    let deployed: Vec<(String, String)> =
        routes().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(shared::template::openapi_operations(), deployed);
}
