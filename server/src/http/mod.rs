//! The HTTP edge: every route the server answers, who may use each, and what every handler can
//! reach. The domain modules (live, store, ingest, alerts, auth) know nothing of HTTP; the
//! handlers here read requests, ask them, and answer.
//!
//! - [`routes`]: the one access table (path, methods, who may use it, handler); the router is
//!   built from it alone, so a test can walk it and no route exists without saying who may
//!   use it. [`app`] builds the router: each route behind its guard, the built app as the
//!   fallback, the security headers on every answer.
//! - [`error`]: [`ApiError`], how the API says no (`{"error": "..."}`), and how a 500 stays
//!   in the log.
//! - One file per resource: [`auth`] (login, sessions, display keys, users, audit, and the
//!   guard), [`alerts`], [`history`], [`ingest`] (HTTP ingest and its report),
//!   [`indicators`] (the socio-economic indicators: values in, series out, targets),
//!   `indicator_figures` (their board and one indicator's figures), [`city`],
//!   [`store`], [`probes`] (`/healthz`, `/readyz`), [`metrics`] (`/metrics`), [`ws`] (the
//!   websocket session), [`site`] (the app's files, from disk or [`embedded`] in the binary,
//!   and the security headers).
//! - [`tls`]: HTTPS, a listener that hands axum finished TLS handshakes.

pub mod alerts;
pub mod auth;
mod city;
pub mod embedded;
pub mod error;
mod history;
mod indicator_figures;
pub mod indicators;
pub mod ingest;
pub mod listen;
pub mod metrics;
mod probes;
pub mod site;
mod store;
pub mod tls;
pub mod ws;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, any, delete, get, post, put};

pub use error::{ApiError, ApiResult};
pub use site::{Site, content_security_policy};
pub use ws::CLOSE_SESSION_ENDED;

use crate::auth::{Access, Auth, Role};
use crate::city::City;
use crate::ingest::IngestStats;
use crate::live::Hub;
use crate::store::Reader;
use crate::store::writer::WriterHandle;

/// What every handler can reach: the running stages it reads or hands work to, and the
/// settings of the edge itself. Cloned per request (every field is a handle).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The live picture: each websocket subscribes to it for its snapshot and deltas, the
    /// health answers count its clients, `/metrics` reads its counters, and the alert
    /// handlers put a changed alert on every screen through it.
    pub hub: Arc<Hub>,
    /// Ingest's counts: the rejected-message report, the broker's state for `/healthz` and
    /// `/readyz`, and the ingest figures of `/metrics`.
    pub ingest: Arc<IngestStats>,
    /// The store's read side: `/api/v1/history` queries it.
    pub store: Reader,
    /// The store writer's queue, spool and counts: HTTP ingest hands its readings to it and
    /// waits until they are durable; `/readyz`, `/api/v1/store` and `/metrics` report it.
    pub writer: WriterHandle,
    /// The city's areas and map: history checks an area exists, `/api/v1/city` serves the map.
    pub city: Arc<City>,
    /// Extra origins allowed to open `/ws` (the server's own is always allowed): a websocket
    /// carries the officer's cookies, so another site must not open one.
    pub allowed_origins: Arc<Vec<String>>,
    /// How long a websocket may take to accept one message before it counts as a reader that
    /// stopped reading and is dropped.
    pub ws_send_timeout: Duration,
    /// A websocket gets a ping (and a heartbeat) every `ws_ping`, so that the browser knows the
    /// server is there and the server hears back.
    pub ws_ping: Duration,
    /// A websocket peer silent this long (not even a pong) is gone: a laptop closed, a cable
    /// pulled. It is dropped instead of written to.
    pub ws_dead_after: Duration,
    /// Users, sessions, display keys, throttling and the audit log: the guard of every
    /// protected route, the login routes, and each websocket (it closes when its session ends).
    pub auth: Arc<Auth>,
    /// What HTTP ingest runs each element through, as MQTT ingest does: the same decoding,
    /// grants, counts and hand-on to the hub and the alerts.
    pub intake: crate::ingest::Intake,
    /// The gateways and their tokens: the guard of HTTP ingest finds the sender's by its
    /// bearer token.
    pub gateways: Arc<crate::auth::gateways::Gateways>,
    /// The bearer token of `/metrics`, if one is configured (a scraper has no session).
    pub metrics_token: Option<Arc<str>>,
    /// Turns true when the server stops: websockets send a close frame and end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The alert engine: the history, the rules, and officers' actions on an alert.
    pub alerts: Arc<crate::alerts::Alerts>,
    /// The socio-economic indicators: their catalogue, the values submitted over HTTP, the
    /// series read back, the admin's targets.
    pub indicators: Arc<crate::indicators::Indicators>,
}

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
    const PUT: &[Method] = &[Method::PUT];
    let admin = Access::Role(Role::Admin);
    let officer = Access::Role(Role::Officer);
    let reporter = Access::Role(Role::Reporter);
    let upload = || DefaultBodyLimit::max(indicators::MAX_UPLOAD_BYTES);
    vec![
        route("/healthz", GET, Public, get(probes::healthz)),
        route("/readyz", GET, Public, get(probes::readyz)),
        route("/metrics", GET, Access::Metrics, get(metrics::serve)),
        route("/api/v1/login", POST, Public, post(auth::login)),
        route(
            "/api/v1/display/session",
            POST,
            Public,
            post(auth::display_session),
        ),
        route("/api/v1/logout", POST, Session, post(auth::logout)),
        route("/api/v1/me", GET, Public, get(auth::me)),
        route(
            "/api/v1/ingest/rejected",
            GET,
            Session,
            get(ingest::rejected),
        ),
        route("/api/v1/history", GET, Session, get(history::history)),
        route("/api/v1/store", GET, Session, get(store::status)),
        route("/api/v1/city", GET, Session, get(city::map)),
        route("/ws", GET, Session, get(ws::upgrade)),
        route(
            "/api/v1/display-keys",
            GET_POST,
            admin,
            get(auth::list_keys).post(auth::create_key),
        ),
        route(
            "/api/v1/display-keys/{id}",
            DELETE,
            admin,
            delete(auth::revoke_key),
        ),
        route("/api/v1/users", GET, admin, get(auth::users)),
        route(
            "/api/v1/ingest",
            POST,
            Access::Gateway,
            post(ingest::ingest),
        ),
        route("/api/v1/audit", GET, admin, get(auth::audit)),
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
        route(
            "/api/v1/indicators",
            POST,
            reporter,
            post(indicators::submit).layer(upload()),
        ),
        route(
            "/api/v1/indicators/import",
            POST,
            reporter,
            post(indicators::import).layer(upload()),
        ),
        route(
            "/api/v1/indicators/catalogue",
            GET,
            Session,
            get(indicators::catalogue),
        ),
        route(
            "/api/v1/indicators/values",
            GET,
            Session,
            get(indicators::values),
        ),
        route(
            "/api/v1/indicators/revisions",
            GET,
            Session,
            get(indicators::revisions),
        ),
        route(
            "/api/v1/indicators/board",
            GET,
            Session,
            get(indicator_figures::board),
        ),
        route(
            "/api/v1/indicators/figures",
            GET,
            Session,
            get(indicator_figures::figures),
        ),
        route(
            "/api/v1/indicators/targets",
            PUT,
            admin,
            put(indicators::set_targets),
        ),
    ]
}

/// The paths of the API: what is under it answers in JSON, errors included.
const API_PREFIX: &str = "/api/";

/// The whole router: the API from [`routes`], each behind its guard; a JSON 404 for any other
/// path under `/api/` and a JSON 405 for a method an API path does not take; the built app
/// (public: it is the login page too) with `index.html` as the fallback of every other path;
/// and the security headers on every answer.
pub fn app(state: AppState, site: &Site) -> Router {
    let mut api = Router::new();
    for r in routes() {
        let handler = if r.path.starts_with(API_PREFIX) {
            r.handler.fallback(error::method_not_allowed)
        } else {
            r.handler
        };
        // The guard goes in front of everything the path answers, the 405 included: who has
        // no session learns nothing of the route.
        let handler = match r.access {
            Access::Public => handler,
            Access::Gateway => handler.layer(axum::middleware::from_fn_with_state(
                state.clone(),
                ingest::gateway_guard,
            )),
            need => handler.layer(axum::middleware::from_fn_with_state(
                (state.clone(), need),
                auth::guard,
            )),
        };
        api = api.route(r.path, handler);
    }
    // `{*rest}` needs at least one character: `/api/` itself is named.
    let api = api
        .route("/api/", any(error::api_not_found))
        .route("/api/{*rest}", any(error::api_not_found));
    let csp = content_security_policy(site);
    site::security_headers(site::with_app(api, site).with_state(state), &csp)
}
