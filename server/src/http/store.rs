//! `GET /api/v1/store`: the store writer's state (written, spooled, dropped, queue, spool).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;

use super::AppState;

/// `GET /api/v1/store`.
pub(crate) async fn status(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.writer.report())
}
