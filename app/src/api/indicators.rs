//! The socio-economic indicators: `GET /api/v1/indicators/catalogue` (groups, indicators,
//! targets, the wall's key indicators), `/board` (every figure of every indicator at every
//! area, each group's tally), `/values` (one series by period) and `/revisions` (who sent
//! what for one period). Each answer is read into the protocol's own types.

use ioc_protocol::indicator::{Board, Catalogue, Period, RevisionsAnswer, SeriesAnswer};
use serde::de::DeserializeOwned;

use super::get_text;

/// Why an answer is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndicatorError {
    /// No answer from the server.
    Unreachable,
    /// An answer other than 200: its status.
    Status(u16),
    /// A 200 whose body is not what was asked: what is wrong with it.
    Body(String),
}

/// An answer's body read as `T`, or what is wrong with it.
pub fn parse<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, IndicatorError> {
    if status != 200 {
        return Err(IndicatorError::Status(status));
    }
    serde_json::from_str(text).map_err(|e| IndicatorError::Body(e.to_string()))
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, IndicatorError> {
    let (status, text) = get_text(url)
        .await
        .map_err(|_| IndicatorError::Unreachable)?;
    parse(status, &text)
}

/// `?indicator=...&area=...`, each part percent-encoded.
pub fn key_query(indicator: &str, area: &str) -> String {
    format!(
        "indicator={}&area={}",
        js_sys::encode_uri_component(indicator),
        js_sys::encode_uri_component(area)
    )
}

pub async fn catalogue() -> Result<Catalogue, IndicatorError> {
    get("/api/v1/indicators/catalogue").await
}

pub async fn board() -> Result<Board, IndicatorError> {
    get("/api/v1/indicators/board").await
}

/// The series of one indicator at one area, by period.
pub async fn series(indicator: &str, area: &str) -> Result<SeriesAnswer, IndicatorError> {
    get(&format!(
        "/api/v1/indicators/values?{}",
        key_query(indicator, area)
    ))
    .await
}

/// Every revision of one period of one indicator at one area, oldest first.
pub async fn revisions(
    indicator: &str,
    area: &str,
    period: Period,
) -> Result<RevisionsAnswer, IndicatorError> {
    get(&format!(
        "/api/v1/indicators/revisions?{}&period={period}",
        key_query(indicator, area)
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_or_say_why_not() {
        let ok: Result<SeriesAnswer, _> = parse(
            200,
            r#"{"indicator":"grdp","area":"city","points":[{"period":"2026-Q3","value":1.5,
            "reported_ms":1,"received_ms":2,"by":"cuc-thong-ke","way":"mqtt","revisions":1,
            "first_reported_ms":1}]}"#,
        );
        let ok = ok.unwrap();
        assert_eq!(ok.points[0].period.to_string(), "2026-Q3");
        assert_eq!(
            parse::<SeriesAnswer>(503, "").unwrap_err(),
            IndicatorError::Status(503)
        );
        assert!(matches!(
            parse::<SeriesAnswer>(200, "{}"),
            Err(IndicatorError::Body(_))
        ));
    }
}
