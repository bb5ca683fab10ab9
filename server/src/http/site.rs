//! The app itself: its built files for every path no route has; `index.html` (the console's)
//! for the app's own paths (`/`, `/login`, ...), and each directory's `index.html` for the
//! other binaries' pages (`/wall/`, `/indicators/`; `/wall` is redirected there); a page that
//! says how to build it when it is not built; and the security headers every answer carries
//! (its Content-Security-Policy allows each page's inline loader by hash).
//!
//! Where the files come from ([`Site::choose`]): a `dist_dir` that is set (flag, variable or
//! file) is served from disk, for development; unset, the app built into the binary
//! ([`embedded`](super::embedded)); a binary built without the app serves `dist/` of its
//! working directory, as before the app was built in, or the page that says how to build it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

use super::AppState;
use super::embedded::Files;

/// Where the app's files come from.
#[derive(Debug, Clone)]
pub enum Site {
    /// A directory on disk (Trunk's `dist/`), read at each request.
    Dir(PathBuf),
    /// Files built into the binary.
    Embedded(Files),
}

impl Site {
    /// The directory `dist_dir` names when it is set; else the app this binary carries; else
    /// `dist` in the working directory.
    pub fn choose(dist_dir: Option<&Path>) -> Site {
        match (dist_dir, Files::built_in()) {
            (Some(dir), _) => Site::Dir(dir.to_owned()),
            (None, Some(files)) => Site::Embedded(files),
            (None, None) => Site::Dir(PathBuf::from("dist")),
        }
    }

    /// The app's pages, if it is built: `index.html` and each directory's (`wall/`,
    /// `indicators/`: a wasm binary each, `docs/architecture.md`), each with its own inline
    /// loader.
    fn pages(&self) -> Vec<Cow<'static, str>> {
        match self {
            Site::Dir(dir) => {
                let mut pages: Vec<PathBuf> = vec![dir.join("index.html")];
                if let Ok(entries) = std::fs::read_dir(dir) {
                    let mut subs: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path().join("index.html"))
                        .filter(|p| p.is_file())
                        .collect();
                    subs.sort();
                    pages.extend(subs);
                }
                pages
                    .iter()
                    .filter_map(|p| std::fs::read_to_string(p).ok())
                    .map(Cow::Owned)
                    .collect()
            }
            Site::Embedded(files) => files
                .pages()
                .map(|f| String::from_utf8_lossy(f.bytes))
                .collect(),
        }
    }
}

/// `router` with the app's files as its fallback, `index.html` for any path not a file.
pub(crate) fn with_app(router: Router<AppState>, site: &Site) -> Router<AppState> {
    match site {
        Site::Embedded(files) => {
            let files = *files;
            tracing::info!(files = files.len(), "serving the app built into the binary");
            router.fallback(move |req: Request| async move { files.answer(&req) })
        }
        Site::Dir(dir) if dir.join("index.html").is_file() => {
            tracing::info!(dist = %dir.display(), "serving the app from disk");
            router.fallback_service(
                ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))),
            )
        }
        Site::Dir(dir) => {
            tracing::warn!(
                dist = %dir.display(),
                "the app is not built; `/` explains how to build it"
            );
            router.fallback(not_built)
        }
    }
}

/// The Content-Security-Policy: what a WASM app needs and nothing more. Trunk's loader is an
/// inline module script; each page's is allowed by its hash, read from the built pages.
pub fn content_security_policy(site: &Site) -> String {
    let hashes: String = site
        .pages()
        .iter()
        .flat_map(|html| inline_script_hashes(html))
        .map(|h| format!(" 'sha256-{h}'"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// Base64 SHA-256 of each inline `<script>`'s text, as CSP hashes them.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine;
    use sha2::Digest;
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = &after[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = sha2::Sha256::digest(&body_start.as_bytes()[..close]);
            out.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body_start[close..];
    }
    out
}

pub(crate) fn security_headers(router: Router, csp: &str) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer as H;
    let v = |s: &str| HeaderValue::from_str(s).expect("a valid header value");
    router
        .layer(H::if_not_present(header::CONTENT_SECURITY_POLICY, v(csp)))
        .layer(H::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            v("nosniff"),
        ))
        .layer(H::if_not_present(header::X_FRAME_OPTIONS, v("DENY")))
        .layer(H::if_not_present(header::REFERRER_POLICY, v("no-referrer")))
        .layer(H::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            v("same-origin"),
        ))
        .layer(H::if_not_present(
            header::HeaderName::from_static("permissions-policy"),
            v("camera=(), microphone=(), geolocation=()"),
        ))
}

async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><meta charset=utf-8><title>IOC</title>\
             <h1>The app is not built</h1>\
             <p>Build it with <code>scripts/build-app</code>, then build the server again \
             (it carries the app) or start it with <code>--dist-dir dist</code>. \
             <code>scripts/demo</code> does all of it.</p>",
        ),
    )
        .into_response()
}
