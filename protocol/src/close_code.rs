//! The codes the server closes a websocket (`/ws`) with, and what each asks of the screen
//! (`docs/websocket.md`, "Close codes").
//!
//! Any other end of a connection (a cut, a refused handshake, 30 s of silence) is retried by
//! the app with backoff.

/// The session has ended (logout, expiry, a disabled user or a revoked display key): the
/// server would refuse the socket again, so the app does not reconnect; the console goes to
/// its login page, a wall says it has no access. A private-use code (4000–4999, RFC 6455).
pub const SESSION_ENDED: u16 = 4401;

/// The server is stopping (SIGTERM): the app reconnects, with backoff, until it is back. The
/// standard "going away" of RFC 6455.
pub const GOING_AWAY: u16 = 1001;
