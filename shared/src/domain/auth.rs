//! API keys and what a key may do.
//!
//! A key reads `<keyId>.<secret>`. Only the SHA-256 of the secret is stored; the key
//! id finds the record. Keys are 256-bit random, so a plain hash is enough (no
//! password stretching needed).

use base64::Engine;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::ApiError;
use super::ids::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// A freshly minted key: the full text is shown once, only the hash is kept.
pub struct NewKey {
    pub key_id: String,
    pub secret_hash: String,
    pub full: String,
}

pub fn mint_key() -> NewKey {
    let id: [u8; 8] = rand::random();
    let secret: [u8; 32] = rand::random();
    let key_id = format!("ak{}", hex(&id));
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    NewKey {
        secret_hash: hash_secret(&secret),
        full: format!("{key_id}.{secret}"),
        key_id,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A key id as minted: `ak` and 16 lowercase hex digits.
pub fn is_key_id(s: &str) -> bool {
    s.len() == 18
        && s.starts_with("ak")
        && s[2..]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Splits a presented key into id and secret, if it has the minted shape.
pub fn split_key(presented: &str) -> Option<(&str, &str)> {
    let (id, secret) = presented.split_once('.')?;
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    (is_key_id(id) && secret_ok).then_some((id, secret))
}

/// Compares two hashes in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The caller, as established by a valid key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub key_id: String,
    /// `None`: every establishment of the tenant.
    pub establishments: Option<Vec<Uuid>>,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This API key lacks the {} scope",
                scope.as_str()
            )))
        }
    }

    pub fn check_establishment(&self, id: Uuid) -> Result<(), ApiError> {
        match &self.establishments {
            Some(list) if !list.contains(&id) => Err(ApiError::Forbidden(
                "This API key may not access this establishment".into(),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_split_and_hash() {
        let k = mint_key();
        let (id, secret) = split_key(&k.full).unwrap();
        assert_eq!(id, k.key_id);
        assert!(hashes_match(&hash_secret(secret), &k.secret_hash));
        assert!(!k.full.contains(&k.secret_hash));
        let other = mint_key();
        assert_ne!(k.full, other.full);
    }

    #[test]
    fn malformed_keys_do_not_split() {
        let k = mint_key();
        for bad in [
            "",
            "nodot",
            &k.full[..k.full.len() - 1],
            &format!("{}x", k.full),
            &k.full.replace("ak", "AK"),
            ".secret",
        ] {
            assert!(split_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn scopes_and_establishments() {
        let e1 = Uuid::from_u128(1);
        let p = Principal {
            tenant: TenantId::parse("t").unwrap(),
            key_id: "ak0000000000000000".into(),
            establishments: Some(vec![e1]),
            scopes: vec![Scope::Read],
        };
        assert!(p.require(Scope::Read).is_ok());
        assert_eq!(p.require(Scope::Write).unwrap_err().status(), 403);
        assert!(p.check_establishment(e1).is_ok());
        assert_eq!(
            p.check_establishment(Uuid::from_u128(2))
                .unwrap_err()
                .status(),
            403
        );
        let all = Principal {
            establishments: None,
            ..p
        };
        assert!(all.check_establishment(Uuid::from_u128(2)).is_ok());
    }
}
