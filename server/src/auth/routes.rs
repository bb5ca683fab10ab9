//! The HTTP side of auth: the session cookie, the guard every protected route goes through,
//! and the routes of login, logout, display keys and the audit log.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::audit::Audit;
use super::throttle::Throttle;
use super::{AuthStore, Principal, Role, Session};
use crate::http::AppState;

/// Everything auth needs at request time.
#[derive(Debug)]
pub struct Auth {
    pub store: AuthStore,
    pub throttle: Throttle,
    pub audit: Audit,
    /// `__Host-` and Secure (TLS, or a TLS proxy in front), or a plain cookie.
    pub secure_cookie: bool,
}

const SECURE_NAME: &str = "__Host-ioc_session";
const PLAIN_NAME: &str = "ioc_session";

impl Auth {
    fn cookie_name(&self) -> &'static str {
        if self.secure_cookie {
            SECURE_NAME
        } else {
            PLAIN_NAME
        }
    }

    /// The `Set-Cookie` of a new session; `max_age` for a display's long-lived one.
    pub fn set_cookie(&self, token: &str, max_age: Option<Duration>) -> HeaderValue {
        let mut c = format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name()
        );
        if self.secure_cookie {
            c.push_str("; Secure");
        }
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        HeaderValue::from_str(&c).expect("a valid cookie")
    }

    fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.cookie_name()
        ))
        .expect("a valid cookie")
    }
}

/// The session token of a request's cookies, under either name.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SECURE_NAME || *k == PLAIN_NAME)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the app's files, login, health.
    Public,
    /// Any session, a wall display's included.
    Session,
    /// Users with at least this role.
    Role(Role),
    /// A gateway's bearer token (HTTP ingest).
    Gateway,
    /// The metrics token as a bearer token (a Prometheus scraper), or a supervisor's session.
    Metrics,
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The guard of a protected route: a valid session with the role asked, else 401 (no
/// session) or 403 (not allowed). The session goes into the request's extensions.
pub async fn guard(
    State((state, need)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    if need == Access::Metrics
        && let (Some(sent), Some(expected)) = (bearer(req.headers()), &state.metrics_token)
    {
        // Compared as digests, so that the time taken tells nothing of the token.
        use sha2::Digest;
        if sha2::Sha256::digest(sent) == sha2::Sha256::digest(expected.as_bytes()) {
            return next.run(req).await;
        }
        return error(StatusCode::UNAUTHORIZED, "wrong metrics token");
    }
    let session = token(req.headers()).and_then(|t| state.auth.store.session(&t));
    let Some(session) = session else {
        return error(StatusCode::UNAUTHORIZED, "log in first");
    };
    let least = match need {
        Access::Role(role) => Some(role),
        Access::Metrics => Some(Role::Supervisor),
        _ => None,
    };
    if let Some(role) = least
        && session.who.role < role
    {
        return error(StatusCode::FORBIDDEN, "your role does not allow this");
    }
    req.extensions_mut().insert(session);
    next.run(req).await
}

/// The client's address (the TCP peer; 0.0.0.0 when unknown, as in router tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<crate::tls::ClientAddr>>()
                .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.0.ip()),
        ))
    }
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({ "error": "too many attempts", "retry_after_s": secs })),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    user: String,
    password: String,
}

/// `POST /api/v1/login`.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "send JSON {\"user\": ..., \"password\": ...}",
        );
    };
    let auth = state.auth.clone();
    let name = body.user.chars().take(64).collect::<String>();
    if let Err(wait) = auth.throttle.check(&name, ip, Instant::now()) {
        auth.audit.record(&name, "login_throttled", "", Some(ip));
        return too_many(wait);
    }
    let verify = {
        let auth = auth.clone();
        let name = name.clone();
        tokio::task::spawn_blocking(move || auth.store.verify(&name, &body.password))
    };
    let who = verify.await.ok().flatten();
    let Some(who) = who else {
        auth.throttle.failed(&name, Instant::now());
        auth.audit.record(&name, "login_failed", "", Some(ip));
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    };
    auth.throttle.succeeded(&name);
    start(&auth, who, ip, "login", None)
}

fn start(
    auth: &Auth,
    who: Principal,
    ip: IpAddr,
    what: &str,
    max_age: Option<Duration>,
) -> Response {
    match auth.store.start_session(who.clone()) {
        Ok(token) => {
            auth.audit.record(&who.name, what, "", Some(ip));
            let mut r = Json(json!({ "user": who.name, "role": who.role })).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, auth.set_cookie(&token, max_age));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start a session");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot start a session now",
            )
        }
    }
}

/// `POST /api/v1/logout`: ends the session and closes its websockets.
pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    if let Some(t) = token(&headers)
        && let Ok(Some(who)) = state.auth.store.end_session(&t)
    {
        state.auth.audit.record(&who.name, "logout", "", Some(ip));
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, state.auth.clear_cookie());
    r
}

/// `GET /api/v1/me`: who the session is, or `"user": null` without one (200 either way, so
/// that the app's first question does not log an error in the browser's console).
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match token(&headers).and_then(|t| state.auth.store.session(&t)) {
        Some(s) => Json(json!({ "user": s.who.name, "role": s.who.role })).into_response(),
        None => Json(json!({ "user": null, "role": null })).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct KeyBody {
    key: String,
}

/// `POST /api/v1/display/session`: a display key for a long-lived read-only session.
pub async fn display_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<KeyBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "send JSON {\"key\": ...}");
    };
    let auth = state.auth.clone();
    let account = format!("#display@{ip}");
    if let Err(wait) = auth.throttle.check(&account, ip, Instant::now()) {
        return too_many(wait);
    }
    let Some(who) = auth.store.display(body.key.trim()) else {
        auth.throttle.failed(&account, Instant::now());
        auth.audit
            .record("display", "display_key_refused", "", Some(ip));
        return error(StatusCode::UNAUTHORIZED, "unknown or revoked display key");
    };
    auth.throttle.succeeded(&account);
    let life = auth.store.display_life();
    start(&auth, who, ip, "display_session", Some(life))
}

#[derive(Debug, Deserialize)]
pub struct NewKey {
    name: String,
}

/// `GET /api/v1/display-keys` (admin): the keys, without their secrets.
pub async fn list_keys(State(state): State<AppState>) -> Response {
    Json(json!({ "keys": state.auth.store.keys() })).into_response()
}

/// `POST /api/v1/display-keys` (admin): a new key, its secret shown once as a wall address.
pub async fn create_key(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "send JSON {\"name\": ...}");
    };
    match state.auth.store.create_key(body.name.trim(), &s.who.name) {
        Ok((key, secret)) => {
            state.auth.audit.record(
                &s.who.name,
                "display_key_created",
                &format!("{} ({})", key.name, key.id),
                Some(ip),
            );
            (
                StatusCode::CREATED,
                Json(json!({
                    "id": key.id,
                    "name": key.name,
                    "key": secret,
                    "url": format!("/wall?key={secret}"),
                })),
            )
                .into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// `DELETE /api/v1/display-keys/{id}` (admin): revokes a key; its walls are cut off at once.
pub async fn revoke_key(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Response {
    match state.auth.store.revoke_key(&id) {
        Ok(key) => {
            state.auth.audit.record(
                &s.who.name,
                "display_key_revoked",
                &format!("{} ({})", key.name, key.id),
                Some(ip),
            );
            StatusCode::NO_CONTENT.into_response()
        }
        Err(super::AuthError::NoKey(_)) => error(StatusCode::NOT_FOUND, "no such key"),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=` (admin): newest first.
pub async fn audit(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> Response {
    match state.auth.audit.recent(q.limit.unwrap_or(200).min(10_000)) {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// `GET /api/v1/users` (admin).
pub async fn users(State(state): State<AppState>) -> Response {
    let list: Vec<_> = state
        .auth
        .store
        .users()
        .into_iter()
        .map(|u| json!({ "name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at }))
        .collect();
    Json(json!({ "users": list })).into_response()
}

/// Shared by the guard's state.
pub type AuthRef = Arc<Auth>;
