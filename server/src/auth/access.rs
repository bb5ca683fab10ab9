//! Who may use what, and the auth services a request is checked against: [`Access`] says who
//! may use a route, [`Auth`] holds what answers it (sessions, throttling, the audit log). No
//! HTTP type here: the HTTP edge (`http::auth`) reads cookies and headers and asks these.

use std::time::Duration;

use anyhow::Context;

use super::audit::Audit;
use super::throttle::Throttle;
use super::{AuthStore, Lifetimes, Role};

/// Everything auth needs at request time.
#[derive(Debug)]
pub struct Auth {
    pub store: AuthStore,
    pub throttle: Throttle,
    pub audit: Audit,
    /// `__Host-` and Secure (TLS, or a TLS proxy in front), or a plain cookie.
    pub secure_cookie: bool,
}

impl Auth {
    /// The auth store of the data directory, with its first admin on a first start: the
    /// password of `IOC_INITIAL_ADMIN_PASSWORD` if set (automated installs, tests), else a
    /// random one printed once on stdout.
    pub fn open(config: &crate::config::Config) -> anyhow::Result<Auth> {
        let h = &config.http;
        let store = AuthStore::open(
            &config.data_dir,
            Lifetimes {
                idle: Duration::from_secs(h.session_idle_minutes * 60),
                absolute: Duration::from_secs(h.session_hours * 3600),
                display: Duration::from_secs(h.display_session_days * 86_400),
            },
        )?;
        let initial = std::env::var("IOC_INITIAL_ADMIN_PASSWORD").ok();
        if let Some(password) = store.bootstrap(initial.as_deref())? {
            println!(
                "ioc-server first start: created user \"admin\" (role admin) with the password \
                 {password} (shown once: keep it, or `ioc-server user reset admin` for another)"
            );
        }
        let audit = Audit::open(&config.data_dir).with_context(|| {
            format!("cannot open the audit log in {}", config.data_dir.display())
        })?;
        Ok(Auth {
            store,
            throttle: Throttle::default(),
            audit,
            // Under TLS the cookie is always `__Host-` and Secure.
            secure_cookie: h.secure_cookie || h.tls_cert.is_some(),
        })
    }
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
