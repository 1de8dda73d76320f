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
    let events = kit::events_dir();
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

/// Every function triggered by events (not by a route) has a sample event of the
/// trigger the template gives it: a schedule's event, or an SQS batch.
#[test]
fn every_event_function_has_a_sample_event_of_its_trigger() {
    let doc: serde_yaml::Value = serde_yaml::from_str(shared::template::TEMPLATE).unwrap();
    let triggers: Vec<(String, String)> = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| {
            let binary = r.get("Metadata")?.get("BuildProperties")?.get("Binary")?;
            let kinds: Vec<String> = r
                .get("Properties")?
                .get("Events")?
                .as_mapping()?
                .values()
                .filter_map(|e| e.get("Type")?.as_str().map(str::to_string))
                .filter(|k| k != "HttpApi")
                .collect();
            Some((binary.as_str()?.to_string(), kinds.first()?.clone()))
        })
        .chain(stream_mappings(&doc))
        .collect();
    let mut event_functions: Vec<String> = local_server::event_functions()
        .iter()
        .map(|f| f.to_string())
        .collect();
    event_functions.sort();
    let mut triggered: Vec<String> = triggers.iter().map(|(f, _)| f.clone()).collect();
    triggered.sort();
    assert_eq!(
        triggered, event_functions,
        "the local server runs every event function"
    );
    for (function, kind) in triggers {
        let path = kit::events_dir().join(format!("{function}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        match kind.as_str() {
            "Schedule" => {
                assert_eq!(
                    event["detail-type"],
                    "Scheduled Event",
                    "{}",
                    path.display()
                );
                assert!(event["time"].is_string(), "{}", path.display());
            }
            "SQS" => {
                let records = event["Records"].as_array().expect("SQS records");
                assert!(!records.is_empty());
                for r in records {
                    assert_eq!(r["eventSource"], "aws:sqs", "{}", path.display());
                    assert!(r["messageId"].is_string() && r["body"].is_string());
                }
            }
            "DynamoDB" => {
                let records = event["Records"].as_array().expect("stream records");
                assert!(!records.is_empty());
                for r in records {
                    assert_eq!(r["eventSource"], "aws:dynamodb", "{}", path.display());
                    assert!(r["dynamodb"]["SequenceNumber"].is_string());
                    assert!(r["dynamodb"]["Keys"].is_object());
                }
            }
            other => panic!("{function}: no sample check for a {other} trigger"),
        }
    }
}

/// Functions fed by a DynamoDB stream through an `AWS::Lambda::EventSourceMapping` of
/// their own (not a SAM event): `(binary, "DynamoDB")`.
fn stream_mappings(doc: &serde_yaml::Value) -> Vec<(String, String)> {
    let resources = doc["Resources"].as_mapping().unwrap();
    resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Lambda::EventSourceMapping"))
        .filter_map(|m| {
            let serde_yaml::Value::Tagged(f) = &m["Properties"]["FunctionName"] else {
                return None;
            };
            let function = &resources[f.value.as_str()?];
            let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            Some((binary.to_string(), "DynamoDB".to_string()))
        })
        .collect()
}

#[test]
fn the_openapi_document_lists_exactly_the_deployed_routes() {
    let deployed: Vec<(String, String)> =
        routes().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(kit::spec::openapi_operations(), deployed);
}

/// OWASP API4: every input the document describes is bounded (strings by length,
/// pattern, format or enum; numbers by a maximum; arrays by maxItems), and every list
/// operation takes a bounded `limit`. A new unbounded field fails here.
#[test]
fn every_input_in_the_openapi_document_is_bounded() {
    use serde_json::Value;
    let doc: Value = serde_yaml::from_str(shared::template::OPENAPI).unwrap();
    let resolve = |node: &Value| -> Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap().clone(),
            None => node.clone(),
        }
    };
    fn walk(
        doc: &Value,
        schema: &Value,
        at: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            if seen.insert(r.to_string()) {
                let target = doc.pointer(r.trim_start_matches('#')).unwrap();
                walk(doc, target, r, seen, out);
            }
            return;
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            for (i, s) in schema[key].as_array().into_iter().flatten().enumerate() {
                walk(doc, s, &format!("{at}/{key}/{i}"), seen, out);
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let has = |k: &str| schema.get(k).is_some();
        if types.contains(&"string")
            && !(has("maxLength") || has("pattern") || has("format") || has("enum"))
        {
            out.push(format!(
                "{at}: string without maxLength/pattern/format/enum"
            ));
        }
        if (types.contains(&"integer") || types.contains(&"number")) && !has("maximum") {
            out.push(format!("{at}: number without maximum"));
        }
        if types.contains(&"array") {
            if !has("maxItems") {
                out.push(format!("{at}: array without maxItems"));
            }
            walk(doc, &schema["items"], &format!("{at}/items"), seen, out);
        }
        if let Some(props) = schema["properties"].as_object() {
            for (name, s) in props {
                walk(doc, s, &format!("{at}/{name}"), seen, out);
            }
        }
    }

    let mut unbounded = Vec::new();
    let mut seen = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let shared_params = item["parameters"].as_array().cloned().unwrap_or_default();
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let at = format!("{} {path}", method.to_uppercase());
            let params: Vec<Value> = shared_params
                .iter()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(&resolve)
                .collect();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                walk(
                    &doc,
                    &p["schema"],
                    &format!("{at} {name}"),
                    &mut seen,
                    &mut unbounded,
                );
            }
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                walk(
                    &doc,
                    schema,
                    &format!("{at} body"),
                    &mut seen,
                    &mut unbounded,
                );
            }
            let lists = op
                .pointer("/responses/200")
                .map(&resolve)
                .and_then(|r| r.pointer("/content/application~1json/schema").map(&resolve))
                .is_some_and(|s| s.pointer("/properties/nextCursor").is_some());
            if lists {
                let limit = params.iter().find(|p| p["name"] == "limit");
                assert!(
                    limit.is_some_and(|l| l["schema"]["maximum"].as_u64() == Some(100)),
                    "{at}: a list operation takes `limit` with a maximum of 100"
                );
            }
        }
    }
    assert!(
        unbounded.is_empty(),
        "unbounded inputs:\n{}",
        unbounded.join("\n")
    );
}
