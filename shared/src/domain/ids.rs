//! Identifiers. UUIDs are accepted in any letter case and always written lowercase.

use std::fmt;

use uuid::Uuid;

/// Parses a UUID in its hyphenated form, any letter case.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok()
}

/// A unit type (room type) id: 1–64 chars of `A-Z a-z 0-9 _ - .`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitTypeId(String);

impl UnitTypeId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
        if ok {
            Ok(UnitTypeId(s.to_string()))
        } else {
            Err("must be 1-64 characters of A-Z a-z 0-9 _ - .".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant id (the name given to the admin tool): 1–64 chars of `A-Z a-z 0-9 _ - .`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, String> {
        UnitTypeId::parse(s)
            .map(|u| TenantId(u.0))
            .map_err(|_| "a tenant name is 1-64 characters of A-Z a-z 0-9 _ - .".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_in_any_case_come_out_lowercase() {
        let u = parse_uuid("2489E9AD-2EE2-8E00-8EC9-32D5F69181C0").unwrap();
        assert_eq!(u.to_string(), "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0");
        assert!(parse_uuid("2489e9ad2ee28e008ec932d5f69181c0").is_none());
        assert!(parse_uuid("{2489e9ad-2ee2-8e00-8ec9-32d5f69181c0}").is_none());
        assert!(parse_uuid("not-a-uuid").is_none());
    }

    #[test]
    fn unit_type_ids() {
        assert!(UnitTypeId::parse("dbl").is_ok());
        assert!(UnitTypeId::parse("DBL_sea-view.2").is_ok());
        assert!(UnitTypeId::parse(&"x".repeat(64)).is_ok());
        assert!(UnitTypeId::parse(&"x".repeat(65)).is_err());
        for bad in ["", "dbl room", "dbl#1", "chambre-à", "a/b"] {
            assert!(UnitTypeId::parse(bad).is_err(), "{bad}");
        }
    }
}
