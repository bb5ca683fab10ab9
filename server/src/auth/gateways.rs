//! Gateways: the sensor gateways and city systems that publish, each with its credentials and
//! the areas and sources it is granted.
//!
//! Kept in `gateways.json` in the data directory, managed with `ioc-server gateway add|revoke|
//! list`. A gateway's password is a random 192-bit token shown once; the server keeps its
//! SHA-256 (a token that long needs no slow hash). Grants are area codes (`*` for all) and
//! source patterns (`aqs-q1-01`, or a prefix ending in `*`, or `*`).
//!
//! With `mqtt.gateway_auth` on, the embedded broker checks these credentials at CONNECT (and
//! refuses anonymous clients), and ingest rejects as `forbidden` a message whose area and
//! source no gateway is granted: a gateway publishing its sources under another's area is
//! refused even though rumqttd has no per-topic rules. (A gateway that uses another
//! gateway's own source ids under that gateway's areas can only be stopped by the broker: run
//! Mosquitto with per-user ACLs for that.)

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AuthError, hex, random_bytes, read_json, sha256_hex, valid_name, write_json};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gateway {
    pub name: String,
    token_sha256: String,
    /// Area codes, or `*`.
    pub areas: Vec<String>,
    /// Source ids or prefixes ending in `*`.
    pub sources: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Gateway {
    /// Whether this gateway may publish `source` under `area`.
    pub fn grants(&self, area: &str, source: &str) -> bool {
        self.revoked_at.is_none()
            && self.areas.iter().any(|a| a == "*" || a == area)
            && self.sources.iter().any(|p| matches_pattern(p, source))
    }
}

fn matches_pattern(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

#[derive(Debug)]
struct State {
    list: Vec<Gateway>,
    seen: Option<std::time::SystemTime>,
    /// Ingest asks for every message: the file is looked at once a second at most.
    looked: std::time::Instant,
}

/// The gateways of the data directory; read again when the command line changes the file.
#[derive(Debug)]
pub struct Gateways {
    path: PathBuf,
    state: Mutex<State>,
}

impl Gateways {
    pub fn open(dir: &Path) -> Result<Gateways, AuthError> {
        let path = dir.join("gateways.json");
        let list = read_json(&path)?;
        let seen = super::mtime(&path);
        Ok(Gateways {
            path,
            state: Mutex::new(State {
                list,
                seen,
                looked: std::time::Instant::now(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.looked.elapsed() < std::time::Duration::from_secs(1) {
            return s;
        }
        s.looked = std::time::Instant::now();
        let now = super::mtime(&self.path);
        if now != s.seen {
            match read_json(&self.path) {
                Ok(list) => s.list = list,
                Err(e) => tracing::error!(error = %e, "cannot read the gateways again"),
            }
            s.seen = now;
        }
        s
    }

    /// Adds a gateway; returns its token (its MQTT password and HTTP bearer token), once.
    pub fn add(
        &self,
        name: &str,
        areas: Vec<String>,
        sources: Vec<String>,
    ) -> Result<String, AuthError> {
        if !valid_name(name) {
            return Err(AuthError::BadName(name.to_owned()));
        }
        let token = hex(&random_bytes::<24>());
        let mut s = self.lock();
        if s.list
            .iter()
            .any(|g| g.name == name && g.revoked_at.is_none())
        {
            return Err(AuthError::UserExists(name.to_owned()));
        }
        s.list.push(Gateway {
            name: name.to_owned(),
            token_sha256: sha256_hex(&token),
            areas,
            sources,
            created_at: Utc::now(),
            revoked_at: None,
        });
        write_json(&self.path, &s.list)?;
        s.seen = super::mtime(&self.path);
        Ok(token)
    }

    pub fn revoke(&self, name: &str) -> Result<(), AuthError> {
        let mut s = self.lock();
        let g = s
            .list
            .iter_mut()
            .find(|g| g.name == name && g.revoked_at.is_none())
            .ok_or_else(|| AuthError::NoUser(name.to_owned()))?;
        g.revoked_at = Some(Utc::now());
        write_json(&self.path, &s.list)?;
        s.seen = super::mtime(&self.path);
        Ok(())
    }

    pub fn list(&self) -> Vec<Gateway> {
        self.lock().list.clone()
    }

    /// Whether `name` and `token` are an active gateway's credentials.
    pub fn check(&self, name: &str, token: &str) -> bool {
        let h = sha256_hex(token);
        self.lock()
            .list
            .iter()
            .any(|g| g.revoked_at.is_none() && g.name == name && g.token_sha256 == h)
    }

    /// The active gateway whose token this is (HTTP ingest's bearer token).
    pub fn by_token(&self, token: &str) -> Option<Gateway> {
        let h = sha256_hex(token);
        self.lock()
            .list
            .iter()
            .find(|g| g.revoked_at.is_none() && g.token_sha256 == h)
            .cloned()
    }

    /// Whether any active gateway may publish `source` under `area`.
    pub fn granted(&self, area: &str, source: &str) -> bool {
        self.lock().list.iter().any(|g| g.grants(area, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_follow_areas_and_source_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gateways::open(dir.path()).unwrap();
        let token = g
            .add("gw-a", vec!["q1".into(), "q3".into()], vec!["aqs-*".into()])
            .unwrap();
        g.add("gw-b", vec!["thu-duc".into()], vec!["*".into()])
            .unwrap();
        assert!(g.check("gw-a", &token));
        assert!(!g.check("gw-a", "wrong"));
        assert!(!g.check("gw-b", &token));
        assert!(g.granted("q1", "aqs-q1-01"));
        assert!(!g.granted("q1", "tfc-q1-01"), "not A's sources");
        assert!(g.granted("thu-duc", "tfc-td-01"));
        assert!(!g.granted("q7", "aqs-q7-01"), "nobody's area");
        // The file holds no token, and a second process sees the revocation.
        let file = std::fs::read_to_string(dir.path().join("gateways.json")).unwrap();
        assert!(!file.contains(&token));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        Gateways::open(dir.path()).unwrap().revoke("gw-a").unwrap();
        assert!(!g.check("gw-a", &token));
        assert!(!g.granted("q1", "aqs-q1-01"));
    }
}
