//! HTTP: the app, the websocket, health and the ingest report.
//!
//! `app(state)` builds the whole router, so tests can drive it with `oneshot` or serve it for
//! real on port 0.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use ioc_protocol::{ClientMsg, ServerMsg};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tower_http::services::{ServeDir, ServeFile};

use crate::auth::Role;
use crate::auth::routes::{self, Access, Auth};
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
    /// Pings (and heartbeats) every `ws_ping`; a peer silent for `ws_dead_after` is dropped.
    pub ws_ping: Duration,
    pub ws_dead_after: Duration,
    /// Users, sessions, display keys, throttling, audit.
    pub auth: Arc<Auth>,
    /// What HTTP ingest runs each element through, as MQTT ingest does.
    pub pipeline: crate::ingest::Pipeline,
    /// The gateways and their tokens (HTTP ingest).
    pub gateways: Arc<crate::auth::gateways::Gateways>,
    /// The bearer token of `/metrics`, if one is configured.
    pub metrics_token: Option<Arc<str>>,
    /// Turns true when the server stops: websockets send a close frame and end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The alert engine: officers' actions and the history.
    pub alerts: Arc<crate::alerts::Alerts>,
}

/// The largest message a browser may send over `/ws`.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// One route of the API: its path, methods, who may use it, and its handler.
#[derive(Debug)]
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub access: Access,
    handler: MethodRouter<AppState>,
}

fn route(
    path: &'static str,
    methods: &'static [Method],
    access: Access,
    handler: MethodRouter<AppState>,
) -> Route {
    Route {
        path,
        methods,
        access,
        handler,
    }
}

/// Every route of the server, with who may use it. The router is built from this list and
/// nothing else, so a test can walk it and no route can be added without saying who may use it.
pub fn routes() -> Vec<Route> {
    use Access::{Public, Session};
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const GET_POST: &[Method] = &[Method::GET, Method::POST];
    const DELETE: &[Method] = &[Method::DELETE];
    let admin = Access::Role(Role::Admin);
    let officer = Access::Role(Role::Officer);
    use crate::alerts::api as alerts;
    vec![
        route("/healthz", GET, Public, get(healthz)),
        route("/readyz", GET, Public, get(readyz)),
        route("/metrics", GET, Access::Metrics, get(metrics)),
        route("/api/v1/login", POST, Public, post(routes::login)),
        route(
            "/api/v1/display/session",
            POST,
            Public,
            post(routes::display_session),
        ),
        route("/api/v1/logout", POST, Session, post(routes::logout)),
        route("/api/v1/me", GET, Public, get(routes::me)),
        route("/api/v1/ingest/rejected", GET, Session, get(rejected)),
        route("/api/v1/history", GET, Session, get(history)),
        route("/api/v1/store", GET, Session, get(store_status)),
        route("/api/v1/city", GET, Session, get(city_map)),
        route("/ws", GET, Session, get(ws_upgrade)),
        route(
            "/api/v1/display-keys",
            GET_POST,
            admin,
            get(routes::list_keys).post(routes::create_key),
        ),
        route(
            "/api/v1/display-keys/{id}",
            DELETE,
            admin,
            delete(routes::revoke_key),
        ),
        route("/api/v1/users", GET, admin, get(routes::users)),
        route(
            "/api/v1/ingest",
            POST,
            Access::Gateway,
            post(crate::http_ingest::ingest),
        ),
        route("/api/v1/audit", GET, admin, get(routes::audit)),
        route("/api/v1/alerts", GET, Session, get(alerts::history)),
        route("/api/v1/alerts/rules", GET, Session, get(alerts::rules)),
        route("/api/v1/alerts/{id}", GET, Session, get(alerts::one)),
        route("/api/v1/alerts/{id}/ack", POST, officer, post(alerts::ack)),
        route(
            "/api/v1/alerts/{id}/resolve",
            POST,
            officer,
            post(alerts::resolve),
        ),
        route(
            "/api/v1/alerts/{id}/close",
            POST,
            officer,
            post(alerts::close),
        ),
    ]
}

/// The whole router: the API from [`routes`], each behind its guard, the built app (public:
/// it is the login page too) with `index.html` as the fallback, and the security headers on
/// every answer.
pub fn app(state: AppState, dist_dir: &Path) -> Router {
    let mut api = Router::new();
    for r in routes() {
        let handler = match r.access {
            Access::Public => r.handler,
            Access::Gateway => r.handler.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                crate::http_ingest::gateway_guard,
            )),
            need => r.handler.layer(axum::middleware::from_fn_with_state(
                (state.clone(), need),
                routes::guard,
            )),
        };
        api = api.route(r.path, handler);
    }
    let index = dist_dir.join("index.html");
    let csp = content_security_policy(&index);
    let router = if index.is_file() {
        api.fallback_service(ServeDir::new(dist_dir).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(
            dist = %dist_dir.display(),
            "the app is not built; `/` explains how to build it"
        );
        api.fallback(not_built)
    };
    security_headers(router.with_state(state), &csp)
}

/// The Content-Security-Policy: what a WASM app needs and nothing more. Trunk's loader is an
/// inline module script; it is allowed by its hash, read from the built `index.html`.
pub fn content_security_policy(index: &Path) -> String {
    let hashes: String = std::fs::read_to_string(index)
        .map(|html| inline_script_hashes(&html))
        .unwrap_or_default()
        .iter()
        .map(|h| format!(" 'sha256-{h}'"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Base64 SHA-256 of each inline `<script>`'s text, as CSP hashes them.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine;
    use sha2::Digest;
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = &after[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = sha2::Sha256::digest(&body_start.as_bytes()[..close]);
            out.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body_start[close..];
    }
    out
}

fn security_headers(router: Router, csp: &str) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer as H;
    let v = |s: &str| HeaderValue::from_str(s).expect("a valid header value");
    router
        .layer(H::if_not_present(header::CONTENT_SECURITY_POLICY, v(csp)))
        .layer(H::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            v("nosniff"),
        ))
        .layer(H::if_not_present(header::X_FRAME_OPTIONS, v("DENY")))
        .layer(H::if_not_present(header::REFERRER_POLICY, v("no-referrer")))
        .layer(H::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            v("same-origin"),
        ))
        .layer(H::if_not_present(
            header::HeaderName::from_static("permissions-policy"),
            v("camera=(), microphone=(), geolocation=()"),
        ))
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
        "broker_connected": state.ingest.broker_connected(),
        "websocket_clients": state.hub.clients(),
        "store": state.writer.report(),
    }))
}

/// `GET /readyz`: 200 when the server can take data (broker connected and subscribed, store
/// taking writes), else 503 with what is not ready. For load balancers and orchestrators.
async fn readyz(State(state): State<AppState>) -> Response {
    let ingest = &state.ingest;
    // A replica needs its live connection too: without it, its screens would stand still.
    let broker = ingest.broker_connected()
        && (!ingest.replica.load(Ordering::Relaxed)
            || ingest.live_connected.load(Ordering::Relaxed));
    let store = state.writer.stats().writable();
    let status = if broker && store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": broker && store,
        "broker_connected": broker,
        "store_writable": store,
    });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus' text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&state),
    )
        .into_response()
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
    axum::Extension(session): axum::Extension<crate::auth::Session>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.allowed_origins) {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), "websocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    // A browser sends a few small messages (resync requests): a 4 KiB read buffer instead
    // of the default 128 KiB is what lets 10,000 screens fit in memory (docs/performance.md).
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(WS_READ_BUFFER)
        .on_upgrade(move |socket| serve_socket(socket, state, session))
}

/// A websocket's read buffer, bytes.
const WS_READ_BUFFER: usize = 4096;

/// The close code of a websocket whose session ended (logout, expiry, a revoked key): the app
/// goes to its login page instead of reconnecting.
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// One browser: a snapshot, then deltas; a fresh snapshot whenever it fell behind or asks.
async fn serve_socket(socket: WebSocket, state: AppState, session: crate::auth::Session) {
    let mut ended = state.auth.store.ended();
    // Expiry is seen by looking: once a second, which also counts the open screen as activity.
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let (mut tx, mut rx) = socket.split();
    // The reader runs on its own so that a send waiting on a slow peer never stops us from
    // seeing its close; only resync requests come through, at most a few in flight.
    let (req_tx, mut requests) = mpsc::channel::<ClientMsg>(4);
    // When the peer was last heard from (any frame: browsers answer our pings by themselves).
    let heard = Arc::new(std::sync::Mutex::new(tokio::time::Instant::now()));
    let heard_by_reader = heard.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            *heard_by_reader.lock().unwrap_or_else(|e| e.into_inner()) =
                tokio::time::Instant::now();
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
    // A ping and a heartbeat every `ws_ping` (10 s by default): the browser reconnects when it
    // hears nothing for 30 s; a peer that sent nothing, not even the pong every browser returns
    // to a ping, for `ws_dead_after` (35 s) is dropped.
    let mut ping = tokio::time::interval(state.ws_ping);
    ping.tick().await;
    let limit = state.ws_send_timeout;
    let counters = state.hub.counters();
    let mut stopping = state.stopping.clone();
    let mut sent = send(&mut tx, WsMessage::Text(snapshot), limit).await;
    // The delta being sent (when it was made; telling the hub once it is written).
    let mut made = None;
    while sent.is_ok() {
        let outgoing = tokio::select! {
            _ = stopping.changed() => {
                // The server stops: say so (1001, going away); the app reconnects.
                let frame = axum::extract::ws::CloseFrame {
                    code: axum::extract::ws::close_code::AWAY,
                    reason: "server restarting".into(),
                };
                let _ = send(&mut tx, WsMessage::Close(Some(frame)), limit).await;
                break;
            }
            d = deltas.recv() => match d {
                Ok(d) => {
                    let text = d.text.clone();
                    made = Some(d);
                    Some(text)
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too far behind: the newest state, not the backlog.
                    tracing::debug!(missed, "websocket behind; sending a fresh snapshot");
                    counters.ws_lagged.fetch_add(1, Ordering::Relaxed);
                    let (snapshot, rx) = state.hub.subscribe();
                    deltas = rx;
                    Some(snapshot)
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            req = requests.recv() => match req {
                Some(ClientMsg::Resync) => {
                    counters.ws_requested.fetch_add(1, Ordering::Relaxed);
                    let (snapshot, rx) = state.hub.subscribe();
                    deltas = rx;
                    Some(snapshot)
                }
                None => break, // the reader ended: the peer is gone
            },
            id = ended.recv() => match id {
                Ok(id) if id == session.id => {
                    end_session_socket(&mut tx, limit).await;
                    break;
                }
                _ => None,
            },
            _ = check.tick() => {
                if state.auth.store.session_by_id(&session.id, true).is_none() {
                    end_session_socket(&mut tx, limit).await;
                    break;
                }
                None
            }
            _ = ping.tick() => {
                // A peer silent for three pings is dead (a laptop closed, a cable pulled): drop
                // it rather than keep writing into a connection nobody reads.
                let silent = heard.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                if silent > state.ws_dead_after {
                    tracing::info!(?silent, "websocket peer silent; dropping it");
                    counters.ws_silent.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                sent = send(&mut tx, WsMessage::Ping(Vec::new().into()), limit).await;
                if sent.is_err() {
                    break;
                }
                let beat = ServerMsg::Heartbeat { server_time: chrono::Utc::now().timestamp_millis() };
                Some(serde_json::to_string(&beat).expect("serialises").into())
            }
        };
        if let Some(text) = outgoing {
            sent = send(&mut tx, WsMessage::Text(text), limit).await;
            if sent.is_ok() {
                counters.ws_sent.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(delta) = made.take() {
                if sent.is_ok() {
                    counters.ws_fanout.observe(delta.made.elapsed());
                }
                delta.done();
            }
        }
    }
    if sent == Err(Unsent::Slow) {
        tracing::info!("websocket peer stopped reading; dropping it");
        counters.ws_slow.fetch_add(1, Ordering::Relaxed);
    }
    reader.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.close()).await;
}

/// Tells the browser its session ended (close code 4401) and closes.
async fn end_session_socket(
    tx: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    limit: Duration,
) {
    let frame = axum::extract::ws::CloseFrame {
        code: CLOSE_SESSION_ENDED,
        reason: "session ended".into(),
    };
    let _ = send(tx, WsMessage::Close(Some(frame)), limit).await;
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsent {
    /// The connection is closed or broken.
    Gone,
    /// The peer did not take it within the limit: it stopped reading. Dropping it is what
    /// keeps its state bounded.
    Slow,
}

/// Sends one message, within `limit`.
async fn send(
    tx: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    msg: WsMessage,
    limit: Duration,
) -> Result<(), Unsent> {
    match tokio::time::timeout(limit, tx.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Unsent::Gone),
        Err(_) => Err(Unsent::Slow),
    }
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
