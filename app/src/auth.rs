//! Who is at the screen: where the session stands ([`Auth`]), and a wall display's key.
//!
//! At start the app asks `GET /api/v1/me`; the console shows its login page without a session,
//! the wall its "no access" message. A wall opened at `/wall?key=...` first trades the key for
//! a session (`POST /api/v1/display/session`) and takes the key out of the address bar. The
//! requests themselves are in [`crate::api::auth`].
//!
//! Editing the address is pure (tested on the host); the `async` functions talk to the server.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use crate::api::auth::{AuthError, Session, display_session, logout, me};
use crate::api::sleep_ms;

/// How often the wall asks again whether it has been given a session.
const NO_ACCESS_RETRY_MS: i32 = 10_000;
/// How often the app asks again when the server cannot be reached.
const UNREACHABLE_RETRY_MS: i32 = 3_000;

/// Where the screen stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthState {
    /// Asking the server (at start).
    Checking,
    /// The server cannot be reached; asking again every few seconds.
    Unreachable,
    /// No session: the console's login page, the wall's "no access" message.
    Out,
    /// A session: the screen itself.
    In(Session),
}

/// Why the screen has no session, when it is worth telling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutReason {
    /// The server ended the session (logout elsewhere, expiry, a revoked display key).
    SessionEnded,
    /// The wall's key was refused (unknown or revoked).
    KeyRefused,
}

/// The session's signals, provided by the app.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    pub state: RwSignal<AuthState>,
    pub reason: RwSignal<Option<OutReason>>,
    /// Set while this screen logs out, so that the server closing the websocket for it is not
    /// taken for a session that ended by itself.
    leaving: RwSignal<bool>,
}

impl Auth {
    pub fn new() -> Auth {
        Auth {
            state: RwSignal::new(AuthState::Checking),
            reason: RwSignal::new(None),
            leaving: RwSignal::new(false),
        }
    }

    /// Whether there is a session (tracked).
    pub fn logged_in(self) -> bool {
        self.state.with(|s| matches!(s, AuthState::In(_)))
    }

    pub fn logged_in_untracked(self) -> bool {
        self.state.with_untracked(|s| matches!(s, AuthState::In(_)))
    }

    /// The session, if any (tracked).
    pub fn session(self) -> Option<Session> {
        self.state.with(|s| match s {
            AuthState::In(session) => Some(session.clone()),
            _ => None,
        })
    }

    /// A session began.
    pub fn begin(self, session: Session) {
        self.reason.set(None);
        self.leaving.set(false);
        self.state.set(AuthState::In(session));
    }

    /// The server ended the session (websocket closed with
    /// [`ioc_protocol::close_code::SESSION_ENDED`], or a refused reconnect).
    pub fn ended(self) {
        if !self.leaving.get_untracked() {
            self.reason.set(Some(OutReason::SessionEnded));
        }
        self.state.set(AuthState::Out);
    }

    /// Logs out (`POST /api/v1/logout`); the screen goes back to the login page once the
    /// server agrees. A failure is returned, and the session kept.
    pub async fn log_out(self) -> Result<(), AuthError> {
        self.leaving.set(true);
        let answer = logout().await;
        match answer {
            Ok(()) => {
                self.reason.set(None);
                self.state.set(AuthState::Out);
            }
            Err(_) => self.leaving.set(false),
        }
        answer
    }
}

impl Default for Auth {
    fn default() -> Auth {
        Auth::new()
    }
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// Finds out where the screen stands and sets `auth` accordingly: on the wall, trades a `key`
/// of the address for a session first; then asks `GET /api/v1/me`, again every few seconds
/// while the server cannot be reached.
pub fn start(auth: Auth, wall: bool) {
    spawn_local(async move {
        if wall && let Some(session) = claim_key(auth).await {
            auth.begin(session);
            return;
        }
        check(auth).await;
    });
}

/// Trades the address's display key, if it has one, for a session; takes the key out of the
/// address once the server has answered yes or no (not while it cannot be reached: the key is
/// kept to try again). `None` when there is no key or it was refused.
async fn claim_key(auth: Auth) -> Option<Session> {
    let search = web_sys::window()?.location().search().ok()?;
    let (key, rest) = take_key(&search);
    let key = key?;
    loop {
        match display_session(&key).await {
            Ok(session) => {
                replace_search(&rest);
                return Some(session);
            }
            Err(AuthError::Refused) => {
                replace_search(&rest);
                auth.reason.set(Some(OutReason::KeyRefused));
                return None;
            }
            Err(AuthError::Throttled { retry_after_s }) => {
                sleep_ms((retry_after_s.min(3600) * 1000) as i32).await;
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("display session: {e:?}; trying again").into());
                auth.state.set(AuthState::Unreachable);
                sleep_ms(UNREACHABLE_RETRY_MS).await;
            }
        }
    }
}

/// Asks `GET /api/v1/me` until it answers, and sets the state from its answer.
async fn check(auth: Auth) {
    loop {
        match me().await {
            Ok(session) => {
                auth.begin(session);
                return;
            }
            Err(AuthError::Refused) => {
                auth.state.set(AuthState::Out);
                return;
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("GET /api/v1/me: {e:?}; trying again").into());
                auth.state.set(AuthState::Unreachable);
                sleep_ms(UNREACHABLE_RETRY_MS).await;
            }
        }
    }
}

/// On the wall: while there is no session, asks `GET /api/v1/me` every 10 s, so that a
/// display whose cookie is set later (by opening its key's address again, say) recovers
/// without a reload.
pub fn retry_while_out(auth: Auth) {
    // Each stretch without a session has its own loop; one left over from an earlier stretch
    // sees a newer generation and stops.
    let generation = Rc::new(Cell::new(0u64));
    let is_out = Memo::new(move |_| auth.state.with(|s| *s == AuthState::Out));
    Effect::new(move |_| {
        if !is_out.get() {
            return;
        }
        let this = generation.get() + 1;
        generation.set(this);
        let generation = generation.clone();
        spawn_local(async move {
            loop {
                sleep_ms(NO_ACCESS_RETRY_MS).await;
                let out = auth.state.with_untracked(|s| *s == AuthState::Out);
                if !out || generation.get() != this {
                    return;
                }
                if let Ok(session) = me().await
                    && generation.get() == this
                    && auth.state.with_untracked(|s| *s == AuthState::Out)
                {
                    auth.begin(session);
                    return;
                }
            }
        });
    });
}

/// Splits a wall display's key off a query string (`?key=K&rotate=5`): the key, decoded, if
/// there is a non-empty one, and the query string without any `key` (`?rotate=5`, or `""`
/// when nothing is left).
pub fn take_key(search: &str) -> (Option<String>, String) {
    let mut key = None;
    let mut rest = Vec::new();
    for pair in search.trim_start_matches('?').split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(name) == "key" {
            if key.is_none() && !value.is_empty() {
                key = Some(percent_decode(value));
            }
        } else {
            rest.push(pair);
        }
    }
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!("?{}", rest.join("&"))
    };
    (key, rest)
}

/// Decodes `%XX` escapes (a `+` stays a `+`: keys are not form data); malformed escapes are
/// kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the address's query string (`search`, with its `?`, or empty) without reloading
/// or adding to the history: the path and any `#fragment` stay.
fn replace_search(search: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let loc = window.location();
    let url = format!(
        "{}{search}{}",
        loc.pathname().unwrap_or_else(|_| "/".into()),
        loc.hash().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_leaves_the_address_and_the_rest_stays() {
        assert_eq!(
            take_key("?key=abc123&rotate=5&panel=flood"),
            (Some("abc123".into()), "?rotate=5&panel=flood".into())
        );
        assert_eq!(
            take_key("?rotate=5&key=abc123"),
            (Some("abc123".into()), "?rotate=5".into())
        );
        assert_eq!(take_key("?key=abc123"), (Some("abc123".into()), "".into()));
        assert_eq!(take_key("?rotate=5"), (None, "?rotate=5".into()));
        assert_eq!(take_key(""), (None, "".into()));
        assert_eq!(take_key("?"), (None, "".into()));
        // Empty and valueless keys are taken out too, but are no key.
        assert_eq!(take_key("?key=&panel=air"), (None, "?panel=air".into()));
        assert_eq!(take_key("?key&panel=air"), (None, "?panel=air".into()));
        // Every `key` goes; the first is used.
        assert_eq!(
            take_key("?key=a&rotate=3&key=b"),
            (Some("a".into()), "?rotate=3".into())
        );
        // Names that only start with "key" stay; escapes in the key are decoded.
        assert_eq!(
            take_key("?keys=1&key=a%2Bb%3D%3D&monkey=2"),
            (Some("a+b==".into()), "?keys=1&monkey=2".into())
        );
        assert_eq!(
            take_key("?%6Bey=x&rotate=5&&"),
            (Some("x".into()), "?rotate=5".into())
        );
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
