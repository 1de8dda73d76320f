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
    #[serde(with = "zone_name")]
    pub time_zone: Tz,
    #[serde(serialize_with = "instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "instant")]
    pub updated_at: DateTime<Utc>,
}

/// A time zone as its IANA name (`#[serde(with = "zone_name")]`); a stored name that
/// is no IANA zone is an error, never UTC.
pub mod zone_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom(format!("unknown time zone {name:?}")))
    }
}

/// RFC 3339 UTC with a `Z` and whole seconds: `2026-08-02T00:00:00Z`.
pub fn format_instant(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn instant<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(t))
}

/// A stored establishment with the count of its active allotments and groups, and
/// its version (moved by every profile and inventory change: the sequence of its
/// events).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEstablishment {
    pub establishment: Establishment,
    pub active_holds: i64,
    pub version: i64,
}

/// What `PUT` does.
#[derive(Debug, Clone, PartialEq)]
pub struct EstablishmentPlan {
    pub plan: super::plan::Plan,
    pub establishment: Establishment,
    pub created: bool,
}

/// Plans a create or update: `createdAt` is kept; the time zone cannot change while
/// the establishment holds active allotments or groups (`409 INVALID_STATE`), and the
/// write requires that still to be so.
pub fn plan_put(
    establishment_id: Uuid,
    current: Option<&StoredEstablishment>,
    input: &EstablishmentInput,
    now: DateTime<Utc>,
) -> Result<EstablishmentPlan, ApiError> {
    use super::plan::{Change, EstablishmentGuard, Plan};
    let (guard, created_at) = match current {
        None => (EstablishmentGuard::New, now),
        Some(c) if c.establishment.time_zone == input.time_zone => {
            (EstablishmentGuard::Exists, c.establishment.created_at)
        }
        Some(c) if c.active_holds > 0 => {
            return Err(ApiError::InvalidState(
                "The time zone cannot change while the establishment has active allotments or capacity groups".into(),
            ))
        }
        Some(c) => (
            EstablishmentGuard::ExistsWithoutHolds,
            c.establishment.created_at,
        ),
    };
    let establishment = Establishment {
        establishment_id,
        name: input.name.clone(),
        time_zone: input.time_zone,
        created_at,
        updated_at: now,
    };
    let version = current.map_or(0, |c| c.version) + 1;
    use super::event::{Event, EventData, EventType};
    Ok(EstablishmentPlan {
        plan: Plan::new()
            .with(Change::Establishment {
                record: establishment.clone(),
                guard,
                version,
            })
            .with(Event::establishment(
                EventType::EstablishmentUpdated,
                now,
                establishment_id,
                version,
                EventData::Establishment(establishment.clone()),
            )),
        establishment,
        created: current.is_none(),
    })
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

    #[test]
    fn put_plans() {
        use crate::domain::plan::{Change, EstablishmentGuard};
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t1 = t0 + chrono::Duration::days(1);
        let paris = EstablishmentInput {
            name: "Port".into(),
            time_zone: chrono_tz::Europe::Paris,
        };
        let lisbon = EstablishmentInput {
            name: "Port".into(),
            time_zone: chrono_tz::Europe::Lisbon,
        };
        let stored = |holds| StoredEstablishment {
            establishment: Establishment {
                establishment_id: Uuid::nil(),
                name: "Old".into(),
                time_zone: chrono_tz::Europe::Paris,
                created_at: t0,
                updated_at: t0,
            },
            active_holds: holds,
            version: 4,
        };
        // (current, input, guard or refusal, created)
        let cases = [
            (None, &paris, Ok(EstablishmentGuard::New), true),
            (
                Some(stored(3)),
                &paris,
                Ok(EstablishmentGuard::Exists),
                false,
            ),
            (
                Some(stored(0)),
                &lisbon,
                Ok(EstablishmentGuard::ExistsWithoutHolds),
                false,
            ),
            (Some(stored(1)), &lisbon, Err("INVALID_STATE"), false),
        ];
        for (current, input, want, created) in cases {
            match (plan_put(Uuid::nil(), current.as_ref(), input, t1), want) {
                (Ok(p), Ok(guard)) => {
                    assert_eq!(p.created, created);
                    assert_eq!(p.establishment.created_at, if created { t1 } else { t0 });
                    assert_eq!(p.establishment.updated_at, t1);
                    let version = if created { 1 } else { 5 };
                    assert!(matches!(
                        &p.plan.changes[..],
                        [Change::Establishment { guard: g, version: v, .. }, Change::Event(e)]
                            if *g == guard && *v == version && e.sequence == version
                                && e.event_type == crate::domain::event::EventType::EstablishmentUpdated
                                && e.data == crate::domain::event::EventData::Establishment(p.establishment.clone())
                    ));
                }
                (Err(e), Err(code)) => assert_eq!(e.code(), code),
                (got, want) => panic!("{got:?} vs {want:?}"),
            }
        }
    }
}
