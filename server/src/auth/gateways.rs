//! Gateways: the sensor gateways and city systems that publish, each with its credentials and
//! the areas and sources it is granted.
//!
//! Kept in `gateways.json` in the data directory, managed with `ioc-server gateway add|revoke|
//! list`. A gateway's password is a random 192-bit token shown once; the server keeps its
//! SHA-256 (a token that long needs no slow hash). Grants are area codes (`*` for all) and
//! source patterns (`aqs-q1-01`, or a prefix ending in `*`, or `*`).
//!
//! With `mqtt.gateway_auth` on, the embedded MQTT endpoint checks these credentials at CONNECT
//! (and refuses anonymous clients), and ingest rejects as `forbidden` a message its gateway is
//! not granted (the endpoint knows which gateway sent it). Through an external broker, which
//! does not say who published, ingest rejects a message whose area and source no gateway is
//! granted; Mosquitto's per-user ACLs (written by `gateway add`) keep each gateway to its own.

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
    /// The token hashed as Mosquitto's password file wants it (`$6$salt$sha512`), for an
    /// external Mosquitto broker.
    #[serde(default)]
    mosquitto_hash: String,
}

/// A password as a line of Mosquitto's password file: `$6$` salted SHA-512 (enough for a
/// random 192-bit token; Mosquitto 2 reads it).
pub fn mosquitto_hash(password: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let salt = random_bytes::<12>();
    let mut h = sha2::Sha512::new();
    h.update(password.as_bytes());
    h.update(salt);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("$6${}${}", b64.encode(salt), b64.encode(h.finalize()))
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
            mosquitto_hash: mosquitto_hash(&token),
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

    /// Writes `passwd` and `acl` for an external Mosquitto into `dir`: each active gateway may
    /// write only under its areas (and its sources, when they are exact ids; a prefix pattern
    /// is left to ingest, MQTT filters having no prefixes), and `subscriber`, the server's own
    /// user, may read everything. Point Mosquitto's `password_file` and `acl_file` at them.
    pub fn write_mosquitto_files(
        &self,
        dir: &Path,
        subscriber: Option<(&str, &str)>,
    ) -> Result<(PathBuf, PathBuf), AuthError> {
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| AuthError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(err(dir))?;
        let mut passwd = String::new();
        let mut acl =
            String::from("# Written by ioc-server; `ioc-server gateway ...` rewrites it.\n");
        if let Some((user, password)) = subscriber {
            passwd.push_str(&format!("{user}:{}\n", mosquitto_hash(password)));
            acl.push_str(&format!("\nuser {user}\ntopic read ioc/v1/#\n"));
        }
        for g in self.lock().list.iter().filter(|g| g.revoked_at.is_none()) {
            if g.mosquitto_hash.is_empty() {
                continue;
            }
            passwd.push_str(&format!("{}:{}\n", g.name, g.mosquitto_hash));
            acl.push_str(&format!("\nuser {}\n", g.name));
            for area in &g.areas {
                let area = if area == "*" { "+" } else { area.as_str() };
                for source in &g.sources {
                    let source = if source.contains('*') {
                        "+"
                    } else {
                        source.as_str()
                    };
                    acl.push_str(&format!("topic write ioc/v1/+/{area}/{source}\n"));
                }
            }
        }
        let (p, a) = (dir.join("passwd"), dir.join("acl"));
        for (path, text) in [(&p, passwd), (&a, acl)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).map_err(err(&tmp))?;
            std::fs::rename(&tmp, path).map_err(err(path))?;
        }
        Ok((p, a))
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

    /// The active gateway of this name.
    pub fn by_name(&self, name: &str) -> Option<Gateway> {
        self.lock()
            .list
            .iter()
            .find(|g| g.revoked_at.is_none() && g.name == name)
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
    fn mosquitto_files_grant_each_gateway_its_areas() {
        let dir = tempfile::tempdir().unwrap();
        let g = Gateways::open(dir.path()).unwrap();
        g.add("gw-a", vec!["q1".into()], vec!["aqs-*".into()])
            .unwrap();
        g.add("gw-b", vec!["*".into()], vec!["wl-01".into()])
            .unwrap();
        let (p, a) = g
            .write_mosquitto_files(&dir.path().join("mosquitto"), Some(("ioc-server", "pw")))
            .unwrap();
        let passwd = std::fs::read_to_string(p).unwrap();
        assert_eq!(passwd.lines().count(), 3);
        assert!(
            passwd
                .lines()
                .all(|l| l.split_once(':').unwrap().1.starts_with("$6$"))
        );
        let acl = std::fs::read_to_string(a).unwrap();
        assert!(
            acl.contains("user ioc-server\ntopic read ioc/v1/#"),
            "{acl}"
        );
        assert!(
            acl.contains("user gw-a\ntopic write ioc/v1/+/q1/+\n"),
            "{acl}"
        );
        assert!(
            acl.contains("user gw-b\ntopic write ioc/v1/+/+/wl-01\n"),
            "{acl}"
        );
    }

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
