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
/// Enrolment tokens live a day unless asked otherwise, a month at most.
const ENROLLMENT_TTL_HOURS: (u32, u32, u32) = (24, 1, 720);

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
    Ok(())
}

pub(crate) fn parse_role(role: &str) -> ApiResult<Role> {
    Role::parse(role)
        .ok_or_else(|| ApiError::bad(format!("role {role:?}: expected viewer, analyst or admin")))
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
/// for (default 24, clamped to 1..=720).
pub(crate) fn enrollment_ttl_ms(hours: Option<u32>) -> i64 {
    let (default, min, max) = ENROLLMENT_TTL_HOURS;
    i64::from(hours.unwrap_or(default).clamp(min, max)) * 3_600_000
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
        assert_eq!(enrollment_ttl_ms(Some(10_000)), 720 * 3_600_000);
    }
}
