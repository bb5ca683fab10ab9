//! The session's requests: who is logged in (`GET /api/v1/me`), logging in and out, and
//! trading a wall display's key for a session.
//!
//! The session is an HttpOnly cookie that the app never sees: same-origin requests carry it.
//! Reading the server's answers is pure (tested on the host); the `async` functions talk to
//! the server. [`AuthError`] is also how any other request of a logged-in screen fails
//! ([`super::alerts`]).

use serde::{Deserialize, Serialize};

use super::{Unreachable, request};

/// A session, as `GET /api/v1/me` and the login answer give it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    pub user: String,
    /// `admin`, `supervisor`, `officer`, `viewer`, or `display` for a wall display.
    pub role: String,
}

/// Why a request about the session failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401: no valid session, a wrong user name or password, an unknown or revoked key.
    Refused,
    /// 429: too many attempts; the server says when to try again.
    Throttled { retry_after_s: u64 },
    /// Any other status, and the server's message if it gave one.
    Status(u16, String),
    /// No answer (network down, server gone).
    Network,
}

impl From<Unreachable> for AuthError {
    fn from(_: Unreachable) -> AuthError {
        AuthError::Network
    }
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    error: String,
    #[serde(default)]
    retry_after_s: Option<f64>,
}

/// Reads an answer that carries a session (`/me`, login, display session).
pub fn parse_session(status: u16, body: &str) -> Result<Session, AuthError> {
    /// `GET /api/v1/me` answers 200 with `"user": null` when there is no session (so that a
    /// login page loads without an error in the browser's console).
    #[derive(Deserialize)]
    struct Answer {
        user: Option<String>,
        role: Option<String>,
    }
    if (200..300).contains(&status) {
        let a = serde_json::from_str::<Answer>(body)
            .map_err(|e| AuthError::Status(status, format!("not a session: {e}")))?;
        return match (a.user, a.role) {
            (Some(user), Some(role)) => Ok(Session { user, role }),
            _ => Err(AuthError::Refused),
        };
    }
    Err(parse_error(status, body))
}

/// Reads an error answer.
pub fn parse_error(status: u16, body: &str) -> AuthError {
    let answer = serde_json::from_str::<ErrorAnswer>(body).ok();
    match status {
        401 => AuthError::Refused,
        429 => AuthError::Throttled {
            // Whole seconds, rounded up; at least one.
            retry_after_s: answer
                .and_then(|a| a.retry_after_s)
                .filter(|s| s.is_finite())
                .map_or(1, |s| s.ceil().max(1.0) as u64),
        },
        _ => AuthError::Status(status, answer.map(|a| a.error).unwrap_or_default()),
    }
}

#[derive(Serialize)]
struct Credentials<'a> {
    user: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct DisplayKey<'a> {
    key: &'a str,
}

/// Who this browser is logged in as.
pub async fn me() -> Result<Session, AuthError> {
    let (status, body) = request("GET", "/api/v1/me", None).await?;
    parse_session(status, &body)
}

/// `POST /api/v1/login`: the server sets the session's cookie on success.
pub async fn login(user: &str, password: &str) -> Result<Session, AuthError> {
    let body = serde_json::to_string(&Credentials { user, password })
        .map_err(|e| AuthError::Status(0, e.to_string()))?;
    let (status, body) = request("POST", "/api/v1/login", Some(body)).await?;
    parse_session(status, &body)
}

/// `POST /api/v1/logout`. A 401 (the session had already ended) is as good as a logout.
pub async fn logout() -> Result<(), AuthError> {
    let (status, body) = request("POST", "/api/v1/logout", None).await?;
    if (200..300).contains(&status) || status == 401 {
        Ok(())
    } else {
        Err(parse_error(status, &body))
    }
}

/// `POST /api/v1/display/session`: trades a wall display's key for a session.
pub async fn display_session(key: &str) -> Result<Session, AuthError> {
    let body = serde_json::to_string(&DisplayKey { key })
        .map_err(|e| AuthError::Status(0, e.to_string()))?;
    let (status, body) = request("POST", "/api/v1/display/session", Some(body)).await?;
    parse_session(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        assert_eq!(
            parse_session(200, r#"{"user":"admin","role":"admin"}"#),
            Ok(Session {
                user: "admin".into(),
                role: "admin".into()
            })
        );
        assert_eq!(
            parse_session(401, r#"{"error":"wrong user name or password"}"#),
            Err(AuthError::Refused)
        );
        assert_eq!(parse_session(401, ""), Err(AuthError::Refused));
        assert_eq!(
            parse_session(429, r#"{"error":"too many attempts","retry_after_s":42}"#),
            Err(AuthError::Throttled { retry_after_s: 42 })
        );
        assert_eq!(
            parse_session(429, r#"{"error":"x","retry_after_s":0.2}"#),
            Err(AuthError::Throttled { retry_after_s: 1 })
        );
        assert_eq!(
            parse_session(429, "Too Many Requests"),
            Err(AuthError::Throttled { retry_after_s: 1 })
        );
        assert_eq!(
            parse_session(500, r#"{"error":"the store is down"}"#),
            Err(AuthError::Status(500, "the store is down".into()))
        );
        assert_eq!(
            parse_session(502, "<html>"),
            Err(AuthError::Status(502, String::new()))
        );
        assert!(matches!(
            parse_session(200, "<html>"),
            Err(AuthError::Status(200, _))
        ));
    }
}
