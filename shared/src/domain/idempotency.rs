//! `Idempotency-Key`: what a keyed `POST` records and when a record answers a retry.
//!
//! There is no lock. A keyed write puts its record — the whole response it will give —
//! in the SAME transaction as its effect, on the condition that the key is free (never
//! used, or its record expired): both exist or neither. A retry (same key, lost
//! answer, duplicate in flight) then either finds the record and replays it, or finds
//! nothing because nothing happened, and runs. Two attempts in flight at once cannot
//! both commit: each requires the key to be free.
//! Business refusals that are replayed (`404`, `409`) are recorded by a conditional put
//! of their own, which loses to a success committed meanwhile (the success is replayed).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// How long a recorded response is replayed.
pub const RETENTION_SECS: i64 = 24 * 3600;

/// A keyed request: the key, what identifies the request, and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub key: String,
    /// [`fingerprint`] of method, path and body.
    pub fingerprint: String,
    pub trace_id: String,
    pub at: DateTime<Utc>,
}

/// A response as sent, and as replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub trace_id: String,
}

/// A record found under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub fingerprint: String,
    pub at: DateTime<Utc>,
    /// `None`: a record of the earlier, lock-based design that never completed.
    pub response: Option<StoredResponse>,
}

/// What a request whose key is taken answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The same request: its first response.
    Replay(StoredResponse),
    /// Another request under the same key: `422 IDEMPOTENCY_KEY_REUSED`.
    Reused,
    /// The key is free after all (expired, or an abandoned lock): run the request.
    Free,
}

impl Intent {
    /// What the record found under this request's key means for it.
    pub fn judge(&self, found: &Recorded) -> Verdict {
        if is_expired(found.at, self.at) {
            return Verdict::Free;
        }
        if found.fingerprint != self.fingerprint {
            return Verdict::Reused;
        }
        match &found.response {
            Some(r) => Verdict::Replay(r.clone()),
            None => Verdict::Free,
        }
    }
}

/// A record written at `at` no longer answers at `now`.
pub fn is_expired(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at.timestamp() <= now.timestamp() - RETENTION_SECS
}

/// The outcomes a key keeps: successes, `404` and the business `409`s. Everything
/// else leaves the key free for a corrected retry.
pub fn is_recorded(status: u16) -> bool {
    (200..300).contains(&status) || status == 404 || status == 409
}

/// The request's fingerprint: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex(&h.finalize())
}

/// The key's digest (records are kept under it, never under the key itself).
pub fn key_digest(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An `Idempotency-Key` is 1–255 visible ASCII characters.
pub fn valid_idempotency_key(k: &[u8]) -> bool {
    (1..=255).contains(&k.len()) && k.iter().all(|c| (0x21..=0x7e).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn idempotency_keys() {
        assert!(valid_idempotency_key(b"abc-123_XYZ"));
        assert!(valid_idempotency_key("k".repeat(255).as_bytes()));
        assert!(!valid_idempotency_key("k".repeat(256).as_bytes()));
        assert!(!valid_idempotency_key(b""));
        assert!(!valid_idempotency_key(b"has space"));
        assert!(!valid_idempotency_key("clé".as_bytes()));
        assert!(!valid_idempotency_key(b"bad\xff"));
    }

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let a = fingerprint("POST", "/v1/allotments", b"{}");
        assert_eq!(a, fingerprint("POST", "/v1/allotments", b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/allotments", b"{ }"));
        assert_ne!(a, fingerprint("POST", "/v1/allotmentsx", b"{}"));
        assert_ne!(
            fingerprint("POST", "/a", b"b"),
            fingerprint("POST", "/ab", b"")
        );
    }

    #[test]
    fn what_a_record_means_for_a_retry() {
        let intent = Intent {
            key: "k".into(),
            fingerprint: "fp".into(),
            trace_id: "t2".into(),
            at: at("2026-06-02T10:00:00Z"),
        };
        let response = StoredResponse {
            status: 201,
            headers: vec![],
            body: Some("{}".into()),
            trace_id: "t1".into(),
        };
        let rec = |fp: &str, when: &str, response: Option<StoredResponse>| Recorded {
            fingerprint: fp.into(),
            at: at(when),
            response,
        };
        let cases = [
            (
                rec("fp", "2026-06-02T09:59:00Z", Some(response.clone())),
                Verdict::Replay(response.clone()),
            ),
            (
                rec("other", "2026-06-02T09:59:00Z", Some(response.clone())),
                Verdict::Reused,
            ),
            (
                rec("other", "2026-06-01T10:00:00Z", Some(response.clone())),
                Verdict::Free,
            ),
            (
                rec("fp", "2026-06-01T10:00:01Z", Some(response.clone())),
                Verdict::Replay(response.clone()),
            ),
            (rec("fp", "2026-06-02T09:59:00Z", None), Verdict::Free),
        ];
        for (found, want) in cases {
            assert_eq!(intent.judge(&found), want, "{found:?}");
        }
        assert!(is_recorded(201) && is_recorded(404) && is_recorded(409));
        assert!(!is_recorded(400) && !is_recorded(422) && !is_recorded(503));
    }
}
