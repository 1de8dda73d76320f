//! Validation that collects every failing field, then fails once.
//!
//! [`Fields`] walks a JSON object: each `required`/`optional` call takes one field
//! and records an issue if it is missing or breaks its rule; [`Fields::finish`]
//! adds one issue per unknown field and returns the `VALIDATION_ERROR`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::dates::parse_date;
use super::error::{ApiError, FieldIssue};
use super::ids::{parse_uuid, UnitTypeId};

/// A rule that turns a JSON value into `T` or says what is wrong with it.
pub type Rule<'r, T> = &'r dyn Fn(&Value) -> Result<T, String>;

/// Parses a request body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::BadRequest(
            "The request body must be a JSON object".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "The request body must be a JSON object".into(),
        )),
        Err(_) => Err(ApiError::BadRequest(
            "The request body is not valid JSON".into(),
        )),
    }
}

pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    taken: BTreeSet<&'a str>,
    issues: Vec<FieldIssue>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Self::nested(obj, "")
    }

    /// Fields of a nested object, named `prefix.field` in issues.
    pub fn nested(obj: &'a Map<String, Value>, prefix: &str) -> Self {
        Fields {
            obj,
            prefix: prefix.to_string(),
            taken: BTreeSet::new(),
            issues: Vec::new(),
        }
    }

    fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    pub fn issue(&mut self, field: &str, issue: impl Into<String>) {
        let name = self.name(field);
        self.issues.push(FieldIssue::new(name, issue));
    }

    /// Records an issue whose field is already fully named (from a nested validator).
    pub fn issue_raw(&mut self, issue: FieldIssue) {
        self.issues.push(issue);
    }

    pub fn has_issue(&self, field: &str) -> bool {
        let name = self.name(field);
        self.issues.iter().any(|i| i.field == name)
    }

    fn take(&mut self, field: &'static str) -> Option<&'a Value> {
        self.taken.insert(field);
        self.obj.get(field)
    }

    /// A field that must be present and not null.
    pub fn required<T>(&mut self, field: &'static str, rule: Rule<T>) -> Option<T> {
        match self.take(field) {
            None | Some(Value::Null) => {
                self.issue(field, "is required");
                None
            }
            Some(v) => self.apply(field, v, rule),
        }
    }

    /// A field that may be absent (`None`); null is refused.
    pub fn optional<T>(&mut self, field: &'static str, rule: Rule<T>) -> Option<T> {
        match self.take(field) {
            None => None,
            Some(Value::Null) => {
                self.issue(field, "must not be null");
                None
            }
            Some(v) => self.apply(field, v, rule),
        }
    }

    /// A nullable field: absent → `Absent`, null → `Null`, else the value.
    pub fn nullable<T>(&mut self, field: &'static str, rule: Rule<T>) -> Patch<T> {
        match self.take(field) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(v) => match self.apply(field, v, rule) {
                Some(t) => Patch::Value(t),
                None => Patch::Invalid,
            },
        }
    }

    fn apply<T>(&mut self, field: &str, v: &Value, rule: Rule<T>) -> Option<T> {
        match rule(v) {
            Ok(t) => Some(t),
            Err(issue) => {
                self.issue(field, issue);
                None
            }
        }
    }

    /// The issues so far plus one per unknown field.
    pub fn into_issues(mut self) -> Vec<FieldIssue> {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !self.taken.contains(k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            self.issue(&k, "is not a known field");
        }
        self.issues
    }

    pub fn finish(self) -> Result<(), ApiError> {
        let issues = self.into_issues();
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(issues))
        }
    }
}

/// The three states of a nullable field (as in a JSON merge patch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch<T> {
    Absent,
    Null,
    Value(T),
    /// Present but broke its rule (the issue is recorded).
    Invalid,
}

/// Query-string parameters, checked like body fields (values are strings).
/// Unknown and repeated parameters are refused.
pub struct QueryParams {
    params: Vec<(String, String)>,
    taken: BTreeSet<&'static str>,
    issues: Vec<FieldIssue>,
}

impl QueryParams {
    pub fn new(params: Vec<(String, String)>) -> Self {
        QueryParams {
            params,
            taken: BTreeSet::new(),
            issues: Vec::new(),
        }
    }

    fn take(&mut self, name: &'static str) -> Option<Value> {
        self.taken.insert(name);
        let mut values = self.params.iter().filter(|(k, _)| k == name);
        let first = values.next()?;
        if values.next().is_some() {
            self.issues
                .push(FieldIssue::new(name, "must be given at most once"));
            return None;
        }
        Some(Value::String(first.1.clone()))
    }

    pub fn required<T>(&mut self, name: &'static str, rule: Rule<T>) -> Option<T> {
        match self.take(name) {
            None => {
                if !self.issues.iter().any(|i| i.field == name) {
                    self.issues.push(FieldIssue::new(name, "is required"));
                }
                None
            }
            Some(v) => self.apply(name, &v, rule),
        }
    }

    pub fn optional<T>(&mut self, name: &'static str, rule: Rule<T>) -> Option<T> {
        let v = self.take(name)?;
        self.apply(name, &v, rule)
    }

    fn apply<T>(&mut self, name: &str, v: &Value, rule: Rule<T>) -> Option<T> {
        match rule(v) {
            Ok(t) => Some(t),
            Err(issue) => {
                self.issues.push(FieldIssue::new(name, issue));
                None
            }
        }
    }

    pub fn issue(&mut self, name: &str, issue: impl Into<String>) {
        self.issues.push(FieldIssue::new(name, issue));
    }

    pub fn has_issue(&self, name: &str) -> bool {
        self.issues.iter().any(|i| i.field == name)
    }

    pub fn finish(mut self) -> Result<(), ApiError> {
        let mut unknown: Vec<String> = self
            .params
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !self.taken.contains(k.as_str()))
            .collect();
        unknown.sort();
        unknown.dedup();
        for k in unknown {
            self.issues
                .push(FieldIssue::new(k, "is not a known query parameter"));
        }
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.issues))
        }
    }
}

// ---- rules ------------------------------------------------------------------

/// A string of `min..=max` characters (Unicode scalar values).
pub fn string(min: usize, max: usize) -> impl Fn(&Value) -> Result<String, String> {
    move |v| match v {
        Value::String(s) => {
            let n = s.chars().count();
            if n < min || n > max {
                Err(format!("must be {min}-{max} characters"))
            } else if s.chars().any(|c| c.is_control()) {
                Err("must not contain control characters".into())
            } else {
                Ok(s.clone())
            }
        }
        _ => Err("must be a string".into()),
    }
}

/// A non-blank name: like [`string`] but not only white space.
pub fn name(min: usize, max: usize) -> impl Fn(&Value) -> Result<String, String> {
    let inner = string(min, max);
    move |v| {
        let s = inner(v)?;
        if s.trim().is_empty() {
            Err("must not be blank".into())
        } else {
            Ok(s)
        }
    }
}

/// An integer (no fraction, not a string) in `min..=max`.
pub fn integer(min: i64, max: i64) -> impl Fn(&Value) -> Result<i64, String> {
    move |v| match v.as_i64() {
        Some(n) if v.is_i64() || v.is_u64() => {
            if n < min || n > max {
                Err(format!("must be an integer from {min} to {max}"))
            } else {
                Ok(n)
            }
        }
        _ => Err(format!("must be an integer from {min} to {max}")),
    }
}

/// An integer written as text (a query parameter) in `min..=max`.
pub fn integer_text(min: i64, max: i64) -> impl Fn(&Value) -> Result<i64, String> {
    move |v| {
        v.as_str()
            .filter(|s| !s.is_empty() && s.len() <= 18 && s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("must be an integer from {min} to {max}"))
    }
}

pub fn date(v: &Value) -> Result<NaiveDate, String> {
    v.as_str()
        .and_then(parse_date)
        .ok_or_else(|| "must be a date YYYY-MM-DD".to_string())
}

pub fn uuid(v: &Value) -> Result<Uuid, String> {
    v.as_str()
        .and_then(parse_uuid)
        .ok_or_else(|| "must be a UUID".to_string())
}

pub fn unit_type_id(v: &Value) -> Result<UnitTypeId, String> {
    match v {
        Value::String(s) => UnitTypeId::parse(s),
        _ => Err("must be a string of 1-64 characters of A-Z a-z 0-9 _ - .".into()),
    }
}

pub fn time_zone(v: &Value) -> Result<chrono_tz::Tz, String> {
    v.as_str()
        .and_then(|s| s.parse::<chrono_tz::Tz>().ok())
        .ok_or_else(|| "must be a valid IANA time zone such as Europe/Paris".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reports_every_failing_field_and_every_unknown_field() {
        let o = obj(json!({"capacity": 2.5, "from": "2026-9-1", "status": "x", "id": 1}));
        let mut f = Fields::new(&o);
        assert_eq!(f.required("capacity", &integer(0, 10)), None);
        assert_eq!(f.required("from", &date), None);
        assert_eq!(f.required("unitTypeId", &unit_type_id), None);
        let err = f.finish().unwrap_err();
        let ApiError::Validation(issues) = err else {
            panic!("not a validation error")
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["capacity", "from", "unitTypeId", "id", "status"]);
    }

    #[test]
    fn integers_refuse_fractions_strings_and_out_of_range() {
        let rule = integer(0, 100_000);
        assert_eq!(rule(&json!(3)), Ok(3));
        assert_eq!(rule(&json!(0)), Ok(0));
        for bad in [
            json!(2.5),
            json!("3"),
            json!(-1),
            json!(100_001),
            json!(3.0),
            json!(null),
        ] {
            assert!(rule(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_count_characters_not_bytes() {
        let rule = name(1, 3);
        assert_eq!(rule(&json!("Hôt")), Ok("Hôt".to_string()));
        assert!(rule(&json!("Hôte")).is_err());
        assert!(rule(&json!("")).is_err());
        assert!(rule(&json!("  ")).is_err());
        assert!(rule(&json!(5)).is_err());
        assert!(rule(&json!("a\u{0}")).is_err());
    }

    #[test]
    fn nested_fields_are_named_with_their_path() {
        let o = obj(json!({"quantity": "3", "extra": true}));
        let mut f = Fields::nested(&o, "unitAllocations[0]");
        f.required("quantity", &integer(1, 10));
        let issues = f.into_issues();
        assert_eq!(issues[0].field, "unitAllocations[0].quantity");
        assert_eq!(issues[1].field, "unitAllocations[0].extra");
    }

    #[test]
    fn nullable_distinguishes_absent_null_and_value() {
        let o = obj(json!({"a": null, "b": "x", "c": 4}));
        let mut f = Fields::new(&o);
        assert_eq!(f.nullable("a", &string(1, 5)), Patch::Null);
        assert_eq!(f.nullable("b", &string(1, 5)), Patch::Value("x".into()));
        assert_eq!(f.nullable("c", &string(1, 5)), Patch::Invalid);
        assert_eq!(f.nullable("d", &string(1, 5)), Patch::Absent);
        assert!(f.finish().is_err());
    }

    #[test]
    fn body_must_be_a_json_object() {
        assert!(matches!(parse_object(b"[1]"), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_object(b"{"), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_object(b""), Err(ApiError::BadRequest(_))));
        assert!(parse_object(br#"{"a":1}"#).is_ok());
    }

    #[test]
    fn query_parameters_refuse_unknown_and_repeated_names() {
        let mut q = QueryParams::new(vec![
            ("from".into(), "2026-09-01".into()),
            ("to".into(), "2026-09-02".into()),
            ("to".into(), "2026-09-03".into()),
            ("colour".into(), "red".into()),
        ]);
        assert!(q.required("from", &date).is_some());
        assert!(q.required("to", &date).is_none());
        assert!(q.required("unitTypeId", &unit_type_id).is_none());
        let Err(ApiError::Validation(issues)) = q.finish() else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["to", "unitTypeId", "colour"]);
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(time_zone(&json!("Europe/Paris")).is_ok());
        assert!(time_zone(&json!("Asia/Kolkata")).is_ok());
        assert!(time_zone(&json!("Mars/Olympus")).is_err());
        assert!(time_zone(&json!("+02:00")).is_err());
    }
}
