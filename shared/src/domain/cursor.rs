//! Opaque, signed list cursors.
//!
//! A cursor carries the position to continue from, and a MAC over that position, the
//! tenant and the query. A cursor the API did not issue for this query by this
//! tenant (forged, altered, reused elsewhere) fails verification: `400`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], tenant: &str, query: &str, position: &str) -> Result<HmacSha256, ApiError> {
    let mut m = HmacSha256::new_from_slice(secret)
        .map_err(|_| ApiError::Internal("cursor secret".into()))?;
    for part in [tenant, query, position] {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part.as_bytes());
    }
    Ok(m)
}

/// Issues a cursor for `position` (any string) of `query` by `tenant`.
pub fn issue(secret: &[u8], tenant: &str, query: &str, position: &str) -> Result<String, ApiError> {
    let tag = mac(secret, tenant, query, position)?
        .finalize()
        .into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(position.as_bytes()),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The longest cursor accepted (issued ones are far shorter).
pub const MAX_CURSOR_LEN: usize = 1024;

/// The position of a cursor issued for this query and tenant, else `VALIDATION_ERROR`.
pub fn verify(secret: &[u8], tenant: &str, query: &str, cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("cursor", "is not a cursor issued for this query");
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let (position, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let position = URL_SAFE_NO_PAD.decode(position).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    let position = String::from_utf8(position).map_err(|_| invalid())?;
    mac(secret, tenant, query, &position)?
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_verify_only_for_their_query_and_tenant() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let c = issue(secret, "acme", "est=1&status=active", "2026-09-01#abc").unwrap();
        assert_eq!(
            verify(secret, "acme", "est=1&status=active", &c).unwrap(),
            "2026-09-01#abc"
        );
        assert!(verify(secret, "globex", "est=1&status=active", &c).is_err());
        assert!(verify(secret, "acme", "est=1", &c).is_err());
        assert!(verify(
            b"another secret..................",
            "acme",
            "est=1&status=active",
            &c
        )
        .is_err());
        let (pos, tag) = c.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("2026-01-01#zzz"));
        assert!(verify(secret, "acme", "est=1&status=active", &forged).is_err());
        assert!(verify(secret, "acme", "est=1&status=active", pos).is_err());
        assert!(verify(secret, "acme", "est=1&status=active", "!!!.???").is_err());
        let err = verify(secret, "acme", "q", "x.y").unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
        let long = format!("{c}{}", "A".repeat(MAX_CURSOR_LEN));
        assert!(verify(secret, "acme", "est=1&status=active", &long).is_err());
    }
}
