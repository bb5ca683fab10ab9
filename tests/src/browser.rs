//! A headless Chromium driven through chromedriver (W3C WebDriver over HTTP), enough to load
//! a page, evaluate JavaScript, and take screenshots.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use crate::{Proc, free_port, wait_port};

/// Whether the app is built into `dist/` (the browser tests need it).
pub fn dist_built() -> bool {
    crate::workspace_root().join("dist/index.html").is_file()
}

/// The page's size and the viewport's, to tell whether it scrolls.
const PAGE_SIZE: &str = "const d = document.documentElement, b = document.body; \
    return { dw: d.scrollWidth, dh: d.scrollHeight, bw: b.scrollWidth, bh: b.scrollHeight, \
             iw: innerWidth, ih: innerHeight }";

/// One browser session, in its own chromedriver, with a fresh profile.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    _driver: Proc,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose viewport (the page's `innerWidth` x
    /// `innerHeight`, and its screenshots) is `width` x `height`.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Browser> {
        Browser::start_with_args(width, height, &[]).await
    }

    /// [`Browser::start`] with `extra_args` appended to Chromium's command line (to try a
    /// flag, as the browser benchmark does).
    pub async fn start_with_args(
        width: u32,
        height: u32,
        extra_args: &[&str],
    ) -> anyhow::Result<Browser> {
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .context(
                "chromedriver is not installed (the test command installs it: scripts/setup)",
            )?;
        let port = free_port();
        let child = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver")?;
        let driver = Proc {
            child,
            name: "chromedriver".into(),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_port(addr, Duration::from_secs(15))?;
        let profile = tempfile::tempdir()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://{addr}");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": { "browser": "ALL" },
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": args,
                }
            }}
        });
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = resp["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("chromedriver refused the session: {resp}"))?
            .to_owned();
        let browser = Browser {
            http,
            base,
            session,
            _driver: driver,
            _profile: profile,
        };
        browser.fit_viewport(width, height).await?;
        Ok(browser)
    }

    /// Makes the page's viewport (`innerWidth` x `innerHeight`) exactly `width` x `height`:
    /// headless Chromium's `--window-size` is the window's, a band of it taken by its
    /// (invisible) browser frame, so the window grows by that band.
    async fn fit_viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        for _ in 0..3 {
            let v = self
                .eval("return [innerWidth, innerHeight, outerWidth, outerHeight]")
                .await?;
            let n = |i: usize| v[i].as_i64().unwrap_or_default();
            if n(0) == i64::from(width) && n(1) == i64::from(height) {
                return Ok(());
            }
            let w = n(2) + i64::from(width) - n(0);
            let h = n(3) + i64::from(height) - n(1);
            self.call(
                reqwest::Method::POST,
                "/window/rect",
                Some(json!({ "width": w, "height": h })),
            )
            .await?;
        }
        let v = self.eval("return [innerWidth, innerHeight]").await?;
        bail!("the viewport is {v}, not {width} x {height}")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp: Value = req.send().await?.json().await?;
        if let Some(err) = resp["value"].get("error") {
            bail!("webdriver {path}: {err}: {}", resp["value"]["message"]);
        }
        Ok(resp["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await?;
        Ok(())
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Runs `script` (a function body) asynchronously in the page: it hands its value to its
    /// last argument, `arguments[arguments.length - 1](value)`. Fails if that is not called
    /// within the session's script timeout (30 s unless changed).
    pub async fn eval_async(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`),
    /// e.g. `Page.addScriptToEvaluateOnNewDocument` to run a script in every new document
    /// before the page's own; its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Polls `script` every 50 ms until it returns something other than `null` or `false`.
    pub async fn wait_for(&self, script: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.eval(script).await?;
            if !(v.is_null() || v == Value::Bool(false)) {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("{script:?} did not hold within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Logs in on the console's login page: opens `{base_url}/`, fills the user name and the
    /// password, submits, and waits for the console. Fails with the page's message if the
    /// login is refused.
    pub async fn login(&self, base_url: &str, user: &str, password: &str) -> anyhow::Result<()> {
        let within = Duration::from_secs(15);
        self.goto(&format!("{}/", base_url.trim_end_matches('/')))
            .await?;
        let page = self
            .wait_for(
                "if (document.querySelector('[data-testid=login] input[name=password]')) return 'login'; \
                 return document.querySelector('.ioc.console') ? 'console' : null",
                within,
            )
            .await
            .context("no login page")?;
        if page != "login" {
            bail!("no login page at {base_url}/: this browser is logged in already");
        }
        // Set as a user would type: the value, then an `input` event for the app to see.
        let fill = format!(
            "const form = document.querySelector('[data-testid=login]'); \
             const set = (name, value) => {{ \
               const input = form.querySelector(`input[name=${{name}}]`); \
               input.focus(); input.value = value; \
               input.dispatchEvent(new Event('input', {{ bubbles: true }})); \
               input.dispatchEvent(new Event('change', {{ bubbles: true }})); }}; \
             set('user', {}); set('password', {}); \
             form.querySelector('button[type=submit]').click(); return true",
            serde_json::to_string(user)?,
            serde_json::to_string(password)?,
        );
        self.eval(&fill).await?;
        let outcome = self
            .wait_for(
                "if (document.querySelector('.ioc.console')) return 'console'; \
                 const e = document.querySelector('[data-testid=login-error]'); \
                 return e ? 'refused: ' + e.textContent : null",
                within,
            )
            .await
            .context("the console did not open after the login")?;
        if outcome != "console" {
            bail!("login as {user:?}: {outcome}");
        }
        Ok(())
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().context("screenshot is not a string")?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Fails unless the page fits its viewport: no scrollbars, neither on the document nor on
    /// the body. `at` says where, in the error.
    pub async fn check_no_scrolling(&self, at: &str) -> anyhow::Result<()> {
        let s = self.eval(PAGE_SIZE).await?;
        let n = |k: &str| s[k].as_i64().unwrap_or(i64::MAX);
        anyhow::ensure!(
            n("dw") <= n("iw") && n("dh") <= n("ih") && n("bw") <= n("iw") && n("bh") <= n("ih"),
            "{at}: the page scrolls: {s}"
        );
        Ok(())
    }

    /// The browser console's messages of level SEVERE (errors).
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Fails, naming `at`, if the browser console holds errors other than those containing
    /// one of `expected` (a request the test makes fail on purpose).
    pub async fn check_console(&self, at: &str, expected: &[&str]) -> anyhow::Result<()> {
        let errors: Vec<String> = self
            .console_errors()
            .await?
            .into_iter()
            .filter(|e| !expected.iter().any(|x| e.contains(x)))
            .collect();
        anyhow::ensure!(
            errors.is_empty(),
            "{at}: errors in the browser console: {errors:?}"
        );
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session, which quits Chromium, before chromedriver is killed by its Proc:
        // killing chromedriver alone would leave the browser running. Raw HTTP, since Drop
        // cannot await.
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://").to_owned();
        let Ok(addr) = addr.parse::<SocketAddr>() else {
            return;
        };
        if let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if s.write_all(req.as_bytes()).is_ok() {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
            }
        }
    }
}
