//! What a valid new user, API token or enrolment token is: one set of
//! rules for the API and the console's forms, so that the two cannot
//! drift apart (they did: the console once took a token name of spaces).

use crate::auth::Role;
use crate::kit::{ApiError, ApiResult};

const MIN_PASSWORD: usize = 12;
/// Generous for passphrases, small enough that hashing stays cheap.
const MAX_PASSWORD: usize = 1024;
const MAX_NAME: usize = 64;
/// Longest API token name.
const MAX_TOKEN_NAME: usize = 200;
/// Enrolment tokens live a day unless asked otherwise, a year at most: a
/// reusable token baked into an image or a launch template outlives a
/// month, and an admin revokes it when it leaks.
const ENROLLMENT_TTL_HOURS: (u32, u32, u32) = (24, 1, 8760);
/// The most uses one enrolment token may allow.
pub(crate) const MAX_TOKEN_USES: i64 = 1_000_000;

pub(crate) fn check_name(name: &str) -> ApiResult<()> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "name {name:?}: 1 to {MAX_NAME} characters among A-Z a-z 0-9 . _ @ -"
        )))
    }
}

pub(crate) fn check_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(ApiError::bad(format!(
            "password: at least {MIN_PASSWORD} characters"
        )));
    }
    if n > MAX_PASSWORD {
        return Err(ApiError::bad(format!(
            "password: at most {MAX_PASSWORD} characters"
        )));
    }
    if let Some(why) = weak_password(password) {
        return Err(ApiError::bad(format!("password: {why}")));
    }
    Ok(())
}

/// Well-known passwords long enough to pass the length rule; compared
/// without case and ignoring spaces. Short on purpose: a guesser's list
/// starts with these.
const COMMON_PASSWORDS: &[&str] = &[
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password123!",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "qwertyuiop12",
    "qwerty123456",
    "qwertyuiopasdf",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "iloveyou1234",
    "letmein12345",
    "administrator",
    "administrator1",
    "changemechangeme",
    "welcome12345",
    "welcome123456",
    "adminadmin123",
    "kensakensakensa",
    "correcthorsebatterystaple",
];

/// Why `password` is trivially guessable, if it is: blank, a run of a
/// few characters (`aaaa…`, `abab…`, `123123…`), a run along the keyboard
/// or the digits, or a well-known one.
fn weak_password(password: &str) -> Option<&'static str> {
    let chars: Vec<char> = password.chars().collect();
    if password.trim().is_empty() {
        return Some("blank");
    }
    let distinct: std::collections::BTreeSet<char> = chars.iter().copied().collect();
    if distinct.len() < 4 {
        return Some("too few different characters");
    }
    let repeats = (1..=chars.len() / 2).any(|p| {
        chars.len().is_multiple_of(p) && chars.iter().enumerate().all(|(i, c)| *c == chars[i % p])
    });
    if repeats {
        return Some("a repeated pattern");
    }
    let step = |a: char, b: char| u32::from(b).wrapping_sub(u32::from(a));
    let ascending = chars.windows(2).all(|w| step(w[0], w[1]) == 1);
    if ascending {
        return Some("a run of consecutive characters");
    }
    let folded: String = password
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if COMMON_PASSWORDS.contains(&folded.as_str()) {
        return Some("a well-known password");
    }
    None
}

pub(crate) fn parse_role(role: &str) -> ApiResult<Role> {
    Role::parse(role).ok_or_else(|| {
        ApiError::bad(format!(
            "role {role:?}: expected viewer, analyst, auditor or admin"
        ))
    })
}

/// An API token's name: something to recognise it by in a list.
pub(crate) fn check_token_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.len() > MAX_TOKEN_NAME {
        return Err(ApiError::bad(format!(
            "name: 1 to {MAX_TOKEN_NAME} characters"
        )));
    }
    Ok(())
}

/// An enrolment token's lifetime in milliseconds, from the hours asked
/// for (default 24, clamped to 1..=8760), for the API and the console.
pub(crate) fn enrollment_ttl_ms(hours: Option<u32>) -> i64 {
    let (default, min, max) = ENROLLMENT_TTL_HOURS;
    i64::from(hours.unwrap_or(default).clamp(min, max)) * 3_600_000
}

/// A new enrolment token as an admin asked for it (API or console form),
/// checked and tidied: the one rule for both.
pub(crate) struct EnrollmentTokenSpec {
    pub name: Option<String>,
    pub ttl_ms: i64,
    pub max_uses: i64,
    pub defaults: kensa_store::EnrollmentDefaults,
}

pub(crate) fn enrollment_token_spec(
    name: Option<String>,
    ttl_hours: Option<u32>,
    max_uses: Option<i64>,
    defaults: Option<kensa_store::EnrollmentDefaults>,
) -> ApiResult<EnrollmentTokenSpec> {
    let max_uses = max_uses.unwrap_or(1);
    if !(1..=MAX_TOKEN_USES).contains(&max_uses) {
        return Err(ApiError::bad(format!(
            "max_uses: {max_uses}: expected 1 to {MAX_TOKEN_USES}"
        )));
    }
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_TOKEN_NAME)
    {
        return Err(ApiError::bad(format!(
            "name: at most {MAX_TOKEN_NAME} characters"
        )));
    }
    let mut defaults = defaults.unwrap_or_default();
    for (key, v) in [
        ("defaults.owner", &mut defaults.owner),
        ("defaults.team", &mut defaults.team),
        ("defaults.environment", &mut defaults.environment),
    ] {
        *v = v
            .take()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if v.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ApiError::bad(format!("{key}: at most 200 characters")));
        }
    }
    defaults.tags = defaults
        .tags
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if defaults.tags.len() > 50 || defaults.tags.iter().any(|t| t.chars().count() > 100) {
        return Err(ApiError::bad(
            "defaults.tags: at most 50 tags of at most 100 characters",
        ));
    }
    Ok(EnrollmentTokenSpec {
        name,
        ttl_ms: enrollment_ttl_ms(ttl_hours),
        max_uses,
        defaults,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_need_more_than_spaces() {
        assert!(check_token_name("ci").is_ok());
        assert!(check_token_name("").is_err());
        assert!(check_token_name("   ").is_err());
        assert!(check_token_name(&"a".repeat(201)).is_err());
    }

    #[test]
    fn enrollment_ttl_is_clamped() {
        assert_eq!(enrollment_ttl_ms(None), 24 * 3_600_000);
        assert_eq!(enrollment_ttl_ms(Some(0)), 3_600_000);
        // A year: what a launch template's token needs, for the API and
        // the console alike (they once clamped to 8760 and 720 h).
        assert_eq!(enrollment_ttl_ms(Some(8760)), 8760 * 3_600_000);
        assert_eq!(enrollment_ttl_ms(Some(10_000)), 8760 * 3_600_000);
    }

    #[test]
    fn enrollment_token_specs_are_checked_and_tidied() {
        let s = enrollment_token_spec(
            Some("  web  ".into()),
            Some(720),
            Some(5),
            Some(kensa_store::EnrollmentDefaults {
                owner: Some("  ".into()),
                team: Some(" web ".into()),
                environment: None,
                tags: vec![" a ".into(), "".into()],
            }),
        )
        .expect("valid");
        assert_eq!(s.name.as_deref(), Some("web"));
        assert_eq!(s.ttl_ms, 720 * 3_600_000);
        assert_eq!(s.defaults.owner, None);
        assert_eq!(s.defaults.team.as_deref(), Some("web"));
        assert_eq!(s.defaults.tags, ["a"]);
        let none = enrollment_token_spec(None, None, None, None).expect("defaults");
        assert_eq!((none.max_uses, none.ttl_ms), (1, 24 * 3_600_000));
        for bad in [0, MAX_TOKEN_USES + 1] {
            let e = enrollment_token_spec(None, None, Some(bad), None)
                .err()
                .expect("refused");
            assert!(e.message().contains("max_uses"), "{}", e.message());
        }
        assert!(enrollment_token_spec(Some("x".repeat(201)), None, None, None).is_err());
    }
}
