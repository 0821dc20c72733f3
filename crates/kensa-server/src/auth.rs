//! Tokens and who they let in.
//!
//! Every token is 32 random bytes, written hex with a prefix naming its
//! kind (`ket_` enrolment, `kat_` agent, `kst_` API/session), so that a
//! leaked one is recognisable in logs and scanners. The database keeps only
//! SHA-256 digests: a copy of the database authenticates nobody. Lookups
//! go by digest; the one comparison the server makes itself (the bootstrap
//! admin token) is constant-time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Result, ServerError};

/// A role. Not a ladder since the auditor (issue 17): an auditor reads
/// everything and signs reviews, an analyst triages and answers reviews,
/// and neither may do what the other does, so roles are compared with
/// [`Role::includes`] (a partial order), never with `<`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Reads findings, assets and coverage.
    Viewer,
    /// Also triages, and answers reviews for the assets it owns.
    Analyst,
    /// Reads what a viewer reads and signs reviews off; changes nothing
    /// else (no triage, no asset edits, no tokens).
    Auditor,
    /// Also manages users, tokens, enrolment, assets and reviews.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "analyst" => Some(Role::Analyst),
            "auditor" => Some(Role::Auditor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may do everything `needed` may: the admin
    /// everything, every role what a viewer does, and a role itself.
    pub fn includes(self, needed: Role) -> bool {
        self == needed || self == Role::Admin || needed == Role::Viewer
    }

    /// What two roles both allow: a token acts with what its own role and
    /// its owner's both include (an auditor's token owned by an analyst
    /// only reads).
    pub fn meet(self, other: Role) -> Role {
        if self.includes(other) {
            other
        } else if other.includes(self) {
            self
        } else {
            Role::Viewer
        }
    }
}

/// Who made a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A person or script with an API token.
    User { name: String, role: Role },
    /// An enrolled agent: it may write its own asset and nothing else.
    Agent { agent_id: i64, asset_id: i64 },
}

/// A new random token with `prefix`.
pub fn new_token(prefix: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ServerError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The digest stored for a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two digests.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let v = header?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_digests() {
        let a = new_token("kat_").expect("token");
        let b = new_token("kat_").expect("token");
        assert_ne!(a, b);
        assert!(a.starts_with("kat_") && a.len() == 4 + 64);
        assert_eq!(digest(&a).len(), 64);
        assert!(same_digest(&digest(&a), &digest(&a)));
        assert!(!same_digest(&digest(&a), &digest(&b)));
        assert!(!same_digest("ab", "abc"));
    }

    #[test]
    fn roles_form_a_lattice_with_the_auditor_beside_the_analyst() {
        use Role::*;
        assert!(Admin.includes(Auditor) && Admin.includes(Analyst));
        assert!(Auditor.includes(Viewer) && Analyst.includes(Viewer));
        assert!(!Auditor.includes(Analyst), "an auditor triages");
        assert!(!Analyst.includes(Auditor), "an analyst signs");
        assert!(!Viewer.includes(Auditor) && !Auditor.includes(Admin));
        assert_eq!(Auditor.meet(Analyst), Viewer);
        assert_eq!(Admin.meet(Auditor), Auditor);
        assert_eq!(Auditor.meet(Admin), Auditor);
        assert_eq!(Analyst.meet(Viewer), Viewer);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.meet(r), r);
        }
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
