//! The live connection: `/ws`, reconnect with backoff, resync from a fresh snapshot.
//!
//! The connection lives only while the screen has a session: [`connect`] opens it,
//! [`Link::stop`] closes it for good. When the server ends the session (close code 4401,
//! [`SESSION_ENDED`]), or a reconnect is refused and `GET /api/v1/me` says there is no session
//! any more, it is not reopened: the app is told instead. Any other cut is retried, for ever.
//!
//! Its own room rather than a part of [`crate::api`]: what it holds is the state every tile
//! reads, kept current by a push connection, not a request and its answer.
//!
//! The state is one signal of [`LiveState`]; the tiles derive their rows from it. Deltas are
//! applied only in order (`seq` one more than the last); anything else asks the server for a
//! fresh snapshot, so the screen can never show a mix of old and new figures.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use ioc_protocol::alerts::AlertsFigure;
use ioc_protocol::close_code::SESSION_ENDED;
use ioc_protocol::live::{
    ComplaintFigures, EnvFigures, FloodFigures, ServiceFigures, SystemFigures, TrafficFigures,
};
use ioc_protocol::{AreaInfo, AreaStat, ClientMsg, Domain, DomainFigures, ServerMsg};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::api::auth::{AuthError, me};
use crate::i18n::Lang;

/// Silence longer than this means the connection is dead, even if the browser has not
/// noticed (the server sends a heartbeat every 10 s).
const SILENCE_LIMIT_MS: f64 = 30_000.0;
const BACKOFF_MIN_MS: f64 = 250.0;
/// At most this long between attempts: a wall display must be back within seconds of the
/// server's return (with the jitter below, an attempt comes every 1 to 2 s at worst).
const BACKOFF_MAX_MS: f64 = 2_000.0;
/// A refused handshake looks like any other cut to the browser (code 1006), so after one the
/// session is checked with `GET /api/v1/me`, at most this often.
const SESSION_CHECK_MS: f64 = 5_000.0;

/// What the screen knows of the city.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    pub seq: u64,
    pub city_vi: String,
    pub city_en: String,
    pub areas: Vec<AreaInfo>,
    pub stale_after_s: BTreeMap<Domain, u32>,
    pub stats: HashMap<(Domain, String), AreaStat>,
    /// The figures of each domain, replaced whole when any of them changes.
    pub figures: BTreeMap<Domain, DomainFigures>,
    /// Local midnight (Asia/Ho_Chi_Minh) that today's counts start from, epoch ms.
    pub day_start: i64,
    /// Server clock minus browser clock, ms: ages are computed on the server's clock.
    pub clock_offset_ms: f64,
}

impl LiveState {
    pub fn stat(&self, domain: Domain, area: &str) -> Option<&AreaStat> {
        self.stats.get(&(domain, area.to_owned()))
    }

    pub fn traffic(&self) -> Option<&TrafficFigures> {
        match self.figures.get(&Domain::Traffic)? {
            DomainFigures::Traffic(f) => Some(f),
            _ => None,
        }
    }

    pub fn env(&self) -> Option<&EnvFigures> {
        match self.figures.get(&Domain::Env)? {
            DomainFigures::Env(f) => Some(f),
            _ => None,
        }
    }

    pub fn flood(&self) -> Option<&FloodFigures> {
        match self.figures.get(&Domain::Flood)? {
            DomainFigures::Flood(f) => Some(f),
            _ => None,
        }
    }

    pub fn complaints(&self) -> Option<&ComplaintFigures> {
        match self.figures.get(&Domain::Complaint)? {
            DomainFigures::Complaint(f) => Some(f),
            _ => None,
        }
    }

    pub fn services(&self) -> Option<&ServiceFigures> {
        match self.figures.get(&Domain::Service)? {
            DomainFigures::Service(f) => Some(f),
            _ => None,
        }
    }

    pub fn system(&self) -> Option<&SystemFigures> {
        match self.figures.get(&Domain::System)? {
            DomainFigures::System(f) => Some(f),
            _ => None,
        }
    }

    /// An area's name in `lang`, the code itself when unknown.
    pub fn area_name(&self, code: &str, lang: Lang) -> String {
        self.areas.iter().find(|a| a.code == code).map_or_else(
            || code.to_owned(),
            |a| {
                if lang == Lang::Vi {
                    a.name_vi.clone()
                } else {
                    a.name_en.clone()
                }
            },
        )
    }

    /// The newest reading behind any area figure of a domain, epoch ms (0: none).
    pub fn newest(&self, domain: Domain) -> i64 {
        self.stats
            .values()
            .filter(|s| s.domain == domain)
            .map(|s| s.newest_ts)
            .max()
            .unwrap_or(0)
    }

    /// Server time now, given the browser's clock.
    pub fn server_now(&self, browser_now: f64) -> i64 {
        (browser_now + self.clock_offset_ms) as i64
    }
}

/// The state of the connection, shown on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Connection {
    Connecting,
    Live,
    /// Cut off; the next attempt is at `retry_at` (browser ms).
    Reconnecting {
        retry_at: f64,
    },
}

/// The signals the app reads.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub state: RwSignal<LiveState>,
    pub connection: RwSignal<Connection>,
    /// The alerts not closed, in the screens' order, and their counts: set by the snapshot,
    /// replaced whole by a delta that carries them. A signal of its own, so that the deltas
    /// that leave the alerts alone (most of them) do not touch the alerts on screen.
    pub alerts: RwSignal<AlertsFigure>,
}

impl Live {
    /// Empty signals, for [`connect`] to fill.
    pub fn new() -> Live {
        Live {
            state: RwSignal::new(LiveState::default()),
            connection: RwSignal::new(Connection::Connecting),
            alerts: RwSignal::new(AlertsFigure::default()),
        }
    }

    /// Forgets everything: the next session starts from its own snapshot.
    pub fn reset(self) {
        self.state.set(LiveState::default());
        self.connection.set(Connection::Connecting);
        self.alerts.set(AlertsFigure::default());
    }
}

impl Default for Live {
    fn default() -> Live {
        Live::new()
    }
}

/// An open connection (and its reconnects), until [`Link::stop`].
pub struct Link {
    inner: Rc<RefCell<Inner>>,
    watchdog: Option<IntervalHandle>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("stopped", &self.inner.borrow().stopped)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Closes the connection and stops reconnecting. Idempotent.
    pub fn stop(&self) {
        if let Some(w) = self.watchdog {
            w.clear();
        }
        shutdown(&self.inner);
    }
}

struct Socket {
    ws: WebSocket,
    // Kept so they live as long as the socket, and are dropped with it.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
}

struct Inner {
    live: Live,
    socket: Option<Socket>,
    /// Whether the current socket ever opened: one that closes before it did may have been
    /// refused for want of a session.
    opened: bool,
    backoff_ms: f64,
    last_message_at: f64,
    retry: Option<Closure<dyn FnMut()>>,
    /// The pending retry's timer, cleared when the link stops.
    retry_timer: Option<i32>,
    /// Set by [`Link::stop`] and when the session ends: nothing is reopened after.
    stopped: bool,
    /// When `GET /api/v1/me` was last asked after a refused handshake (browser ms), and
    /// whether that answer is still awaited.
    session_checked_at: f64,
    session_checking: bool,
    /// Called once when the server ends the session.
    on_end: Rc<dyn Fn()>,
    /// Sockets and callbacks done with, dropped later from the watchdog: a closure must not
    /// be dropped while it runs, and `lost` runs inside the socket's own `onclose`.
    graveyard: Vec<Box<dyn std::any::Any>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn ws_url() -> String {
    let loc = web_sys::window().expect("a window").location();
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = loc.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}

/// Opens the connection into `live`'s signals and keeps it open (reconnecting after any cut)
/// until [`Link::stop`], or until the server ends the session: then `on_session_end` is
/// called, once, and nothing is reopened.
pub fn connect(live: Live, on_session_end: impl Fn() + 'static) -> Link {
    live.connection.set(Connection::Connecting);
    let inner = Rc::new(RefCell::new(Inner {
        live,
        socket: None,
        opened: false,
        backoff_ms: BACKOFF_MIN_MS,
        last_message_at: now_ms(),
        retry: None,
        retry_timer: None,
        stopped: false,
        session_checked_at: f64::NEG_INFINITY,
        session_checking: false,
        on_end: Rc::new(on_session_end),
        graveyard: Vec::new(),
    }));
    open(&inner);
    // The watchdog: a connection that went silent is closed and reopened.
    let watchdog = inner.clone();
    let watchdog = set_interval_with_handle(
        move || {
            let silent = {
                let mut i = watchdog.borrow_mut();
                i.graveyard.clear();
                i.socket.is_some() && now_ms() - i.last_message_at > SILENCE_LIMIT_MS
            };
            if silent {
                web_sys::console::warn_1(&"no message for 30 s: reconnecting".into());
                lost(&watchdog);
            }
        },
        std::time::Duration::from_secs(5),
    )
    .ok();
    Link { inner, watchdog }
}

fn open(inner: &Rc<RefCell<Inner>>) {
    {
        let mut i = inner.borrow_mut();
        i.retry_timer = None;
        if i.stopped {
            return;
        }
    }
    let ws = match WebSocket::new(&ws_url()) {
        Ok(ws) => ws,
        Err(_) => {
            schedule_retry(inner);
            return;
        }
    };
    let on_open = {
        let inner = inner.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let mut i = inner.borrow_mut();
            i.opened = true;
            i.last_message_at = now_ms();
            i.live.connection.set(Connection::Live);
        })
    };
    let on_message = {
        let inner = inner.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            on_text(&inner, &text);
        })
    };
    let on_close = {
        let inner = inner.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| closed(&inner, e.code()))
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut i = inner.borrow_mut();
    i.opened = false;
    i.last_message_at = now_ms();
    i.socket = Some(Socket {
        ws,
        _on_message: on_message,
        _on_close: on_close,
        _on_open: on_open,
    });
}

/// The server closed the socket, or it failed to open.
fn closed(inner: &Rc<RefCell<Inner>>, code: u16) {
    if code == SESSION_ENDED {
        session_ended(inner);
        return;
    }
    let refused = !inner.borrow().opened;
    lost(inner);
    if refused {
        check_session(inner);
    }
}

/// Asks the server whether the session still holds (a handshake refused for want of one
/// cannot be told from a server that is down); if it does not, the session has ended.
fn check_session(inner: &Rc<RefCell<Inner>>) {
    {
        let mut i = inner.borrow_mut();
        if i.stopped || i.session_checking || now_ms() - i.session_checked_at < SESSION_CHECK_MS {
            return;
        }
        i.session_checking = true;
        i.session_checked_at = now_ms();
    }
    let inner = inner.clone();
    leptos::task::spawn_local(async move {
        let answer = me().await;
        inner.borrow_mut().session_checking = false;
        if answer == Err(AuthError::Refused) {
            session_ended(&inner);
        }
    });
}

/// The server ended the session: close for good and tell the app (once).
fn session_ended(inner: &Rc<RefCell<Inner>>) {
    let on_end = {
        let i = inner.borrow();
        if i.stopped {
            return;
        }
        i.on_end.clone()
    };
    shutdown(inner);
    on_end();
}

/// Closes the socket, cancels any retry, and reopens nothing after.
fn shutdown(inner: &Rc<RefCell<Inner>>) {
    let mut dead: Vec<Box<dyn std::any::Any>> = {
        let mut i = inner.borrow_mut();
        i.stopped = true;
        if let (Some(id), Some(w)) = (i.retry_timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(id);
        }
        std::mem::take(&mut i.graveyard)
    };
    let (socket, retry) = {
        let mut i = inner.borrow_mut();
        (i.socket.take(), i.retry.take())
    };
    if let Some(s) = socket {
        s.ws.set_onclose(None);
        s.ws.set_onmessage(None);
        s.ws.set_onopen(None);
        let _ = s.ws.close();
        dead.push(Box::new(s));
    }
    if let Some(r) = retry {
        dead.push(Box::new(r));
    }
    // Dropped after this event: this may run inside one of these closures (`onclose`). With
    // them go the last references to `inner`.
    set_timeout(move || drop(dead), std::time::Duration::ZERO);
}

/// The connection is gone (closed, failed, or silent): drop it and try again later.
fn lost(inner: &Rc<RefCell<Inner>>) {
    let socket = inner.borrow_mut().socket.take();
    if let Some(s) = socket {
        s.ws.set_onclose(None);
        s.ws.set_onmessage(None);
        s.ws.set_onopen(None);
        let _ = s.ws.close();
        inner.borrow_mut().graveyard.push(Box::new(s));
    }
    schedule_retry(inner);
}

fn schedule_retry(inner: &Rc<RefCell<Inner>>) {
    let mut i = inner.borrow_mut();
    if i.stopped {
        return;
    }
    // Exponential backoff with jitter, so that a wall of screens does not reconnect at once.
    let delay = i.backoff_ms * (0.5 + 0.5 * js_sys::Math::random());
    i.backoff_ms = (i.backoff_ms * 2.0).min(BACKOFF_MAX_MS);
    i.live.connection.set(Connection::Reconnecting {
        retry_at: now_ms() + delay,
    });
    let again = inner.clone();
    let cb = Closure::<dyn FnMut()>::new(move || open(&again));
    if let Some(w) = web_sys::window() {
        i.retry_timer = w
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                cb.as_ref().unchecked_ref(),
                delay as i32,
            )
            .ok();
    }
    if let Some(old) = i.retry.replace(cb) {
        i.graveyard.push(Box::new(old));
    }
}

fn send(inner: &Rc<RefCell<Inner>>, msg: &ClientMsg) {
    if let (Some(s), Ok(text)) = (&inner.borrow().socket, serde_json::to_string(msg)) {
        let _ = s.ws.send_with_str(&text);
    }
}

/// Reads a message of the server. By its `type` first, then straight into its variant: serde's
/// own reading of an internally tagged enum ([`ServerMsg`]) buffers the whole message into a
/// generic tree first, which costs the app about 7 KB of compressed code (and the browser a
/// copy of every snapshot). serde writes the tag first; any other order is read too, with a
/// second pass over the text.
pub fn parse(text: &str) -> Result<ServerMsg, String> {
    #[derive(serde::Deserialize)]
    struct Tag {
        r#type: String,
    }
    #[derive(serde::Deserialize)]
    struct Heartbeat {
        server_time: i64,
    }
    let tag = match text.strip_prefix(r#"{"type":""#) {
        Some(rest) => rest.split('"').next().unwrap_or_default().to_owned(),
        None => {
            serde_json::from_str::<Tag>(text)
                .map_err(|e| e.to_string())?
                .r#type
        }
    };
    let e = |e: serde_json::Error| e.to_string();
    match tag.as_str() {
        "delta" => serde_json::from_str(text).map(ServerMsg::Delta).map_err(e),
        "snapshot" => serde_json::from_str(text)
            .map(ServerMsg::Snapshot)
            .map_err(e),
        "heartbeat" => serde_json::from_str::<Heartbeat>(text)
            .map(|h| ServerMsg::Heartbeat {
                server_time: h.server_time,
            })
            .map_err(e),
        other => Err(format!("unknown message type {other:?}")),
    }
}

fn on_text(inner: &Rc<RefCell<Inner>>, text: &str) {
    let live = {
        let mut i = inner.borrow_mut();
        i.last_message_at = now_ms();
        i.live
    };
    let msg = match parse(text) {
        Ok(m) => m,
        Err(e) => {
            web_sys::console::error_1(&format!("bad message from the server: {e}").into());
            return;
        }
    };
    match msg {
        ServerMsg::Snapshot(s) => {
            inner.borrow_mut().backoff_ms = BACKOFF_MIN_MS;
            live.connection.set(Connection::Live);
            live.state.set(LiveState {
                seq: s.seq,
                city_vi: s.city_vi,
                city_en: s.city_en,
                areas: s.areas,
                stale_after_s: s.stale_after_s,
                stats: s
                    .stats
                    .into_iter()
                    .map(|st| ((st.domain, st.area.clone()), st))
                    .collect(),
                figures: s.figures.into_iter().map(|f| (f.domain(), f)).collect(),
                day_start: s.day_start,
                clock_offset_ms: s.server_time as f64 - now_ms(),
            });
            live.alerts.set(s.alerts);
        }
        ServerMsg::Delta(d) => {
            let expected = live.state.with_untracked(|s| s.seq + 1);
            if d.seq < expected {
                return; // already in the snapshot
            }
            if d.seq > expected {
                send(inner, &ClientMsg::Resync);
                return;
            }
            live.state.update(|s| {
                s.seq = d.seq;
                s.clock_offset_ms = d.server_time as f64 - now_ms();
                for st in d.stats {
                    s.stats.insert((st.domain, st.area.clone()), st);
                }
                for f in d.figures {
                    s.figures.insert(f.domain(), f);
                }
                if let Some(day) = d.day_start {
                    s.day_start = day;
                }
            });
            if let Some(alerts) = d.alerts {
                live.alerts.set(alerts);
            }
        }
        ServerMsg::Heartbeat { server_time } => {
            live.state
                .update(|s| s.clock_offset_ms = server_time as f64 - now_ms());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::alerts::AlertsFigure;
    use ioc_protocol::{Delta, Snapshot};

    #[test]
    fn messages_are_read_by_their_type() {
        let snapshot = ServerMsg::Snapshot(Snapshot {
            seq: 4,
            server_time: 1_000,
            city_vi: "TP. Hồ Chí Minh".into(),
            city_en: "Ho Chi Minh City".into(),
            areas: vec![],
            stale_after_s: BTreeMap::new(),
            stats: vec![],
            day_start: 7,
            figures: vec![],
            alerts: AlertsFigure {
                open: 2,
                critical: 1,
                ..AlertsFigure::default()
            },
        });
        let delta = ServerMsg::Delta(Delta {
            seq: 5,
            server_time: 1_500,
            stats: vec![],
            figures: vec![],
            day_start: None,
            alerts: Some(AlertsFigure::default()),
        });
        let heartbeat = ServerMsg::Heartbeat { server_time: 9 };
        for msg in [snapshot, delta, heartbeat] {
            let text = serde_json::to_string(&msg).unwrap();
            assert_eq!(parse(&text), Ok(msg.clone()), "{text}");
            // The tag elsewhere than first is read too.
            let moved = format!(
                "{{{},\"type\":{}}}",
                &text[text.find(',').unwrap() + 1..text.len() - 1],
                &text[8..text.find(',').unwrap()]
            );
            assert_eq!(parse(&moved), Ok(msg), "{moved}");
        }
        assert!(parse(r#"{"type":"drop_tables"}"#).is_err());
        assert!(parse("not json").is_err());
    }
}
