//! The router as a browser, a gateway and a scraper meet it, driven with `oneshot` (no socket):
//! every route of the access table behind its guard, and the API's JSON 404 and 405.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::ServiceExt;

use super::*;
use crate::auth::{AuthStore, Lifetimes, Principal};
use crate::config::{AlertsConfig, LiveConfig};

/// The metrics token of the test state.
pub(super) const METRICS_TOKEN: &str = "metrics-token-of-the-test";

/// An [`AppState`] on a temporary directory: the built-in city, an empty hub, the embedded
/// store and its writer, the alert engine, auth with no user, one gateway. Needs a Tokio
/// runtime (the writer runs as a task).
pub(super) struct Fixture {
    pub(super) state: AppState,
    /// Turns the state's `stopping` true.
    pub(super) stop: watch::Sender<bool>,
    /// The bearer token of the gateway `gw1`.
    pub(super) gateway_token: String,
    /// Holds the writer running; dropped with the fixture.
    _writer_stop: watch::Sender<bool>,
    /// The data directory, with the built app in `dist/`.
    pub(super) dir: tempfile::TempDir,
}

impl Fixture {
    pub(super) fn new(lifetimes: Lifetimes) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path();
        let city = Arc::new(crate::city::City::built_in());
        let (store, reader) = crate::store::embedded::folder::EmbeddedWriter::open(
            &data.join("ioc.sqlite"),
            Default::default(),
        )
        .expect("the store opens");
        let indicators = Arc::new(
            crate::indicators::Indicators::open(
                ioc_protocol::indicator::Catalogue::built_in(),
                crate::store::IndicatorStore::Embedded(Arc::new(
                    crate::store::embedded::EmbeddedIndicators::open(&data.join("ioc.sqlite"))
                        .expect("the indicators open"),
                )),
                data,
            )
            .expect("the indicators' targets open"),
        );
        let spool =
            crate::store::spool::Spool::open(&data.join("spool"), 1 << 20).expect("a spool");
        let writer_stop = watch::channel(false).0;
        let (writer, writer_stats, _task) = crate::store::writer::spawn(
            crate::store::Backend::Embedded(Arc::new(store)),
            spool,
            Vec::new(),
            Default::default(),
            writer_stop.subscribe(),
        );
        let hub = Arc::new(Hub::new(city.clone(), LiveConfig::default()));
        let ingest = Arc::new(IngestStats::default());
        hub.set_store(writer_stats);
        hub.set_intake(ingest.clone());
        let alerts = Arc::new(
            crate::alerts::Alerts::open(
                city.clone(),
                AlertsConfig::default(),
                LiveConfig::default(),
                data,
            )
            .expect("the alert engine opens"),
        );
        let auth = Auth {
            store: AuthStore::open(data, lifetimes).expect("the auth store opens"),
            throttle: Default::default(),
            audit: crate::auth::audit::Audit::open(data).expect("the audit log opens"),
            secure_cookie: false,
        };
        let gateways =
            Arc::new(crate::auth::gateways::Gateways::open(data).expect("the gateways open"));
        let gateway_token = gateways
            .add("gw1", Vec::new(), Vec::new())
            .expect("a gateway");
        let stop = watch::channel(false).0;
        let state = AppState {
            hub: hub.clone(),
            ingest: ingest.clone(),
            store: crate::store::Reader::Embedded(reader),
            writer,
            city: city.clone(),
            allowed_origins: Arc::new(Vec::new()),
            ws_send_timeout: Duration::from_secs(5),
            ws_ping: Duration::from_secs(3600),
            ws_dead_after: Duration::from_secs(7200),
            auth: Arc::new(auth),
            intake: crate::ingest::Intake {
                city,
                hub,
                stats: ingest,
                gateways: None,
                alerts: Some(alerts.clone()),
                indicators: Some(indicators.clone()),
            },
            gateways,
            metrics_token: Some(Arc::from(METRICS_TOKEN)),
            stopping: stop.subscribe(),
            alerts,
            indicators,
        };
        let dist = data.join("dist");
        std::fs::create_dir_all(&dist).expect("dist/");
        std::fs::write(dist.join("index.html"), INDEX).expect("index.html");
        Fixture {
            state,
            stop,
            gateway_token,
            _writer_stop: writer_stop,
            dir,
        }
    }

    /// A new session of `role` (a display's for [`Role::Display`]): its token.
    pub(super) fn session(&self, role: Role) -> String {
        let who = Principal {
            name: format!("{role:?}").to_lowercase(),
            role,
            display_key: (role == Role::Display).then(|| "wall-key".to_owned()),
        };
        self.state
            .auth
            .store
            .start_session(who)
            .expect("a session starts")
    }

    fn router(&self) -> Router {
        app(self.state.clone(), &Site::Dir(self.dir.path().join("dist")))
    }
}

const INDEX: &str = "<!doctype html><title>IOC</title><p>the app</p>";

/// One answer, read whole.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

async fn ask(router: &Router, req: Request<Body>) -> Answer {
    let r = router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a body");
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A request: `method path`, with these credentials.
fn request(method: &Method, path: &str, creds: &Creds) -> Request<Body> {
    let mut b = Request::builder().method(method.clone()).uri(path);
    match creds {
        Creds::None => {}
        Creds::Cookie(token) => b = b.header(header::COOKIE, format!("ioc_session={token}")),
        Creds::Bearer(token) => b = b.header(header::AUTHORIZATION, format!("Bearer {token}")),
    }
    b.body(Body::empty()).expect("a request")
}

enum Creds {
    None,
    Cookie(String),
    Bearer(String),
}

/// The role just below `role`, if any.
fn below(role: Role) -> Option<Role> {
    const ALL: [Role; 6] = [
        Role::Display,
        Role::Viewer,
        Role::Reporter,
        Role::Officer,
        Role::Supervisor,
        Role::Admin,
    ];
    let i = ALL.iter().position(|r| *r == role)?;
    i.checked_sub(1).map(|j| ALL[j])
}

fn passed(a: &Answer) -> bool {
    a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN
}

#[tokio::test]
async fn every_route_lets_in_whom_the_access_table_says_and_no_one_else() {
    let f = Fixture::new(Lifetimes::default());
    let router = f.router();
    let mut walked = 0;
    for r in routes() {
        let path = r.path.replace("{id}", "x");
        for method in r.methods {
            let what = format!("{method} {path} ({:?})", r.access);
            let none = ask(&router, request(method, &path, &Creds::None)).await;
            let forged = Creds::Cookie("00112233445566778899aabbccddeeff".into());
            let forged = ask(&router, request(method, &path, &forged)).await;
            if r.access == Access::Public {
                assert!(passed(&none), "{what}: {}", none.status);
                continue;
            }
            walked += 1;
            for a in [&none, &forged] {
                assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
                assert!(a.json()["error"].is_string(), "{what}: {}", a.body);
            }
            // Each request its own session: `/api/v1/logout` ends the one it is given.
            let cookie = |role| Creds::Cookie(f.session(role));
            match r.access {
                Access::Public => unreachable!(),
                Access::Session => {
                    let a = ask(&router, request(method, &path, &cookie(Role::Display))).await;
                    assert!(passed(&a), "{what} as a wall display: {}", a.status);
                }
                Access::Role(role) => {
                    let lower = below(role).expect("a role above the least");
                    let a = ask(&router, request(method, &path, &cookie(lower))).await;
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what} as {lower:?}");
                    assert_eq!(
                        a.json(),
                        json!({ "error": "your role does not allow this" })
                    );
                    let a = ask(&router, request(method, &path, &cookie(role))).await;
                    assert!(passed(&a), "{what} as {role:?}: {}", a.status);
                }
                Access::Metrics => {
                    let a = ask(&router, request(method, &path, &cookie(Role::Officer))).await;
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what} as an officer");
                    let a = ask(&router, request(method, &path, &cookie(Role::Supervisor))).await;
                    assert_eq!(a.status, StatusCode::OK, "{what} as a supervisor");
                    let token = Creds::Bearer(METRICS_TOKEN.into());
                    let a = ask(&router, request(method, &path, &token)).await;
                    assert_eq!(a.status, StatusCode::OK, "{what} with the token");
                    let wrong = Creds::Bearer("not-the-token".into());
                    let a = ask(&router, request(method, &path, &wrong)).await;
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}, wrong token");
                    assert_eq!(a.json(), json!({ "error": "wrong metrics token" }));
                }
                Access::Gateway => {
                    let a = ask(&router, request(method, &path, &cookie(Role::Admin))).await;
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: a session");
                    let token = Creds::Bearer(f.gateway_token.clone());
                    let a = ask(&router, request(method, &path, &token)).await;
                    assert!(passed(&a), "{what} with the gateway's token: {}", a.status);
                }
            }
        }
    }
    assert!(walked >= 10, "only {walked} protected routes walked");
}

#[tokio::test]
async fn no_session_is_told_to_log_in() {
    let f = Fixture::new(Lifetimes::default());
    let a = ask(
        &f.router(),
        request(&Method::GET, "/api/v1/history", &Creds::None),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(a.body, r#"{"error":"log in first"}"#);
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404_not_the_app() {
    let f = Fixture::new(Lifetimes::default());
    let router = f.router();
    let admin = Creds::Cookie(f.session(Role::Admin));
    for path in [
        "/api/v1/nothing",
        "/api/v2/history",
        "/api/v1/alerts/1/nothing",
        "/api/",
    ] {
        for creds in [&Creds::None, &admin] {
            let a = ask(&router, request(&Method::GET, path, creds)).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                a.headers[header::CONTENT_TYPE],
                "application/json",
                "{path}"
            );
            assert_eq!(a.json(), json!({ "error": "no such API path" }), "{path}");
            assert!(
                a.headers.contains_key(header::CONTENT_SECURITY_POLICY),
                "{path}: the security headers"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_method_on_an_api_path_is_a_json_405() {
    let f = Fixture::new(Lifetimes::default());
    let router = f.router();
    // A public path: 405 at once.
    let a = ask(
        &router,
        request(&Method::GET, "/api/v1/login", &Creds::None),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.json(), json!({ "error": "method not allowed" }));
    assert_eq!(a.headers[header::ALLOW], "POST");
    // A protected path: the guard first, so that who has no session learns nothing.
    let a = ask(
        &router,
        request(&Method::DELETE, "/api/v1/history", &Creds::None),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let viewer = Creds::Cookie(f.session(Role::Viewer));
    let a = ask(
        &router,
        request(&Method::DELETE, "/api/v1/history", &viewer),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.json(), json!({ "error": "method not allowed" }));
    assert_eq!(a.headers[header::ALLOW], "GET,HEAD");
}

#[tokio::test]
async fn the_app_pages_and_the_probes_are_as_before() {
    let f = Fixture::new(Lifetimes::default());
    let router = f.router();
    for path in ["/", "/wall", "/login", "/console/anything", "/api"] {
        let a = ask(&router, request(&Method::GET, path, &Creds::None)).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.body, INDEX, "{path}");
    }
    let a = ask(&router, request(&Method::GET, "/healthz", &Creds::None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    // Outside `/api/` a wrong method stays axum's plain 405.
    let a = ask(&router, request(&Method::POST, "/healthz", &Creds::None)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.body, "");
}

#[tokio::test]
async fn without_a_built_app_the_api_still_answers_in_json() {
    let f = Fixture::new(Lifetimes::default());
    let router = app(f.state.clone(), &Site::Dir(f.dir.path().join("no-dist")));
    let a = ask(&router, request(&Method::GET, "/api/v1/x", &Creds::None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json(), json!({ "error": "no such API path" }));
    let a = ask(&router, request(&Method::GET, "/wall", &Creds::None)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.body.contains("The app is not built"), "{}", a.body);
}

#[tokio::test]
async fn client_errors_keep_their_words() {
    let f = Fixture::new(Lifetimes::default());
    let router = f.router();
    let viewer = Creds::Cookie(f.session(Role::Viewer));
    let a = ask(
        &router,
        request(
            &Method::GET,
            "/api/v1/history?domain=env&area=nowhere&field=pm25",
            &viewer,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, r#"{"error":"unknown area \"nowhere\""}"#);
    let a = ask(
        &router,
        request(&Method::GET, "/api/v1/alerts?limit=0", &viewer),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body, r#"{"error":"limit must be 1 to 1000"}"#);
    let a = ask(&router, request(&Method::GET, "/api/v1/alerts/7", &viewer)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body, r#"{"error":"no alert 7"}"#);
    let login = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"user":"nobody","password":"wrong password"}"#,
        ))
        .expect("a request");
    let a = ask(&router, login).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body, r#"{"error":"wrong user name or password"}"#);
}

/// A built app on disk, `dist/` of the fixture's directory: Trunk's files (an inline loader,
/// the module, the wasm, the CSS), a subdirectory, and the wall's own page in `wall/` (a
/// binary of its own, with its own loader); and the same files as the binary carries them
/// ([`embedded::Files`]).
fn built_app(f: &Fixture) -> (Site, Site) {
    let dist = f.dir.path().join("dist");
    let files: [(&str, &[u8]); 8] = [
        (
            "index.html",
            b"<!doctype html><title>IOC</title><script type=\"module\">import init from \
              '/ioc-app-1_bg.js'; await init();</script><link rel=stylesheet href=/main-1.css>",
        ),
        ("ioc-app-1.js", b"export default async function init() {}"),
        ("ioc-app-1_bg.wasm", b"\0asm\x01\0\0\0"),
        ("main-1.css", b"body { color: #fff }"),
        ("snippets/x/inline0.js", b"export const x = 1;"),
        ("favicon.ico", b"\0\0\x01\0"),
        (
            "wall/index.html",
            b"<!doctype html><title>IOC wall</title><script type=\"module\">import init from \
              '/wall/ioc-wall-1.js'; await init();</script>",
        ),
        (
            "wall/ioc-wall-1.js",
            b"export default async function init() {}",
        ),
    ];
    let mut embedded = Vec::new();
    for (path, bytes) in files {
        let file = dist.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("a directory");
        std::fs::write(&file, bytes).expect("a file");
        let modified = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .expect("an mtime")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        embedded.push(embedded::AppFile {
            path,
            modified,
            bytes,
        });
    }
    embedded.sort_by_key(|f| f.path);
    let files = embedded::Files::new(Vec::leak(embedded)).expect("an index.html");
    (Site::Dir(dist), Site::Embedded(files))
}

/// The app built into the binary answers every request as the same files on disk did: the
/// app's pages, its files with their types, a directory, HEAD, a wrong method, the caching
/// preconditions, the API's JSON 404 and the security headers (its CSP with the loader's
/// hash). Only `Accept-Ranges` differs: the embedded files are not served by ranges.
#[tokio::test]
async fn the_app_built_into_the_binary_answers_as_the_same_files_on_disk() {
    let f = Fixture::new(Lifetimes::default());
    let (dir, embedded) = built_app(&f);
    let (from_disk, built_in) = (app(f.state.clone(), &dir), app(f.state.clone(), &embedded));
    let last_modified = ask(
        &from_disk,
        request(&Method::GET, "/main-1.css", &Creds::None),
    )
    .await
    .headers[header::LAST_MODIFIED]
        .clone();
    let with = |method: Method, path: &str, name: header::HeaderName, value: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(name, value)
            .body(Body::empty())
            .expect("a request")
    };
    let long_ago = "Sun, 06 Nov 1994 08:49:37 GMT";
    let cases: Vec<Request<Body>> = vec![
        request(&Method::GET, "/", &Creds::None),
        request(&Method::GET, "/wall", &Creds::None),
        request(&Method::GET, "/wall?rotate=5&panel=flood", &Creds::None),
        request(&Method::GET, "/wall/", &Creds::None),
        request(&Method::GET, "/wall/?key=abc", &Creds::None),
        request(&Method::GET, "/wall/ioc-wall-1.js", &Creds::None),
        request(&Method::GET, "/login", &Creds::None),
        request(&Method::GET, "/console/area/q1", &Creds::None),
        request(&Method::GET, "/ioc-app-1.js", &Creds::None),
        request(&Method::GET, "/ioc-app-1_bg.wasm", &Creds::None),
        request(&Method::GET, "/main-1.css", &Creds::None),
        request(&Method::GET, "/favicon.ico", &Creds::None),
        request(&Method::GET, "/snippets/x/inline0.js", &Creds::None),
        request(&Method::GET, "/snippets/x?a=1", &Creds::None),
        request(&Method::GET, "/snippets/", &Creds::None),
        request(&Method::GET, "/main-1.css/", &Creds::None),
        request(&Method::GET, "/../Cargo.toml", &Creds::None),
        request(&Method::HEAD, "/ioc-app-1_bg.wasm", &Creds::None),
        request(&Method::HEAD, "/wall", &Creds::None),
        request(&Method::POST, "/wall", &Creds::None),
        request(&Method::DELETE, "/main-1.css", &Creds::None),
        request(&Method::GET, "/api/v1/nothing", &Creds::None),
        request(&Method::GET, "/healthz", &Creds::None),
        request(&Method::POST, "/healthz", &Creds::None),
        request(&Method::GET, "/api/v1/login", &Creds::None),
        request(&Method::GET, "/api/v1/city", &Creds::None),
        with(
            Method::GET,
            "/main-1.css",
            header::IF_MODIFIED_SINCE,
            last_modified.to_str().expect("ASCII"),
        ),
        with(
            Method::GET,
            "/main-1.css",
            header::IF_MODIFIED_SINCE,
            long_ago,
        ),
        with(
            Method::GET,
            "/wall",
            header::IF_MODIFIED_SINCE,
            "not a date",
        ),
        with(
            Method::GET,
            "/main-1.css",
            header::IF_UNMODIFIED_SINCE,
            long_ago,
        ),
    ];
    for req in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let copy = || {
            let mut b = Request::builder().method(req.method()).uri(req.uri());
            for (k, v) in req.headers() {
                b = b.header(k, v);
            }
            b.body(Body::empty()).expect("a request")
        };
        let (a, b) = (ask(&from_disk, copy()).await, ask(&built_in, copy()).await);
        assert_eq!(a.status, b.status, "{what}");
        assert_eq!(a.body, b.body, "{what}");
        let (mut disk_headers, mut built_in_headers) = (a.headers.clone(), b.headers.clone());
        disk_headers.remove(header::ACCEPT_RANGES);
        // axum counts an empty body of known size (0) where ServeDir's size is unknown; on
        // the wire hyper says 0 for both.
        if !disk_headers.contains_key(header::CONTENT_LENGTH)
            && built_in_headers
                .get(header::CONTENT_LENGTH)
                .is_some_and(|v| v == "0")
        {
            built_in_headers.remove(header::CONTENT_LENGTH);
        }
        assert_eq!(disk_headers, built_in_headers, "{what}");
    }
    // What a browser needs of them, whichever serves.
    let a = ask(
        &built_in,
        request(&Method::GET, "/ioc-app-1_bg.wasm", &Creds::None),
    )
    .await;
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/wasm");
    assert!(a.body.starts_with("\0asm"), "{:?}", a.body);
    let a = ask(&built_in, request(&Method::GET, "/login", &Creds::None)).await;
    assert_eq!(a.headers[header::CONTENT_TYPE], "text/html");
    assert!(a.body.contains("<title>IOC</title>"), "{}", a.body);
    // `/wall` is the wall's own page, reached by the redirect a directory's path gets, the
    // display key kept.
    let a = ask(
        &built_in,
        request(&Method::GET, "/wall?key=abc", &Creds::None),
    )
    .await;
    assert_eq!(a.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(a.headers[header::LOCATION], "/wall/?key=abc");
    let a = ask(
        &built_in,
        request(&Method::GET, "/wall/?key=abc", &Creds::None),
    )
    .await;
    assert_eq!(a.headers[header::CONTENT_TYPE], "text/html");
    assert!(a.body.contains("<title>IOC wall</title>"), "{}", a.body);
    // Each page's loader is allowed by its hash, whichever page the answer is.
    let csp = a.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ASCII");
    assert_eq!(
        csp.matches("'sha256-").count(),
        2,
        "both loaders' hashes: {csp}"
    );
    assert_eq!(
        content_security_policy(&dir),
        content_security_policy(&embedded)
    );
}

/// Unset, `dist_dir` is the app built into the binary when it carries one (a build after
/// `scripts/build-app`), else `dist` of the working directory; set, the directory it names.
#[test]
fn a_set_dist_dir_is_served_from_disk_and_unset_the_built_in_app() {
    let set = Site::choose(Some(std::path::Path::new("/srv/app")));
    assert!(matches!(&set, Site::Dir(d) if d == std::path::Path::new("/srv/app")));
    match (Site::choose(None), embedded::Files::built_in()) {
        (Site::Embedded(files), Some(built_in)) => {
            assert_eq!(files.len(), built_in.len());
            assert_eq!(files.index(), built_in.index());
        }
        (Site::Dir(d), None) => assert_eq!(d, std::path::Path::new("dist")),
        (site, built_in) => panic!("{site:?} chosen with {built_in:?} built in"),
    }
}
