//! `GET /api/v1/city`: the city the app draws.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;

/// `GET /api/v1/city`: names, the tile grid and the areas' outlines (`ioc_protocol::map`).
pub(crate) async fn map(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.city.map_json().to_string(),
    )
}
