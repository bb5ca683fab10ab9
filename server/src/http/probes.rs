//! `/healthz` and `/readyz`: what load balancers, orchestrators and operators ask of a running
//! server. Public: they say whether it works, nothing of what it holds.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// `GET /healthz`: always 200 while the server answers; the broker's state, the websockets
/// connected and the store writer's report.
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "broker_connected": state.ingest.broker_connected(),
        "websocket_clients": state.hub.clients(),
        "store": state.writer.report(),
    }))
}

/// `GET /readyz`: 200 when the server can take data (broker connected and subscribed, store
/// taking writes), else 503 with what is not ready. For load balancers and orchestrators.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
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
