//! Establishments: a hotel of a tenant, with the time zone its cutoffs follow.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::validate::{name, time_zone, Fields};

pub const MAX_NAME_CHARS: usize = 200;

/// The body of `PUT /v1/establishments/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EstablishmentInput {
    pub name: String,
    pub time_zone: Tz,
}

impl EstablishmentInput {
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(obj);
        let name = f.required("name", &name(1, MAX_NAME_CHARS));
        let time_zone = f.required("timeZone", &time_zone);
        f.finish()?;
        match (name, time_zone) {
            (Some(name), Some(time_zone)) => Ok(EstablishmentInput { name, time_zone }),
            _ => Err(ApiError::Internal("validated fields missing".into())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Establishment {
    pub establishment_id: Uuid,
    pub name: String,
    #[serde(serialize_with = "tz_name")]
    pub time_zone: Tz,
    #[serde(serialize_with = "instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    pub updated_at: DateTime<Utc>,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// RFC 3339 UTC with a `Z` and whole seconds: `2026-08-02T00:00:00Z`.
pub fn format_instant(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn instant<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_valid_body() {
        let o = json!({"name": "Hôtel du Port", "timeZone": "Europe/Paris"});
        let e = EstablishmentInput::parse(o.as_object().unwrap()).unwrap();
        assert_eq!(e.name, "Hôtel du Port");
        assert_eq!(e.time_zone, chrono_tz::Europe::Paris);
    }

    #[test]
    fn reports_all_problems_at_once() {
        let o = json!({"name": "", "timeZone": "Nowhere/City", "establishmentId": "x"});
        let Err(ApiError::Validation(issues)) = EstablishmentInput::parse(o.as_object().unwrap())
        else {
            panic!("expected validation error")
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["name", "timeZone", "establishmentId"]);
    }

    #[test]
    fn time_zone_is_required() {
        let o = json!({"name": "A"});
        let Err(ApiError::Validation(issues)) = EstablishmentInput::parse(o.as_object().unwrap())
        else {
            panic!("expected validation error")
        };
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "timeZone");
        assert_eq!(issues[0].issue, "is required");
    }
}
