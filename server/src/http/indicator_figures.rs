//! `/api/v1/indicators/board` and `/api/v1/indicators/figures`: the figures of the
//! socio-economic indicators as `ioc_protocol::indicator::Board::compute` gives them (every
//! formula in `docs/indicators.md`), over the values as they stand and the targets in force,
//! as of the server's clock. The board is kept between requests by `crate::indicators`
//! (recomputed when a value or a target is stored, or after a minute).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use ioc_protocol::indicator::{FiguresAnswer, chart};
use ioc_protocol::topic::CITY_AREA;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::indicators::{now_ms, store_error};

/// `GET /api/v1/indicators/board`: the whole [`ioc_protocol::indicator::Board`] (`now_ms`,
/// `indicators`, `groups`, `late`, `punctuality`).
pub(crate) async fn board(State(state): State<AppState>) -> ApiResult {
    let (computed, _) = state
        .indicators
        .board(now_ms())
        .await
        .map_err(store_error)?;
    Ok(Json(&computed.board).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct FiguresParams {
    indicator: String,
}

/// `GET /api/v1/indicators/figures?indicator=CODE`: one indicator's figures at every area and
/// its city series with each period's abnormal score ([`FiguresAnswer`]).
pub(crate) async fn figures(
    State(state): State<AppState>,
    params: Result<Query<FiguresParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params.map_err(|e| {
        ApiError::bad_request(format!("{} (figures?indicator=CODE)", e.body_text()))
    })?;
    let (computed, _) = state
        .indicators
        .board(now_ms())
        .await
        .map_err(store_error)?;
    let (Some(indicator), Some(figures)) = (
        computed.catalogue.indicator(&p.indicator),
        computed.board.indicator(&p.indicator),
    ) else {
        return Err(ApiError::bad_request(format!(
            "{:?} is not an indicator of the catalogue",
            p.indicator
        )));
    };
    let now = computed.board.now_ms;
    Ok(Json(FiguresAnswer {
        now_ms: now,
        figures: figures.clone(),
        chart: chart(
            indicator,
            computed.values.series(&indicator.code, CITY_AREA),
            now,
        ),
    })
    .into_response())
}
