//! The HTTP side of auth: the session cookie, the guard every protected route goes through,
//! the client's address, and the routes of login, logout, display keys, users and the audit
//! log. What they check against (users, sessions, throttling, the audit log) is `crate::auth`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::auth::{Access, Auth, AuthError, Principal, Session};

const SECURE_NAME: &str = "__Host-ioc_session";
const PLAIN_NAME: &str = "ioc_session";

fn cookie_name(auth: &Auth) -> &'static str {
    if auth.secure_cookie {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// The `Set-Cookie` of a new session; `max_age` for a display's long-lived one.
pub fn set_cookie(auth: &Auth, token: &str, max_age: Option<Duration>) -> HeaderValue {
    let mut c = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict",
        cookie_name(auth)
    );
    if auth.secure_cookie {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    HeaderValue::from_str(&c).expect("a valid cookie")
}

fn clear_cookie(auth: &Auth) -> HeaderValue {
    let secure = if auth.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
        cookie_name(auth)
    ))
    .expect("a valid cookie")
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
        return ApiError::unauthorized("wrong metrics token").into_response();
    }
    let session = token(req.headers()).and_then(|t| state.auth.store.session(&t));
    let Some(session) = session else {
        return ApiError::unauthorized("log in first").into_response();
    };
    if let Some(role) = need.least_role()
        && session.who.role < role
    {
        return ApiError::Forbidden("your role does not allow this".into()).into_response();
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
                .get::<ConnectInfo<super::tls::ClientAddr>>()
                .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.0.ip()),
        ))
    }
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
) -> ApiResult {
    let Ok(Json(body)) = body else {
        return Err(ApiError::bad_request(
            "send JSON {\"user\": ..., \"password\": ...}",
        ));
    };
    let auth = state.auth.clone();
    let name = body.user.chars().take(64).collect::<String>();
    if let Err(wait) = auth.throttle.check(&name, ip, Instant::now()) {
        auth.audit.record(&name, "login_throttled", "", Some(ip));
        return Err(ApiError::TooManyAttempts(wait));
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
        return Err(ApiError::unauthorized("wrong user name or password"));
    };
    auth.throttle.succeeded(&name);
    start(&auth, who, ip, "login", None)
}

/// Starts a session for `who` and answers with its cookie.
fn start(
    auth: &Auth,
    who: Principal,
    ip: IpAddr,
    what: &str,
    max_age: Option<Duration>,
) -> ApiResult {
    let token = auth.store.start_session(who.clone()).map_err(|e| {
        tracing::error!(error = %e, "cannot start a session");
        ApiError::unavailable("cannot start a session now")
    })?;
    auth.audit.record(&who.name, what, "", Some(ip));
    let mut r = Json(json!({ "user": who.name, "role": who.role })).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(auth, &token, max_age));
    Ok(r)
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
        .insert(header::SET_COOKIE, clear_cookie(&state.auth));
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
) -> ApiResult {
    let Ok(Json(body)) = body else {
        return Err(ApiError::bad_request("send JSON {\"key\": ...}"));
    };
    let auth = state.auth.clone();
    let account = format!("#display@{ip}");
    if let Err(wait) = auth.throttle.check(&account, ip, Instant::now()) {
        return Err(ApiError::TooManyAttempts(wait));
    }
    let Some(who) = auth.store.display(body.key.trim()) else {
        auth.throttle.failed(&account, Instant::now());
        auth.audit
            .record("display", "display_key_refused", "", Some(ip));
        return Err(ApiError::unauthorized("unknown or revoked display key"));
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
) -> ApiResult {
    let Ok(Json(body)) = body else {
        return Err(ApiError::bad_request("send JSON {\"name\": ...}"));
    };
    let (key, secret) = state
        .auth
        .store
        .create_key(body.name.trim(), &s.who.name)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.auth.audit.record(
        &s.who.name,
        "display_key_created",
        &format!("{} ({})", key.name, key.id),
        Some(ip),
    );
    let body = json!({
        "id": key.id,
        "name": key.name,
        "key": secret,
        "url": format!("/wall/?key={secret}"),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `DELETE /api/v1/display-keys/{id}` (admin): revokes a key; its walls are cut off at once.
pub async fn revoke_key(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult {
    let key = state.auth.store.revoke_key(&id).map_err(|e| match e {
        AuthError::NoKey(_) => ApiError::not_found("no such key"),
        e => ApiError::unavailable(e.to_string()),
    })?;
    state.auth.audit.record(
        &s.who.name,
        "display_key_revoked",
        &format!("{} ({})", key.name, key.id),
        Some(ip),
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=` (admin): newest first.
pub async fn audit(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> ApiResult {
    let entries = state
        .auth
        .audit
        .recent(q.limit.unwrap_or(200).min(10_000))
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(json!({ "entries": entries })).into_response())
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
