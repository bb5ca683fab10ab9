//! `GET /api/v1/history`: one field's past, in buckets, from the store.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;

use super::AppState;
use super::error::{ApiError, ApiResult};
use ioc_protocol::history::{HistoryAnswer, HistoryQuery};

/// The most buckets one history query may ask for.
const MAX_POINTS: u32 = 5000;

/// `GET /api/v1/history?domain=&area=&source=&field=&from=&to=&points=`
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HistoryParams {
    domain: String,
    area: String,
    source: Option<String>,
    field: String,
    /// Epoch ms or RFC 3339; default one hour before `to`.
    from: Option<String>,
    /// Epoch ms or RFC 3339; default now.
    to: Option<String>,
    /// At most this many buckets; default 500, at most 5000.
    points: Option<u32>,
}

fn parse_when(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

/// `GET /api/v1/history`: 400 with what is wrong for a query that could never match, 503
/// when the store cannot answer.
pub(crate) async fn history(
    State(state): State<AppState>,
    params: Result<Query<HistoryParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Ok(domain) = p.domain.parse::<ioc_protocol::Domain>() else {
        return Err(ApiError::bad_request(format!(
            "unknown domain {:?}",
            p.domain
        )));
    };
    if p.area != ioc_protocol::topic::CITY_AREA && !state.city.has_area(&p.area) {
        return Err(ApiError::bad_request(format!("unknown area {:?}", p.area)));
    }
    // The same rules as ingest: a name that could never have been stored is a mistake.
    if !ioc_protocol::ingest::is_field_name(&p.field) {
        return Err(ApiError::bad_request(format!(
            "bad field name {:?}",
            p.field
        )));
    }
    if let Some(src) = &p.source
        && !ioc_protocol::topic::is_source_id(src)
    {
        return Err(ApiError::bad_request(format!("bad source id {:?}", src)));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let to = match p.to.as_deref().map(parse_when) {
        None => now,
        Some(Some(t)) => t,
        Some(None) => return Err(ApiError::bad_request("`to` must be epoch ms or RFC 3339")),
    };
    let from = match p.from.as_deref().map(parse_when) {
        None => to - 3_600_000,
        Some(Some(t)) => t,
        Some(None) => return Err(ApiError::bad_request("`from` must be epoch ms or RFC 3339")),
    };
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    let points = p.points.unwrap_or(500);
    if points == 0 || points > MAX_POINTS {
        return Err(ApiError::bad_request(format!(
            "`points` must be 1 to {MAX_POINTS}"
        )));
    }
    let q = HistoryQuery {
        domain,
        area: p.area,
        source: p.source,
        field: p.field,
        from,
        to,
        points,
    };
    let buckets = state.store.history(q.clone()).await.map_err(|e| {
        tracing::error!(error = %e, "history query failed");
        ApiError::unavailable("the store cannot answer now")
    })?;
    Ok(Json(HistoryAnswer { query: q, buckets }).into_response())
}
