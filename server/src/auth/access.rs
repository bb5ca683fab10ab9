//! Who may use what, and the auth services a request is checked against: [`Access`] says who
//! may use a route, [`Auth`] holds what answers it (sessions, throttling, the audit log). No
//! HTTP type here: the HTTP edge (`http::auth`) reads cookies and headers and asks these.

use super::audit::Audit;
use super::throttle::Throttle;
use super::{AuthStore, Role};

/// Everything auth needs at request time.
#[derive(Debug)]
pub struct Auth {
    pub store: AuthStore,
    pub throttle: Throttle,
    pub audit: Audit,
    /// `__Host-` and Secure (TLS, or a TLS proxy in front), or a plain cookie.
    pub secure_cookie: bool,
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the app's files, login, health.
    Public,
    /// Any session, a wall display's included.
    Session,
    /// Users with at least this role.
    Role(Role),
    /// A gateway's bearer token (HTTP ingest).
    Gateway,
    /// The metrics token as a bearer token (a Prometheus scraper), or a supervisor's session.
    Metrics,
}

impl Access {
    /// The least role a session needs, when a session is what this access asks for.
    pub fn least_role(self) -> Option<Role> {
        match self {
            Access::Role(role) => Some(role),
            Access::Metrics => Some(Role::Supervisor),
            _ => None,
        }
    }
}
