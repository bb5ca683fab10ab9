//! `/api/v1/indicators/...`: the socio-economic indicators' catalogue, the two ways in over
//! HTTP (a JSON list of values, a spreadsheet), the series and revisions read back, and the
//! admin's targets. The rules and the store are `crate::indicators`'; here, who the sender is
//! and the answers (`ioc_protocol::indicator`'s bodies).
//!
//! Who may submit: a `reporter` for its own unit alone (its account's unit); an officer, a
//! supervisor or an admin for any unit (the route asks for at least a reporter; the revision
//! records who sent it either way). Targets: admins.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ioc_protocol::indicator::{
    ImportAnswer, ItemProblem, Period, RevisionsAnswer, SeriesAnswer, SubmissionError,
    SubmitAnswer, Target, Way, decode_submissions,
};
use serde::Deserialize;

use super::AppState;
use super::auth::ClientIp;
use super::error::{ApiError, ApiResult};
use crate::auth::{Role, Session};
use crate::indicators::{MAX_VALUES, Sender, SubmitError, TargetsOutcome};
use crate::store::StoreError;

/// The largest spreadsheet or list of values one request may carry.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// The sender of a request: a reporter is held to its account's unit.
fn sender(state: &AppState, session: &Session, way: Way) -> ApiResult<Sender> {
    let unit = match session.who.role {
        Role::Reporter => Some(state.auth.store.unit_of(&session.who.name).ok_or_else(|| {
            ApiError::Conflict(
                "your reporter account has no unit: an admin gives it one (user add --unit)".into(),
            )
        })?),
        _ => None,
    };
    Ok(Sender {
        by: session.who.name.clone(),
        way,
        unit,
    })
}

pub(super) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Unavailable { reason, .. } => ApiError::unavailable(format!(
            "the store cannot serve this now ({reason}): try again"
        )),
        other => ApiError::internal(other),
    }
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A 400 with the body every refused submission has.
fn refused(status: StatusCode, answer: impl serde::Serialize) -> Response {
    (status, Json(answer)).into_response()
}

/// `GET /api/v1/indicators/catalogue`: the catalogue (groups, indicators, key indicators,
/// offices, deadlines, the areas of each level), with the targets in force.
pub(crate) async fn catalogue(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.indicators.catalogue().as_ref().clone())
}

/// `POST /api/v1/indicators`: a JSON array of `{"indicator", "area", "period", "value"}`, all
/// or nothing. 200 `{"stored": n, "problems": []}`; 400 `{"error", "stored": 0, "problems":
/// [{"index", "reason", "error"}]}` naming every bad item.
pub(crate) async fn submit(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> ApiResult {
    let from = sender(&state, &session, Way::Api)?;
    let indicators = &state.indicators;
    let items = match decode_submissions(&body) {
        Ok(items) => items,
        Err(e) => {
            indicators.count_refused(Way::Api, &e);
            return Ok(refused(
                StatusCode::BAD_REQUEST,
                SubmitAnswer {
                    error: Some(e.to_string()),
                    stored: 0,
                    problems: Vec::new(),
                },
            ));
        }
    };
    let total = items.len();
    let mut good = Vec::with_capacity(total);
    let mut bad: Vec<(u64, SubmissionError)> = Vec::new();
    for (i, item) in (0u64..).zip(items) {
        match item {
            Ok(s) => good.push((i, s)),
            Err(e) => bad.push((i, e)),
        }
    }
    for (_, e) in &bad {
        indicators.count_refused(Way::Api, e);
    }
    let outcome = if bad.is_empty() {
        indicators.submit_at(good, &from, now_ms()).await
    } else {
        // The decoding's problems, and the rules' for the rest, all at once.
        let mut all = bad;
        all.extend(indicators.check_only(&good, &from, now_ms()));
        Err(SubmitError::Refused(all))
    };
    match outcome {
        Ok(n) => {
            state.auth.audit.record(
                &session.who.name,
                "indicators_submitted",
                &format!("{n} values"),
                Some(ip),
            );
            Ok(Json(SubmitAnswer {
                error: None,
                stored: n,
                problems: Vec::new(),
            })
            .into_response())
        }
        Err(SubmitError::Refused(mut problems)) => {
            problems.sort_by_key(|(i, _)| *i);
            Ok(refused(
                StatusCode::BAD_REQUEST,
                SubmitAnswer {
                    error: Some(format!(
                        "{} of the {total} values are refused; nothing was stored",
                        problems.len()
                    )),
                    stored: 0,
                    problems: problems
                        .into_iter()
                        .map(|(i, e)| ItemProblem {
                            index: i as usize,
                            reason: e.reason().to_owned(),
                            error: e.to_string(),
                        })
                        .collect(),
                },
            ))
        }
        Err(SubmitError::TooMany(n)) => Err(ApiError::PayloadTooLarge(format!(
            "{n} values in one request: at most {MAX_VALUES}"
        ))),
        Err(SubmitError::Store(e)) => Err(store_error(e)),
        Err(SubmitError::Sheet(e)) => Err(ApiError::internal(e)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ImportParams {
    /// Check every row and store nothing.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/indicators/import[?dry_run=true]`: the body is the file itself, CSV (UTF-8)
/// or XLSX, told by its first bytes. Answers an [`ImportAnswer`]: with `dry_run`, 200 and
/// every row's problem by line; else 200 with everything stored, or 400 with every problem
/// and nothing stored.
pub(crate) async fn import(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Bytes,
) -> ApiResult {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let dry_run = params.dry_run;
    let from = sender(&state, &session, Way::Import)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/") {
        return Err(ApiError::bad_request(
            "send the file itself as the body (Content-Type text/csv, or \
             application/vnd.openxmlformats-officedocument.spreadsheetml.sheet), not a form",
        ));
    }
    match state
        .indicators
        .import(&body, dry_run, &from, now_ms())
        .await
    {
        Ok(a) if a.error.is_some() => Ok(refused(StatusCode::BAD_REQUEST, a)),
        Ok(a) => {
            if !dry_run {
                state.auth.audit.record(
                    &session.who.name,
                    "indicators_imported",
                    &format!("{} values from a spreadsheet", a.stored),
                    Some(ip),
                );
            }
            Ok(Json(a).into_response())
        }
        Err(SubmitError::Sheet(e)) => Ok(refused(
            StatusCode::BAD_REQUEST,
            ImportAnswer {
                error: Some(e.to_string()),
                dry_run,
                rows: 0,
                stored: 0,
                problems: Vec::new(),
            },
        )),
        // `import` answers refused rows itself.
        Err(SubmitError::Refused(_)) => Err(ApiError::internal("refused rows without an answer")),
        Err(SubmitError::TooMany(n)) => Err(ApiError::PayloadTooLarge(format!(
            "{n} rows in one file: at most {MAX_VALUES}"
        ))),
        Err(SubmitError::Store(e)) => Err(store_error(e)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SeriesParams {
    indicator: String,
    area: String,
    period: Option<String>,
}

/// The indicator and area of a query, checked against the catalogue.
fn checked_key(state: &AppState, p: &SeriesParams) -> ApiResult<()> {
    let catalogue = state.indicators.catalogue();
    let Some(indicator) = catalogue.indicator(&p.indicator) else {
        return Err(ApiError::bad_request(format!(
            "{:?} is not an indicator of the catalogue",
            p.indicator
        )));
    };
    if catalogue.level_of(indicator, &p.area).is_none() {
        return Err(ApiError::bad_request(format!(
            "{} is not reported for {:?}",
            indicator.code, p.area
        )));
    }
    Ok(())
}

/// `GET /api/v1/indicators/values?indicator=&area=`: the series by period, the latest
/// revision of each ([`SeriesAnswer`]).
pub(crate) async fn values(
    State(state): State<AppState>,
    params: Result<Query<SeriesParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    checked_key(&state, &p)?;
    let points = state
        .indicators
        .series(&p.indicator, &p.area)
        .await
        .map_err(store_error)?;
    Ok(Json(SeriesAnswer {
        indicator: p.indicator,
        area: p.area,
        points,
    })
    .into_response())
}

/// `GET /api/v1/indicators/revisions?indicator=&area=&period=`: every revision of one
/// period with who sent it and when, oldest first ([`RevisionsAnswer`]).
pub(crate) async fn revisions(
    State(state): State<AppState>,
    params: Result<Query<SeriesParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    checked_key(&state, &p)?;
    let Some(period) = p.period.as_deref() else {
        return Err(ApiError::bad_request(
            "name the period: period=2026-10, 2026-Q3 or 2026",
        ));
    };
    let period: Period = period
        .parse()
        .map_err(|e| ApiError::bad_request(format!("period: {e}")))?;
    let revisions = state
        .indicators
        .revisions_of(&p.indicator, &p.area, period)
        .await
        .map_err(store_error)?;
    Ok(Json(RevisionsAnswer {
        indicator: p.indicator,
        area: p.area,
        period,
        revisions,
    })
    .into_response())
}

/// `PUT /api/v1/indicators/targets`: a JSON array of `{"indicator", "area", "year",
/// "value"}`, all or nothing, each checked by the catalogue's rule for targets. 200
/// `{"stored": n, "problems": []}`; 400 with every bad target's problem by index.
pub(crate) async fn set_targets(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> ApiResult {
    let items: Vec<serde_json::Value> = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request(
            "the body is a JSON array of {\"indicator\", \"area\", \"year\", \"value\"}",
        )
    })?;
    let total = items.len();
    let mut targets = Vec::with_capacity(total);
    let mut problems = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Target>(item) {
            Ok(t) => targets.push((index, t)),
            Err(e) => problems.push(ItemProblem {
                index,
                reason: "bad_item".into(),
                error: format!("a target is {{\"indicator\", \"area\", \"year\", \"value\"}}: {e}"),
            }),
        }
    }
    let outcome = if problems.is_empty() {
        state
            .indicators
            .set_targets(targets.iter().map(|(_, t)| t.clone()).collect())
    } else {
        Err(TargetsOutcome::Refused(Vec::new()))
    };
    match outcome {
        Ok(n) => {
            let detail: Vec<String> = targets
                .iter()
                .map(|(_, t)| format!("{} {} {}: {}", t.indicator, t.area, t.year, t.value))
                .collect();
            state.auth.audit.record(
                &session.who.name,
                "targets_set",
                &detail.join("; "),
                Some(ip),
            );
            Ok(Json(SubmitAnswer {
                error: None,
                stored: n,
                problems: Vec::new(),
            })
            .into_response())
        }
        Err(TargetsOutcome::Refused(refusals)) => {
            problems.extend(refusals.into_iter().map(|(i, e)| ItemProblem {
                index: targets[i].0,
                reason: target_reason(&e).into(),
                error: e.to_string(),
            }));
            problems.sort_by_key(|p| p.index);
            Ok(refused(
                StatusCode::BAD_REQUEST,
                SubmitAnswer {
                    error: Some(format!(
                        "{} of the {total} targets are refused; nothing was changed",
                        problems.len()
                    )),
                    stored: 0,
                    problems,
                },
            ))
        }
        Err(TargetsOutcome::NotSaved(e)) => Err(ApiError::internal(e)),
    }
}

fn target_reason(e: &ioc_protocol::indicator::TargetError) -> &'static str {
    use ioc_protocol::indicator::TargetError as E;
    match e {
        E::UnknownIndicator(_) => "unknown_indicator",
        E::AreaNotReported { .. } => "area_not_reported",
        E::Year(_) => "bad_year",
        E::NotFinite { .. } => "not_finite",
        E::OutOfRange { .. } => "out_of_range",
    }
}
