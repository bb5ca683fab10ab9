//! An officer's action on an alert: `POST /api/v1/alerts/{id}/{ack|resolve|close}` with
//! `{"note": "..."}`. The changed alert comes back over the websocket within a second.

use super::auth::{AuthError, parse_error};
use super::request;

/// The URL of an action (`ack`, `resolve`, `close`) on alert `id`.
pub fn action_url(id: u64, action: &str) -> String {
    format!("/api/v1/alerts/{id}/{action}")
}

/// Sends `action` on alert `id` with the officer's `note` (trimmed). A refusal or a failure
/// comes back as the session's requests tell theirs.
pub async fn act(id: u64, action: &str, note: &str) -> Result<(), AuthError> {
    let note = js_sys::JSON::stringify(&note.trim().into())
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "\"\"".into());
    let body = format!("{{\"note\":{note}}}");
    match request("POST", &action_url(id, action), Some(body)).await? {
        (status, _) if (200..300).contains(&status) => Ok(()),
        (status, text) => Err(parse_error(status, &text)),
    }
}
