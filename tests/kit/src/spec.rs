//! Checks a response against `infra/openapi.yaml`: the status must be one the
//! operation declares, and the body must validate against the declared schema
//! (JSON Schema 2020-12, formats included). Every handler test's response goes
//! through it ([`super::TestRequest::send`]), and so do the black-box tests'.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::Validator;
use serde_json::Value;

struct Spec {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec {
        doc: serde_yaml::from_str(shared::template::OPENAPI).expect("infra/openapi.yaml parses"),
        validators: Mutex::new(HashMap::new()),
    })
}

/// `~` and `/` escaped for a JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Follows a local `$ref` (`#/components/...`) of the document.
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> Result<(&'a Value, Option<String>), String> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| format!("non-local $ref {r}"))?;
            let target = doc
                .pointer(pointer)
                .ok_or_else(|| format!("dangling $ref {r}"))?;
            Ok((target, Some(pointer.to_string())))
        }
        None => Ok((node, None)),
    }
}

/// A validator for the schema at `pointer` in the document (compiled once): the
/// whole document is the root, so every `#/components/schemas/...` resolves.
fn validator(pointer: &str) -> Result<Arc<Validator>, String> {
    let spec = spec();
    if let Some(v) = spec.validators.lock().unwrap().get(pointer) {
        return Ok(v.clone());
    }
    let mut root = spec.doc.clone();
    // A URI fragment: the braces of path templates are percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = Value::String(format!("#{fragment}"));
    root["$schema"] = Value::String("https://json-schema.org/draft/2020-12/schema".into());
    let compiled = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("schema at {pointer} does not compile: {e}"))?;
    let compiled = Arc::new(compiled);
    spec.validators
        .lock()
        .unwrap()
        .insert(pointer.to_string(), compiled.clone());
    Ok(compiled)
}

/// Checks one response of the operation `route` (`"POST /v1/allotments"`, or
/// `"$default"` for the route fallback, whose answers are plain errors).
pub fn check_response(route: &str, status: u16, raw_body: &str) -> Result<(), String> {
    let spec = spec();
    let doc = &spec.doc;
    let (response, response_pointer) = if route == "$default" {
        let error = doc
            .pointer("/components/responses/Error")
            .ok_or("no Error response")?;
        (error, "/components/responses/Error".to_string())
    } else {
        let (method, path) = route
            .split_once(' ')
            .ok_or_else(|| format!("route key without a method: {route}"))?;
        let op_pointer = format!("/paths/{}/{}", escape(path), method.to_ascii_lowercase());
        let op = doc
            .pointer(&op_pointer)
            .ok_or_else(|| format!("{route} is not in the OpenAPI document"))?;
        let responses = op
            .get("responses")
            .ok_or_else(|| format!("{route} declares no responses"))?;
        let key = status.to_string();
        let key = if responses.get(&key).is_some() {
            key
        } else if responses.get("default").is_some() {
            "default".to_string()
        } else {
            return Err(format!(
                "{route} answered {status}, which the document does not declare: {raw_body}"
            ));
        };
        let node = &responses[&key];
        let (target, pointer) = resolve(doc, node)?;
        let pointer = pointer.unwrap_or(format!("{op_pointer}/responses/{key}"));
        (target, pointer)
    };
    let Some(content) = response.get("content") else {
        return if raw_body.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{route} {status}: the document declares no body, got {raw_body}"
            ))
        };
    };
    if content.get("application/json").is_none() {
        return Err(format!("{route} {status}: no application/json content"));
    }
    let schema_pointer = format!("{response_pointer}/content/application~1json/schema");
    let body: Value = serde_json::from_str(raw_body)
        .map_err(|e| format!("{route} {status}: body is not JSON ({e}): {raw_body}"))?;
    let validator = validator(&schema_pointer)?;
    let problems: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{route} {status} breaks the OpenAPI document: {}\nbody: {raw_body}",
            problems.join("; ")
        ))
    }
}

/// [`check_response`], as an assertion.
pub fn assert_response(route: &str, status: u16, raw_body: &str) {
    if let Err(problem) = check_response(route, status, raw_body) {
        panic!("{problem}");
    }
}

/// Every `(METHOD, path)` operation of the OpenAPI document, sorted.
pub fn openapi_operations() -> Vec<(String, String)> {
    let doc = shared::template::openapi_json();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "put", "post", "patch", "delete"] {
                if item.get(method).is_some() {
                    out.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_error_passes_and_an_undeclared_status_or_shape_fails() {
        let error = r#"{"code":"NOT_FOUND","message":"No such allotment","origin":{"boundedContext":"allotments","module":"get-allotment"},"status":404,"traceId":"0123456789abcdef0123456789abcdef"}"#;
        check_response("GET /v1/allotments/{allotmentId}", 404, error).unwrap();
        check_response("$default", 404, error).unwrap();
        // Not declared for this operation.
        assert!(check_response("GET /v1/allotments/{allotmentId}", 418, error).is_err());
        // The envelope without its code.
        let broken = error.replace(r#""code":"NOT_FOUND","#, "");
        assert!(check_response("GET /v1/allotments/{allotmentId}", 404, &broken).is_err());
        assert!(check_response("GET /v1/nothing", 200, "{}").is_err());
    }
}
