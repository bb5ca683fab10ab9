//! The app built into the binary (`server/build.rs` embeds `dist/`): its files, and how they
//! are answered: as `tower_http`'s `ServeDir` answers the same files from disk. The content
//! type by the file's extension (`mime_guess`, as `ServeDir`); `Last-Modified` (the file's
//! time when it was built in) with `If-Modified-Since` and `If-Unmodified-Since`;
//! `index.html` for `/`, for a directory's path ending in `/` and for every path that is not
//! a file (the app's own pages); a redirect that adds the `/` a directory's path lacks; 405
//! with `Allow: GET,HEAD` for another method. Two differences: a `Range` request is answered
//! whole (200, which HTTP allows; no `Accept-Ranges` is offered), and paths are matched as
//! sent, not percent-decoded (Trunk's file names need no escaping).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;

/// One file of the built app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppFile {
    /// Its path under `dist/`, with `/`: `index.html`, `ioc-app-<hash>_bg.wasm`.
    pub path: &'static str,
    /// When it was built, seconds since the Unix epoch: its `Last-Modified`.
    pub modified: u64,
    pub bytes: &'static [u8],
}

/// The app this binary was built with, sorted by path; empty when it was built without one.
pub static APP: &[AppFile] = include!(concat!(env!("OUT_DIR"), "/app_files.rs"));

/// A built app's files, sorted by path, with an `index.html`.
#[derive(Debug, Clone, Copy)]
pub struct Files(&'static [AppFile]);

impl Files {
    /// `files` (sorted by path) when they hold an `index.html`.
    pub fn new(files: &'static [AppFile]) -> Option<Files> {
        assert!(
            files.is_sorted_by_key(|f| f.path),
            "the app's files are sorted by path"
        );
        let files = Files(files);
        files.get("index.html").map(|_| files)
    }

    /// The app this binary carries, if it was built with one.
    pub fn built_in() -> Option<Files> {
        Files::new(APP)
    }

    pub fn len(self) -> usize {
        self.0.len()
    }

    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }

    fn get(self, path: &str) -> Option<&'static AppFile> {
        let i = self.0.binary_search_by(|f| f.path.cmp(path)).ok()?;
        Some(&self.0[i])
    }

    /// Whether `path` (without a final `/`) is a directory of the app: the root, or a prefix
    /// of a file's path up to a `/`.
    fn is_dir(self, path: &str) -> bool {
        path.is_empty()
            || self.0.iter().any(|f| {
                f.path
                    .strip_prefix(path)
                    .is_some_and(|r| r.starts_with('/'))
            })
    }

    /// The app's `index.html`.
    pub fn index(self) -> &'static AppFile {
        self.get("index.html").expect("Files::new checked it")
    }

    /// Every page of the app: `index.html` and the `index.html` of each directory (the wall's
    /// `wall/index.html`, the indicators' `indicators/index.html`), each a binary's loader.
    pub fn pages(self) -> impl Iterator<Item = &'static AppFile> {
        self.0
            .iter()
            .filter(|f| f.path == "index.html" || f.path.ends_with("/index.html"))
    }

    /// The answer to `req`: the file its path names, else `index.html`.
    pub fn answer<B>(self, req: &Request<B>) -> Response {
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            let mut res = empty(StatusCode::METHOD_NOT_ALLOWED);
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
            return res;
        }
        // As on disk: `a.css/` is the file `a.css`; a directory is its `index.html`, once
        // its path ends in `/`.
        let path = req.uri().path().trim_start_matches('/');
        let name = path.trim_end_matches('/');
        let file = if self.is_dir(name) {
            if !path.is_empty() && !path.ends_with('/') {
                return redirect_to_dir(path, req.uri().query());
            }
            self.get(&format!("{path}index.html"))
        } else {
            self.get(name)
        };
        let file = file.unwrap_or_else(|| self.index());
        if let Some(status) = precondition(file, req.headers()) {
            return empty(status);
        }
        let content_type = mime_guess::from_path(file.path)
            .first_raw()
            .unwrap_or("application/octet-stream");
        let last_modified = httpdate::fmt_http_date(modified(file));
        let body = if head {
            Body::empty()
        } else {
            Body::from(file.bytes)
        };
        let mut res = Response::new(body);
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_str(&last_modified).expect("an HTTP date is a valid header value"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.bytes.len()));
        res
    }
}

/// 307 to the directory's path with its final `/` (as `ServeDir`).
fn redirect_to_dir(path: &str, query: Option<&str>) -> Response {
    let query = query.map_or(String::new(), |q| format!("?{q}"));
    // A request's path and query are visible ASCII: a valid header value.
    match HeaderValue::from_str(&format!("/{path}/{query}")) {
        Ok(location) => {
            let mut res = empty(StatusCode::TEMPORARY_REDIRECT);
            res.headers_mut().insert(header::LOCATION, location);
            res
        }
        Err(_) => empty(StatusCode::BAD_REQUEST),
    }
}

/// An answer with no body (and, as `ServeDir`'s, no headers of its own).
fn empty(status: StatusCode) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = status;
    res
}

fn modified(file: &AppFile) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(file.modified)
}

/// 412 when `If-Unmodified-Since` is older than the file, 304 when `If-Modified-Since` is
/// not (as `ServeDir`: to the second, with no headers).
fn precondition(file: &AppFile, asked: &HeaderMap) -> Option<StatusCode> {
    let modified = modified(file);
    let date = |name| {
        asked
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
    };
    if date(header::IF_UNMODIFIED_SINCE).is_some_and(|t| modified > t) {
        Some(StatusCode::PRECONDITION_FAILED)
    } else if date(header::IF_MODIFIED_SINCE).is_some_and(|t| modified <= t) {
        Some(StatusCode::NOT_MODIFIED)
    } else {
        None
    }
}
