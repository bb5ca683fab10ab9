//! `POST /api/v1/ingest`: the contract's HTTP ingest, for city systems that cannot speak MQTT.
//!
//! A JSON array of `{"topic": ..., <payload fields>}`, each element decoded and validated by the
//! same rules as an MQTT message, with the gateway's bearer token (`Authorization: Bearer
//! <token>`, the password `ioc-server gateway add` printed). Each element must be granted to
//! that gateway. The answer comes once every accepted element is durable (in the store or the
//! spool): a 200 is the acknowledgement, and a sender that gets anything else sends the batch
//! again (the store ignores duplicates by topic and `ts`).
//!
//! `GET /api/v1/ingest/rejected`: what ingest (MQTT and HTTP) refused lately, and why.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ioc_protocol::RejectReason;
use serde::Serialize;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::auth::gateways::Gateway;
use crate::store::writer::{Ack, Pending};

/// At most this many elements per request.
pub const MAX_ELEMENTS: usize = 1000;
/// At most this many bytes per request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a request waits for its readings to be durable before it gives up (503).
const DURABLE_WITHIN: Duration = Duration::from_secs(30);

/// The guard of HTTP ingest: an active gateway's bearer token.
pub async fn gateway_guard(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = super::auth::bearer(req.headers());
    let Some(gateway) = token.and_then(|t| state.gateways.by_token(t)) else {
        return ApiError::unauthorized("send the gateway's token: Authorization: Bearer <token>")
            .into_response();
    };
    req.extensions_mut().insert(gateway);
    next.run(req).await
}

#[derive(Debug, Serialize)]
struct Refused {
    index: usize,
    reason: RejectReason,
    detail: String,
}

/// `POST /api/v1/ingest`.
pub async fn ingest(
    State(state): State<AppState>,
    Extension(gateway): Extension<Gateway>,
    body: Bytes,
) -> ApiResult {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "at most {MAX_BODY_BYTES} bytes per request"
        )));
    }
    let Ok(elements) = serde_json::from_slice::<Vec<serde_json::Value>>(&body) else {
        return Err(ApiError::bad_request(
            "the body is a JSON array of {\"topic\": ..., <payload fields>}",
        ));
    };
    if elements.len() > MAX_ELEMENTS {
        return Err(ApiError::PayloadTooLarge(format!(
            "at most {MAX_ELEMENTS} elements per request"
        )));
    }
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for (index, element) in elements.into_iter().enumerate() {
        let serde_json::Value::Object(mut fields) = element else {
            refused.push(Refused {
                index,
                reason: RejectReason::NotObject,
                detail: "an element is a JSON object".into(),
            });
            continue;
        };
        let topic = match fields.remove("topic") {
            Some(serde_json::Value::String(t)) => t,
            _ => {
                refused.push(Refused {
                    index,
                    reason: RejectReason::BadTopic,
                    detail: "an element has a \"topic\" string".into(),
                });
                continue;
            }
        };
        if ioc_protocol::topic::IndicatorTopic::is_indicator(&topic) {
            refused.push(Refused {
                index,
                reason: RejectReason::UnknownDomain,
                detail: "an indicator report is not a reading: POST the values to \
                         /api/v1/indicators, or publish the report over MQTT"
                    .into(),
            });
            continue;
        }
        let payload = serde_json::to_vec(&fields).expect("serialises");
        match state.intake.handle_from(&topic, &payload, Some(&gateway)) {
            Ok(msg) => accepted.push(msg),
            Err(r) => refused.push(Refused {
                index,
                reason: r.reason,
                detail: r.detail,
            }),
        }
    }
    let n = accepted.len();
    if n > 0 {
        // In order: the last one is durable only once every one before it is.
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let mut done_tx = Some(done_tx);
        for (i, msg) in accepted.into_iter().enumerate() {
            let ack = if i + 1 == n {
                done_tx.take().map(Ack::Once)
            } else {
                None
            };
            if state
                .writer
                .send(Pending::accepted(msg, ack))
                .await
                .is_err()
            {
                return Err(ApiError::unavailable("the server is stopping"));
            }
        }
        match tokio::time::timeout(DURABLE_WITHIN, done).await {
            Ok(Ok(())) => {}
            _ => {
                return Err(ApiError::unavailable(
                    "not durable yet (the store and its spool are full or failing): send again",
                ));
            }
        }
    }
    Ok(Json(json!({ "accepted": n, "rejected": refused })).into_response())
}

/// `GET /api/v1/ingest/rejected`: the counts by reason and the latest rejected messages.
pub(crate) async fn rejected(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.ingest.report())
}
