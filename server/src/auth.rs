//! Who may see the operations center: users and roles, sessions, wall-display keys, login
//! throttling and the audit log.
//!
//! - Users (`users.json` in the data directory) have a role and an argon2id password hash
//!   (19 MiB, 2 iterations, parallelism 1). `ioc-server user add|reset|disable` manages them;
//!   on a first start with no user, an `admin` is created and its password printed once.
//! - A session is a random 256-bit token in a cookie (HttpOnly, SameSite=Strict; `__Host-`
//!   and Secure when the browser reaches the server over TLS); the server keeps only its
//!   SHA-256, in `sessions.json`, so that a restart logs nobody out and a stolen file gives
//!   no cookie. A session ends on logout, after an idle time, or at its absolute lifetime; its
//!   websockets are closed then ([`Sessions::ended`]).
//! - Display keys (`display-keys.json`) are created by an admin and shown once, as a `/wall`
//!   address; a key is exchanged for a long-lived read-only display session. Revoking the key
//!   ends its sessions.

pub mod access;
pub mod audit;
pub mod gateways;
pub mod throttle;

pub use access::{Access, Auth};

/// The path [`Access`] had when the HTTP handlers lived here (the tests crate walks it).
pub mod routes {
    pub use super::access::{Access, Auth};
}

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

/// argon2id memory in KiB (19 MiB), iterations and parallelism: OWASP's minimum for argon2id.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_PARALLELISM: u32 = 1;

/// What a user may do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A wall display: reads, nothing else.
    Display,
    Viewer,
    /// A unit's reporter: reads as a viewer, and submits the socio-economic indicator values
    /// of its own unit ([`User::unit`]) and no other.
    Reporter,
    /// A duty officer: acts on alerts; submits indicator values for any unit.
    Officer,
    Supervisor,
    /// Users, keys, thresholds.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "supervisor" => Ok(Role::Supervisor),
            "officer" => Ok(Role::Officer),
            "viewer" => Ok(Role::Viewer),
            "reporter" => Ok(Role::Reporter),
            other => Err(format!(
                "unknown role {other:?}: admin, supervisor, officer, reporter or viewer"
            )),
        }
    }
}

/// Errors of the auth store.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no user {0:?}")]
    NoUser(String),
    #[error("user {0:?} exists already")]
    UserExists(String),
    #[error("a user name is 1 to 64 letters, digits, '.', '_' or '-': {0:?}")]
    BadName(String),
    #[error("a password has at least 12 characters")]
    WeakPassword,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("no display key {0:?}")]
    NoKey(String),
    #[error(
        "a reporter reports for one unit: give it with --unit (a district, a department or an office)"
    )]
    ReporterWithoutUnit,
    #[error("only a reporter has a unit (a {0} submits for any unit)")]
    UnitWithoutReporter(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// PHC string of the argon2id hash.
    hash: String,
    #[serde(default)]
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// A reporter's unit: the district, department or office whose indicator values it may
    /// submit (`Catalogue::reporting_unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A wall display's key, as kept: its SHA-256 only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisplayKey {
    pub id: String,
    pub name: String,
    key_sha256: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user's name, or the display key's name.
    pub name: String,
    pub role: Role,
    /// The display key behind a display session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    /// SHA-256 of the token, hex: also the session's id in logs and channels.
    id: String,
    who: Principal,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[serde(skip, default = "Utc::now")]
    last_seen: DateTime<Utc>,
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// A user's session ends after this long without a request (an open console counts).
    pub idle: Duration,
    /// And after this long whatever happens: a shift.
    pub absolute: Duration,
    /// A wall display's session.
    pub display: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            display: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// A session found valid: who, and its id.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub who: Principal,
}

#[derive(Debug, Default)]
struct State {
    users: Vec<User>,
    keys: Vec<DisplayKey>,
    sessions: HashMap<String, SessionRecord>,
    /// Modification times of the users and keys files as last read or written: the command
    /// line may change them while the server runs.
    seen: (Option<std::time::SystemTime>, Option<std::time::SystemTime>),
    /// When the files were last looked at: every websocket asks once a second, so they are
    /// looked at once a second at most, not once per question.
    looked: Option<std::time::Instant>,
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Users, display keys and sessions, kept in the data directory.
#[derive(Debug)]
pub struct AuthStore {
    dir: PathBuf,
    state: Mutex<State>,
    lifetimes: Lifetimes,
    /// Ids of sessions that ended: websockets listen and close.
    ended: broadcast::Sender<String>,
    argon2: Argon2<'static>,
    /// A hash verified for unknown users, so that they take as long as known ones.
    dummy_hash: String,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// A random password of 20 characters from an alphabet without look-alikes (about 115 bits).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<20>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, AuthError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| AuthError::Parse {
            path: path.to_owned(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(AuthError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a file whole or not at all (a temporary file renamed over it), readable by the
/// owner only.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AuthError> {
    let err = |source| AuthError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value).expect("serialises");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(&text).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

impl AuthStore {
    /// Opens (or starts) the store in `dir`.
    pub fn open(dir: &Path, lifetimes: Lifetimes) -> Result<AuthStore, AuthError> {
        std::fs::create_dir_all(dir).map_err(|source| AuthError::Write {
            path: dir.to_owned(),
            source,
        })?;
        let users: Vec<User> = read_json(&dir.join("users.json"))?;
        let keys: Vec<DisplayKey> = read_json(&dir.join("display-keys.json"))?;
        let sessions: Vec<SessionRecord> = read_json(&dir.join("sessions.json"))?;
        let now = Utc::now();
        let argon2 = argon2();
        let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("a salt");
        let dummy_hash = argon2
            .hash_password(b"not a password of anyone", &salt)
            .map_err(|e| AuthError::Hash(e.to_string()))?
            .to_string();
        let (ended, _) = broadcast::channel(256);
        Ok(AuthStore {
            dir: dir.to_owned(),
            state: Mutex::new(State {
                users,
                keys,
                sessions: sessions
                    .into_iter()
                    .filter(|s| s.expires_at > now)
                    .map(|s| (s.id.clone(), s))
                    .collect(),
                seen: (
                    mtime(&dir.join("users.json")),
                    mtime(&dir.join("display-keys.json")),
                ),
                looked: None,
            }),
            lifetimes,
            ended,
            argon2,
            dummy_hash,
        })
    }

    /// The state, with users and keys read again if the command line changed their files;
    /// sessions of users disabled and keys revoked there end.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.lock_looking(false)
    }

    /// [`AuthStore::lock`]; with `always`, the files are looked at whatever the time since the
    /// last look (a login, a key exchange: rare, and they must see a user added a moment ago).
    fn lock_looking(&self, always: bool) -> std::sync::MutexGuard<'_, State> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let recent = s
            .looked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if recent && !always {
            return s;
        }
        s.looked = Some(std::time::Instant::now());
        let (users_path, keys_path) = (
            self.dir.join("users.json"),
            self.dir.join("display-keys.json"),
        );
        let now = (mtime(&users_path), mtime(&keys_path));
        if now != s.seen {
            if now.0 != s.seen.0
                && let Ok(users) = read_json::<Vec<User>>(&users_path)
            {
                s.users = users;
            }
            if now.1 != s.seen.1
                && let Ok(keys) = read_json::<Vec<DisplayKey>>(&keys_path)
            {
                s.keys = keys;
            }
            s.seen = now;
            let (users, keys) = (s.users.clone(), s.keys.clone());
            let gone = |p: &Principal| match &p.display_key {
                Some(id) => !keys.iter().any(|k| &k.id == id && k.revoked_at.is_none()),
                None => !users.iter().any(|u| u.name == p.name && !u.disabled),
            };
            let _ = self.end_where(&mut s, gone);
        }
        s
    }

    fn note_written(&self, s: &mut State) {
        s.seen = (
            mtime(&self.dir.join("users.json")),
            mtime(&self.dir.join("display-keys.json")),
        );
    }

    fn save_users(&self, s: &mut State) -> Result<(), AuthError> {
        write_json(&self.dir.join("users.json"), &s.users)?;
        self.note_written(s);
        Ok(())
    }

    fn save_keys(&self, s: &mut State) -> Result<(), AuthError> {
        write_json(&self.dir.join("display-keys.json"), &s.keys)?;
        self.note_written(s);
        Ok(())
    }

    fn save_sessions(&self, s: &State) -> Result<(), AuthError> {
        let list: Vec<&SessionRecord> = s.sessions.values().collect();
        write_json(&self.dir.join("sessions.json"), &list)
    }

    fn hash(&self, password: &str) -> Result<String, AuthError> {
        let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("a salt");
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Hash(e.to_string()))
    }

    /// How long a wall display's session lasts.
    pub fn display_life(&self) -> Duration {
        self.lifetimes.display
    }

    pub fn has_users(&self) -> bool {
        !self.lock().users.is_empty()
    }

    pub fn users(&self) -> Vec<User> {
        self.lock().users.clone()
    }

    /// Adds a user with `password` (at least 12 characters).
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), AuthError> {
        self.add_user_of(name, role, None, password)
    }

    /// Adds a user with `password`; a reporter with its `unit` (required of a reporter, and
    /// of no other role). Whether the unit reports anything is the caller's to check.
    pub fn add_user_of(
        &self,
        name: &str,
        role: Role,
        unit: Option<&str>,
        password: &str,
    ) -> Result<(), AuthError> {
        match (role, unit) {
            (Role::Reporter, None) => return Err(AuthError::ReporterWithoutUnit),
            (Role::Reporter, Some(_)) | (_, None) => {}
            (other, Some(_)) => return Err(AuthError::UnitWithoutReporter(format!("{other:?}"))),
        }
        if !valid_name(name) {
            return Err(AuthError::BadName(name.to_owned()));
        }
        if password.chars().count() < 12 {
            return Err(AuthError::WeakPassword);
        }
        let hash = self.hash(password)?;
        let mut s = self.lock();
        if s.users.iter().any(|u| u.name == name) {
            return Err(AuthError::UserExists(name.to_owned()));
        }
        s.users.push(User {
            name: name.to_owned(),
            role,
            hash,
            disabled: false,
            created_at: Utc::now(),
            unit: unit.map(str::to_owned),
        });
        self.save_users(&mut s)
    }

    /// The unit of a user (a reporter's), if it has one.
    pub fn unit_of(&self, name: &str) -> Option<String> {
        self.lock()
            .users
            .iter()
            .find(|u| u.name == name)
            .and_then(|u| u.unit.clone())
    }

    /// Sets a new password (and enables the user again); ends the user's sessions.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        if password.chars().count() < 12 {
            return Err(AuthError::WeakPassword);
        }
        let hash = self.hash(password)?;
        self.change_user(name, |u| {
            u.hash = hash;
            u.disabled = false;
        })
    }

    /// Changes a user, saves, and ends the user's sessions.
    fn change_user(&self, name: &str, change: impl FnOnce(&mut User)) -> Result<(), AuthError> {
        let mut s = self.lock();
        let u = s
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| AuthError::NoUser(name.to_owned()))?;
        change(u);
        self.save_users(&mut s)?;
        self.end_where(&mut s, |p| p.display_key.is_none() && p.name == name)
    }

    /// Disables a user and ends their sessions.
    pub fn disable(&self, name: &str) -> Result<(), AuthError> {
        self.change_user(name, |u| u.disabled = true)
    }

    /// Checks a user's password (slow on purpose, run it off the async threads). Unknown and
    /// disabled users take as long as known ones and fail the same way.
    pub fn verify(&self, name: &str, password: &str) -> Option<Principal> {
        let user = self
            .lock_looking(true)
            .users
            .iter()
            .find(|u| u.name == name && !u.disabled)
            .cloned();
        let hash = user.as_ref().map_or(self.dummy_hash.as_str(), |u| &u.hash);
        let ok = PasswordHash::new(hash).is_ok_and(|parsed| {
            self.argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        let user = user.filter(|_| ok)?;
        Some(Principal {
            name: user.name,
            role: user.role,
            display_key: None,
        })
    }

    /// Starts a session for `who`; returns its token (the cookie's value).
    pub fn start_session(&self, who: Principal) -> Result<String, AuthError> {
        let token = hex(&random_bytes::<32>());
        let now = Utc::now();
        let life = if who.display_key.is_some() {
            self.lifetimes.display
        } else {
            self.lifetimes.absolute
        };
        let rec = SessionRecord {
            id: sha256_hex(&token),
            who,
            created_at: now,
            expires_at: now + chrono::Duration::from_std(life).unwrap_or(chrono::Duration::MAX),
            last_seen: now,
        };
        let mut s = self.lock();
        s.sessions.insert(rec.id.clone(), rec);
        self.save_sessions(&s)?;
        Ok(token)
    }

    fn expired(&self, rec: &SessionRecord, now: DateTime<Utc>) -> bool {
        let idle = chrono::Duration::from_std(self.lifetimes.idle).unwrap_or(chrono::Duration::MAX);
        now >= rec.expires_at || (rec.who.display_key.is_none() && now - rec.last_seen >= idle)
    }

    /// The session of a token, if it is valid now; counts as activity.
    pub fn session(&self, token: &str) -> Option<Session> {
        let id = sha256_hex(token);
        self.session_by_id(&id, true)
    }

    /// The session `id`, if still valid; `touch` counts it as activity.
    pub fn session_by_id(&self, id: &str, touch: bool) -> Option<Session> {
        let now = Utc::now();
        let mut s = self.lock();
        let expired = self.expired(s.sessions.get(id)?, now);
        if expired {
            s.sessions.remove(id);
            let _ = self.save_sessions(&s);
            let _ = self.ended.send(id.to_owned());
            return None;
        }
        let rec = s.sessions.get_mut(id)?;
        if touch {
            rec.last_seen = now;
        }
        Some(Session {
            id: rec.id.clone(),
            who: rec.who.clone(),
        })
    }

    /// Ends the session of a token (logout).
    pub fn end_session(&self, token: &str) -> Result<Option<Principal>, AuthError> {
        let id = sha256_hex(token);
        let mut s = self.lock();
        let Some(rec) = s.sessions.remove(&id) else {
            return Ok(None);
        };
        self.save_sessions(&s)?;
        let _ = self.ended.send(id);
        Ok(Some(rec.who))
    }

    fn end_where(&self, s: &mut State, pred: impl Fn(&Principal) -> bool) -> Result<(), AuthError> {
        let ids: Vec<String> = s
            .sessions
            .values()
            .filter(|r| pred(&r.who))
            .map(|r| r.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        for id in &ids {
            s.sessions.remove(id);
        }
        self.save_sessions(s)?;
        for id in ids {
            let _ = self.ended.send(id);
        }
        Ok(())
    }

    /// Ids of sessions as they end (logout, revoked key, disabled user, expiry seen).
    pub fn ended(&self) -> broadcast::Receiver<String> {
        self.ended.subscribe()
    }

    /// Creates a display key; returns it and the secret, shown once.
    pub fn create_key(&self, name: &str, by: &str) -> Result<(DisplayKey, String), AuthError> {
        if !(1..=64).contains(&name.chars().count()) {
            return Err(AuthError::BadName(name.to_owned()));
        }
        let secret = hex(&random_bytes::<24>());
        let key = DisplayKey {
            id: hex(&random_bytes::<6>()),
            name: name.to_owned(),
            key_sha256: sha256_hex(&secret),
            created_at: Utc::now(),
            created_by: by.to_owned(),
            revoked_at: None,
        };
        let mut s = self.lock();
        s.keys.push(key.clone());
        self.save_keys(&mut s)?;
        Ok((key, secret))
    }

    pub fn keys(&self) -> Vec<DisplayKey> {
        self.lock().keys.clone()
    }

    /// Revokes a key and ends the sessions opened with it.
    pub fn revoke_key(&self, id: &str) -> Result<DisplayKey, AuthError> {
        let mut s = self.lock();
        let k = s
            .keys
            .iter_mut()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or_else(|| AuthError::NoKey(id.to_owned()))?;
        k.revoked_at = Some(Utc::now());
        let k = k.clone();
        self.save_keys(&mut s)?;
        self.end_where(&mut s, |p| p.display_key.as_deref() == Some(id))?;
        Ok(k)
    }

    /// The display principal of a key's secret, if the key exists and is not revoked.
    pub fn display(&self, secret: &str) -> Option<Principal> {
        let h = sha256_hex(secret);
        let s = self.lock_looking(true);
        let k = s
            .keys
            .iter()
            .find(|k| k.revoked_at.is_none() && k.key_sha256 == h)?;
        Some(Principal {
            name: k.name.clone(),
            role: Role::Display,
            display_key: Some(k.id.clone()),
        })
    }

    /// On a first start with no user: an `admin` with `password`, or a random one returned to
    /// be shown once.
    pub fn bootstrap(&self, password: Option<&str>) -> Result<Option<String>, AuthError> {
        if self.has_users() {
            return Ok(None);
        }
        match password {
            Some(p) => {
                self.add_user("admin", Role::Admin, p)?;
                Ok(None)
            }
            None => {
                let p = random_password();
                self.add_user("admin", Role::Admin, &p)?;
                Ok(Some(p))
            }
        }
    }
}

#[cfg(test)]
mod tests;
