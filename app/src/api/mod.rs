//! Every request the app makes to the server over HTTP, and the reading of its answers.
//!
//! All of it is same-origin: the session's HttpOnly cookie goes with each request, and the
//! app never sees it. Reading an answer is pure (tested on the host); only the `async`
//! functions talk to the browser. The live figures come over the websocket instead, to the
//! `live` module, which this one does not know.
//!
//! - [`auth`]: the session (`GET /api/v1/me`), logging in and out, a wall display's key.
//! - [`history`]: `GET /api/v1/history`, one field of an area over a time window.
//! - [`city`]: `GET /api/v1/city`, the city's names, grid and outlines.
//! - [`indicators`]: the socio-economic indicators' catalogue, board, series and revisions.
//! - [`alerts`]: an officer's action on an alert (`POST /api/v1/alerts/{id}/{action}`).
//!
//! Here too is the pacing the callers share: [`sleep_ms`] between attempts, and
//! [`page_hidden`], while which nothing is fetched on a timer.

pub mod alerts;
pub mod auth;
pub mod city;
pub mod history;
pub mod indicators;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// No answer from the server (network down, server gone): each endpoint's error says so in
/// its own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable;

/// A GET of `url` on the server: its status and body.
///
/// It and [`request`] each read the response themselves: an `async fn` awaited inside another
/// costs the app's wasm about 750 bytes (gzipped) more than these few lines twice.
pub async fn get_text(url: &str) -> Result<(u16, String), Unreachable> {
    let window = web_sys::window().ok_or(Unreachable)?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| Unreachable)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| Unreachable)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| Unreachable)?)
        .await
        .map_err(|_| Unreachable)?
        .as_string()
        .unwrap_or_default();
    Ok((status, text))
}

/// A request with an optional JSON body, asking for JSON: its status and body.
pub async fn request(
    method: &str,
    url: &str,
    json: Option<String>,
) -> Result<(u16, String), Unreachable> {
    let window = web_sys::window().ok_or(Unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| Unreachable)?;
    headers
        .set("accept", "application/json")
        .map_err(|_| Unreachable)?;
    if let Some(json) = json {
        headers
            .set("content-type", "application/json")
            .map_err(|_| Unreachable)?;
        init.set_body(&JsValue::from_str(&json));
    }
    init.set_headers(&headers);
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| Unreachable)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| Unreachable)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| Unreachable)?)
        .await
        .map_err(|_| Unreachable)?
        .as_string()
        .unwrap_or_default();
    Ok((status, text))
}

/// Waits `ms` milliseconds (a `setTimeout`).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Whether the page is hidden (a background tab, a minimised window): nothing is fetched then.
pub fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}
