//! `/ws`: one browser's live view. The upgrade checks the page's origin; the session sends a
//! snapshot, then the hub's deltas, a fresh snapshot when the browser fell behind or asks, a
//! ping and a heartbeat every `ws_ping`; it closes with 4401 when the browser's session ends
//! and 1001 when the server stops, and drops a peer that stopped reading or went silent.
//!
//! [`serve`] is generic over the socket's two halves (any `Sink` of messages and `Stream` of
//! received ones), so that a test drives it with channels, no network.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use ioc_protocol::{ClientMsg, ServerMsg};
use tokio::sync::{broadcast, mpsc};

use super::AppState;
use crate::auth::Session;

/// The largest message a browser may send over `/ws`.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

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

/// `GET /ws`: the upgrade, from the server's own origin or an allowed one.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
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
        .on_upgrade(move |socket| {
            let (tx, rx) = socket.split();
            serve(tx, rx, state, session)
        })
}

/// A websocket's read buffer, bytes.
const WS_READ_BUFFER: usize = 4096;

/// The close code of a websocket whose session ended (logout, expiry, a revoked key): the app
/// goes to its login page instead of reconnecting.
pub const CLOSE_SESSION_ENDED: u16 = ioc_protocol::close_code::SESSION_ENDED;

/// One browser: a snapshot, then deltas; a fresh snapshot whenever it fell behind or asks.
/// `tx` sends to the browser, `rx` is what it sends; ends when either side is done.
pub async fn serve<W, R, E>(mut tx: W, mut rx: R, state: AppState, session: Session)
where
    W: Sink<WsMessage> + Unpin,
    R: Stream<Item = Result<WsMessage, E>> + Unpin + Send + 'static,
{
    let mut ended = state.auth.store.ended();
    // Expiry is seen by looking: once a second, which also counts the open screen as activity.
    let mut check = tokio::time::interval(Duration::from_secs(1));
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
                let frame = CloseFrame {
                    code: ioc_protocol::close_code::GOING_AWAY,
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
async fn end_session_socket<W: Sink<WsMessage> + Unpin>(tx: &mut W, limit: Duration) {
    let frame = CloseFrame {
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
async fn send<W: Sink<WsMessage> + Unpin>(
    tx: &mut W,
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
    use std::convert::Infallible;
    use std::pin::Pin;

    use super::*;
    use crate::auth::{Lifetimes, Role};
    use crate::http::tests::Fixture;
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

    /// What the session sent, as the browser reads it.
    type Outbox = mpsc::UnboundedReceiver<WsMessage>;
    /// What the browser sends.
    type Inbox = mpsc::UnboundedSender<Result<WsMessage, Infallible>>;

    /// [`serve`] on channels: the session's task, what it sends, and the browser's side.
    fn open(f: &Fixture, session: Session) -> (tokio::task::JoinHandle<()>, Outbox, Inbox) {
        let (out_tx, out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let (in_tx, in_rx) = mpsc::unbounded_channel::<Result<WsMessage, Infallible>>();
        let sink = futures_util::sink::unfold(out_tx, |tx, m: WsMessage| async move {
            tx.send(m).map(|()| tx).map_err(|_| "the browser is gone")
        });
        let stream = futures_util::stream::unfold(in_rx, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        });
        let (sink, stream): (Pin<Box<_>>, Pin<Box<_>>) = (Box::pin(sink), Box::pin(stream));
        let task = tokio::spawn(serve(sink, stream, f.state.clone(), session));
        (task, out_rx, in_tx)
    }

    async fn next(out: &mut Outbox) -> WsMessage {
        tokio::time::timeout(Duration::from_secs(10), out.recv())
            .await
            .expect("a message within 10 s")
            .expect("the session is still sending")
    }

    async fn next_live(out: &mut Outbox) -> ServerMsg {
        match next(out).await {
            WsMessage::Text(t) => serde_json::from_str(t.as_str()).expect("a server message"),
            other => panic!("a text frame, not {other:?}"),
        }
    }

    async fn closed_with(out: &mut Outbox) -> (u16, String) {
        loop {
            match next(out).await {
                WsMessage::Close(Some(f)) => return (f.code, f.reason.to_string()),
                WsMessage::Close(None) => panic!("a close frame without a code"),
                _ => {}
            }
        }
    }

    fn session(f: &Fixture, role: Role) -> (String, Session) {
        let token = f.session(role);
        let s = f.state.auth.store.session(&token).expect("a valid session");
        (token, s)
    }

    #[tokio::test]
    async fn a_snapshot_first_then_deltas_then_4401_at_logout() {
        let f = Fixture::new(Lifetimes::default());
        let (token, s) = session(&f, Role::Viewer);
        let (task, mut out, _inbox) = open(&f, s);
        let ServerMsg::Snapshot(first) = next_live(&mut out).await else {
            panic!("the first message is the snapshot");
        };
        assert_eq!(f.state.hub.clients(), 1);
        // Everything is dirty on a fresh hub: a flush publishes a delta after the snapshot.
        assert!(f.state.hub.flush());
        let ServerMsg::Delta(d) = next_live(&mut out).await else {
            panic!("then deltas");
        };
        assert_eq!(d.seq, first.seq + 1);
        f.state.auth.store.end_session(&token).expect("logout");
        assert_eq!(
            closed_with(&mut out).await,
            (CLOSE_SESSION_ENDED, "session ended".to_owned())
        );
        task.await.expect("the session ends");
        assert!(out.recv().await.is_none(), "nothing after the close");
    }

    #[tokio::test]
    async fn an_expired_session_closes_its_socket_with_4401() {
        let f = Fixture::new(Lifetimes {
            idle: Duration::from_millis(300),
            ..Lifetimes::default()
        });
        let (_token, s) = session(&f, Role::Viewer);
        let (task, mut out, _inbox) = open(&f, s);
        assert!(matches!(next_live(&mut out).await, ServerMsg::Snapshot(_)));
        // Seen within the once-a-second look, though nobody logged out.
        let (code, _) = closed_with(&mut out).await;
        assert_eq!(code, CLOSE_SESSION_ENDED);
        task.await.expect("the session ends");
    }

    #[tokio::test]
    async fn a_resync_request_gets_a_fresh_snapshot() {
        let f = Fixture::new(Lifetimes::default());
        let (_token, s) = session(&f, Role::Display);
        let (_task, mut out, inbox) = open(&f, s);
        assert!(matches!(next_live(&mut out).await, ServerMsg::Snapshot(_)));
        let resync = serde_json::to_string(&ClientMsg::Resync).expect("serialises");
        inbox
            .send(Ok(WsMessage::Text(resync.into())))
            .expect("the reader is there");
        assert!(matches!(next_live(&mut out).await, ServerMsg::Snapshot(_)));
    }

    #[tokio::test]
    async fn the_browser_leaving_ends_it_and_the_server_stopping_closes_with_1001() {
        let f = Fixture::new(Lifetimes::default());
        let (_token, s) = session(&f, Role::Viewer);
        let (task, mut out, inbox) = open(&f, s.clone());
        assert!(matches!(next_live(&mut out).await, ServerMsg::Snapshot(_)));
        drop(inbox);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the session ends when the browser goes")
            .expect("no panic");

        let (task, mut out, _inbox) = open(&f, s);
        assert!(matches!(next_live(&mut out).await, ServerMsg::Snapshot(_)));
        f.stop.send(true).expect("a receiver");
        assert_eq!(
            closed_with(&mut out).await,
            (
                axum::extract::ws::close_code::AWAY,
                "server restarting".to_owned()
            )
        );
        task.await.expect("the session ends");
    }
}
