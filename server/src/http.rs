//! HTTP: the app, the websocket, health and the ingest report.
//!
//! `app(state)` builds the whole router, so tests can drive it with `oneshot` or serve it for
//! real on port 0.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use ioc_protocol::{ClientMsg, ServerMsg};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tower_http::services::{ServeDir, ServeFile};

use crate::city::City;
use crate::ingest::IngestStats;
use crate::live::Hub;
use crate::store::writer::WriterHandle;
use crate::store::{HistoryQuery, Reader};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub ingest: Arc<IngestStats>,
    /// Queries go here.
    pub store: Reader,
    /// The store writer's queue, spool and counts.
    pub writer: WriterHandle,
    pub city: Arc<City>,
    /// Extra origins allowed to open `/ws` (the server's own is always allowed).
    pub allowed_origins: Arc<Vec<String>>,
    pub ws_send_timeout: Duration,
}

/// The largest message a browser may send over `/ws`.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// How often the server sends a heartbeat on each websocket: the browser reconnects when it
/// hears nothing for three of these, and a dead peer shows up as a failed or stuck send.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// The whole router: API, websocket, and the built app with `index.html` as the fallback.
pub fn app(state: AppState, dist_dir: &Path) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/ingest/rejected", get(rejected))
        .route("/api/v1/history", get(history))
        .route("/api/v1/store", get(store_status))
        .route("/api/v1/city", get(city_map))
        .route("/ws", get(ws_upgrade));
    let index = dist_dir.join("index.html");
    let router = if index.is_file() {
        api.fallback_service(ServeDir::new(dist_dir).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(
            dist = %dist_dir.display(),
            "the app is not built; `/` explains how to build it"
        );
        api.fallback(not_built)
    };
    router.with_state(state)
}

async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><meta charset=utf-8><title>IOC</title>\
             <h1>The app is not built</h1>\
             <p>Run <code>scripts/demo</code> (or <code>trunk build --release</code>) \
             and start the server again.</p>",
        ),
    )
        .into_response()
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "broker_connected": state.ingest.broker_connected.load(std::sync::atomic::Ordering::Relaxed),
        "websocket_clients": state.hub.clients(),
        "store": state.writer.report(),
    }))
}

async fn rejected(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.ingest.report())
}

/// `GET /api/v1/city`: names, the tile grid and the areas' outlines (`ioc_protocol::map`).
async fn city_map(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        state.city.map_json().to_string(),
    )
}

async fn store_status(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.writer.report())
}

/// The most buckets one history query may ask for.
const MAX_POINTS: u32 = 5000;

/// `GET /api/v1/history?domain=&area=&source=&field=&from=&to=&points=`
#[derive(Debug, serde::Deserialize)]
struct HistoryParams {
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

/// A client's mistake, said plainly, with 400.
fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

fn parse_when(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

async fn history(
    State(state): State<AppState>,
    params: Result<axum::extract::Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let axum::extract::Query(p) = match params {
        Ok(p) => p,
        Err(e) => return bad_request(e.body_text()),
    };
    let Ok(domain) = p.domain.parse::<ioc_protocol::Domain>() else {
        return bad_request(format!("unknown domain {:?}", p.domain));
    };
    if p.area != ioc_protocol::topic::CITY_AREA && !state.city.has_area(&p.area) {
        return bad_request(format!("unknown area {:?}", p.area));
    }
    // The same rules as ingest: a name that could never have been stored is a mistake.
    if !ioc_protocol::ingest::is_field_name(&p.field) {
        return bad_request(format!("bad field name {:?}", p.field));
    }
    if let Some(src) = &p.source
        && !ioc_protocol::topic::is_source_id(src)
    {
        return bad_request(format!("bad source id {:?}", src));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let to = match p.to.as_deref().map(parse_when) {
        None => now,
        Some(Some(t)) => t,
        Some(None) => return bad_request("`to` must be epoch ms or RFC 3339"),
    };
    let from = match p.from.as_deref().map(parse_when) {
        None => to - 3_600_000,
        Some(Some(t)) => t,
        Some(None) => return bad_request("`from` must be epoch ms or RFC 3339"),
    };
    if from >= to {
        return bad_request("`from` must be before `to`");
    }
    let points = p.points.unwrap_or(500);
    if points == 0 || points > MAX_POINTS {
        return bad_request(format!("`points` must be 1 to {MAX_POINTS}"));
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
    match state.store.history(q.clone()).await {
        Ok(buckets) => Json(json!({ "query": q, "buckets": buckets })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "history query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "the store cannot answer now" })),
            )
                .into_response()
        }
    }
}

/// The `Origin` of a websocket upgrade must be the server's own (same host and port as the
/// `Host` header) or an allowed one; otherwise another site could open the socket with the
/// officer's cookies (cross-site websocket hijacking). A missing `Origin` is refused too.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

async fn ws_upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.allowed_origins) {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), "websocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve_socket(socket, state))
}

/// One browser: a snapshot, then deltas; a fresh snapshot whenever it fell behind or asks.
async fn serve_socket(socket: WebSocket, state: AppState) {
    let (mut tx, mut rx) = socket.split();
    // The reader runs on its own so that a send waiting on a slow peer never stops us from
    // seeing its close; only resync requests come through, at most a few in flight.
    let (req_tx, mut requests) = mpsc::channel::<ClientMsg>(4);
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            match msg {
                WsMessage::Text(t) => match serde_json::from_str::<ClientMsg>(t.as_str()) {
                    Ok(m) => {
                        let _ = req_tx.try_send(m);
                    }
                    Err(e) => tracing::debug!(error = %e, "ignored a bad client message"),
                },
                WsMessage::Close(_) => break,
                _ => {}
            }
        }
    });

    let (snapshot, mut deltas) = state.hub.subscribe();
    let mut ping = tokio::time::interval(HEARTBEAT_EVERY);
    ping.tick().await;
    let limit = state.ws_send_timeout;
    let mut ok = send(&mut tx, WsMessage::Text(snapshot.as_ref().into()), limit).await;
    while ok {
        let outgoing = tokio::select! {
            d = deltas.recv() => match d {
                Ok(text) => Some(text),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too far behind: the newest state, not the backlog.
                    tracing::debug!(missed, "websocket behind; sending a fresh snapshot");
                    let (snapshot, rx) = state.hub.subscribe();
                    deltas = rx;
                    Some(snapshot)
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            req = requests.recv() => match req {
                Some(ClientMsg::Resync) => {
                    let (snapshot, rx) = state.hub.subscribe();
                    deltas = rx;
                    Some(snapshot)
                }
                None => break, // the reader ended: the peer is gone
            },
            _ = ping.tick() => {
                let beat = ServerMsg::Heartbeat { server_time: chrono::Utc::now().timestamp_millis() };
                Some(serde_json::to_string(&beat).expect("serialises").into())
            }
        };
        if let Some(text) = outgoing {
            ok = send(&mut tx, WsMessage::Text(text.as_ref().into()), limit).await;
        }
    }
    reader.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.close()).await;
}

/// Sends one message; false when the peer is gone or did not take it within `limit` (it
/// stopped reading: dropping it is what keeps its state bounded).
async fn send(
    tx: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    msg: WsMessage,
    limit: Duration,
) -> bool {
    matches!(tokio::time::timeout(limit, tx.send(msg)).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn origins() {
        let none: Vec<String> = vec![];
        assert!(origin_allowed(
            &headers("127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            &none
        ));
        assert!(!origin_allowed(
            &headers("127.0.0.1:8080", Some("http://evil.example")),
            &none
        ));
        assert!(!origin_allowed(
            &headers("127.0.0.1:8080", Some("http://127.0.0.1:8081")),
            &none
        ));
        assert!(!origin_allowed(&headers("127.0.0.1:8080", None), &none));
        let allowed = vec!["https://ioc.hochiminhcity.gov.vn".to_owned()];
        assert!(origin_allowed(
            &headers("10.0.0.5:8080", Some("https://ioc.hochiminhcity.gov.vn")),
            &allowed
        ));
    }
}
