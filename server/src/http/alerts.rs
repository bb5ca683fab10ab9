//! The alerts' HTTP API (see `docs/alerts.md`):
//!
//! - `GET /api/v1/alerts?state=&kind=&severity=&area=&rule=&from=&to=&limit=`: the history,
//!   newest first (`from`/`to` on the time each was raised, RFC 3339 or epoch ms; `limit` at
//!   most 1000, 100 by default);
//! - `GET /api/v1/alerts/{id}`: one alert and what happened to it;
//! - `GET /api/v1/alerts/rules`: the rules the server runs;
//! - `POST /api/v1/alerts/{id}/ack`, `/resolve`, `/close` with `{"note": "..."}`: officers
//!   and above. The change is on disk before the answer, and in the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::ClientIp;
use super::error::{ApiError, ApiResult};
use crate::alerts::{Action, ActionError};
use crate::auth::Session;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    state: Option<String>,
    kind: Option<String>,
    severity: Option<String>,
    area: Option<String>,
    rule: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// RFC 3339 or epoch ms.
fn parse_time(name: &str, s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{name}={s:?} is neither RFC 3339 nor epoch ms"))
}

fn check<T: std::str::FromStr<Err = String>>(v: &Option<String>) -> Result<(), String> {
    v.as_deref().map_or(Ok(()), |s| s.parse::<T>().map(|_| ()))
}

/// `GET /api/v1/alerts`.
pub async fn history(
    State(state): State<AppState>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Ok(Query(p)) = params else {
        return Err(ApiError::bad_request(
            "parameters: state, kind, severity, area, rule, from, to, limit",
        ));
    };
    let (from, to) = check::<ioc_protocol::alerts::AlertState>(&p.state)
        .and(check::<ioc_protocol::alerts::AlertKind>(&p.kind))
        .and(check::<ioc_protocol::alerts::Severity>(&p.severity))
        .and_then(|_| {
            let from = p
                .from
                .as_deref()
                .map(|s| parse_time("from", s))
                .transpose()?;
            let to = p.to.as_deref().map(|s| parse_time("to", s)).transpose()?;
            Ok((from, to))
        })
        .map_err(ApiError::BadRequest)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 1000"));
    }
    let q = crate::alerts::store::Query {
        state: p.state,
        kind: p.kind,
        severity: p.severity,
        area: p.area,
        rule: p.rule,
        from,
        to,
        limit,
    };
    let (alerts, hub) = (state.alerts.clone(), state.hub.clone());
    let list = tokio::task::spawn_blocking(move || {
        alerts.persist_and_show(&hub);
        alerts.store().query(&q)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "cannot read the alert history");
        ApiError::unavailable("cannot read the alert history")
    })?;
    Ok(Json(json!({ "alerts": list })).into_response())
}

/// `GET /api/v1/alerts/{id}`.
pub async fn one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let Ok(id) = id.parse::<u64>() else {
        return Err(ApiError::not_found("no such alert"));
    };
    let (alerts, hub) = (state.alerts.clone(), state.hub.clone());
    let found = tokio::task::spawn_blocking(move || {
        alerts.persist_and_show(&hub);
        alerts.store().get(id)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "cannot read an alert");
        ApiError::unavailable("cannot read the alert")
    })?;
    let (alert, events) = found.ok_or_else(|| ApiError::not_found(format!("no alert {id}")))?;
    Ok(Json(json!({ "alert": alert, "events": events })).into_response())
}

/// `GET /api/v1/alerts/rules`.
pub async fn rules(State(state): State<AppState>) -> Response {
    Json(json!({ "rules": state.alerts.rules() })).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    note: String,
}

/// The longest note kept.
const MAX_NOTE_CHARS: usize = 1000;

async fn act(
    state: AppState,
    session: Session,
    ip: std::net::IpAddr,
    id: String,
    action: Action,
    body: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let note = match body {
        Ok(Json(b)) => b.note,
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "send JSON {{\"note\": \"...\"}} ({e})"
            )));
        }
    };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::bad_request(format!(
            "a note is at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let Ok(id) = id.parse::<u64>() else {
        return Err(ApiError::not_found("no such alert"));
    };
    let who = session.who.name.clone();
    let alert = state
        .alerts
        .act(id, action, &who, &note)
        .map_err(|e| match e {
            ActionError::NotFound(_) => ApiError::not_found(format!("no open alert {id}")),
            ActionError::Conflict(why) => ApiError::Conflict(why),
        })?;
    // On disk before the answer; then on every screen.
    let (engine, hub) = (state.alerts.clone(), state.hub.clone());
    let written = tokio::task::spawn_blocking(move || {
        let written = engine.persist();
        hub.set_alerts(engine.figure());
        written
    })
    .await;
    if !matches!(written, Ok(Ok(_))) {
        return Err(ApiError::unavailable(
            "the alert store cannot be written: the change is on screen but not yet on disk; \
             it is written when the store works again",
        ));
    }
    let detail = format!(
        "alert {id} ({}, {}): {}",
        alert.rule,
        alert.source,
        note.trim()
    );
    state.auth.audit.record(
        &who,
        &format!("alert_{}", action.as_str()),
        &detail,
        Some(ip),
    );
    Ok(Json(alert).into_response())
}

/// `POST /api/v1/alerts/{id}/ack`.
pub async fn ack(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    act(state, s, ip, id, Action::Acknowledge, body).await
}

/// `POST /api/v1/alerts/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    act(state, s, ip, id, Action::Resolve, body).await
}

/// `POST /api/v1/alerts/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    axum::Extension(s): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: Result<Json<ActionBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    act(state, s, ip, id, Action::Close, body).await
}
