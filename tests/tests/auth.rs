//! Only the right people get in: every route behind a session, the websocket's origin, logout
//! and revoked display keys cutting sockets within a second, login throttling, the command
//! line's users, and the security headers.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::StreamExt;
use ioc_server::auth::routes::Access;
use ioc_server::auth::throttle::account_delay;
use ioc_tests::{ADMIN_PASSWORD, TestServer, bin_path, login};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Opens `/ws` with `cookie` from the server's own origin.
async fn open_ws(
    server: &TestServer,
    cookie: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut req = server.ws_url().into_client_request()?;
    req.headers_mut().insert(
        "origin",
        format!("http://{}", server.http).parse().expect("header"),
    );
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", c.parse().expect("header"));
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Reads the socket until it closes; the close code and how long it took.
async fn wait_close(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    within: Duration,
) -> anyhow::Result<(Option<u16>, Duration)> {
    let t0 = Instant::now();
    loop {
        let left = within.saturating_sub(t0.elapsed());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => bail!("the websocket was still open after {within:?}"),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Ok((frame.map(|f| u16::from(f.code)), t0.elapsed()));
            }
            Ok(None | Some(Err(_))) => return Ok((None, t0.elapsed())),
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_request_without_a_valid_session() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let viewer = server.add_user("viewer1", "viewer")?;
    let viewer_cookie = login(server.http, "viewer1", &viewer).await?;
    let admin_cookie = server.cookie().await?;
    let mut walked = 0;
    // The router is built from this list, so walking it walks every route.
    for r in ioc_server::http::routes() {
        let path = r.path.replace("{id}", "x");
        for method in r.methods {
            let url = server.url(&path);
            let send = |cookie: Option<&str>| {
                let mut req = http().request(method.clone(), &url);
                if path == "/ws" {
                    req = req
                        .header("connection", "upgrade")
                        .header("upgrade", "websocket")
                        .header("sec-websocket-version", "13")
                        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                        .header("origin", format!("http://{}", server.http));
                }
                if let Some(c) = cookie {
                    req = req.header("cookie", c);
                }
                req.send()
            };
            let none = send(None).await?.status();
            let forged = send(Some("ioc_session=00112233445566778899aabbccddeeff"))
                .await?
                .status();
            match r.access {
                Access::Public => {
                    ensure!(
                        none != StatusCode::UNAUTHORIZED,
                        "{method} {path} is public: {none}"
                    );
                }
                _ => {
                    ensure!(
                        none == StatusCode::UNAUTHORIZED,
                        "{method} {path} without a session: {none}"
                    );
                    ensure!(
                        forged == StatusCode::UNAUTHORIZED,
                        "{method} {path} with a forged cookie: {forged}"
                    );
                    walked += 1;
                }
            }
            if let Access::Role(_) = r.access {
                let v = send(Some(&viewer_cookie)).await?.status();
                ensure!(
                    v == StatusCode::FORBIDDEN,
                    "{method} {path} as a viewer: {v}"
                );
                let a = send(Some(&admin_cookie)).await?.status();
                ensure!(
                    a != StatusCode::UNAUTHORIZED && a != StatusCode::FORBIDDEN,
                    "{method} {path} as the admin: {a}"
                );
            }
        }
    }
    ensure!(walked >= 10, "only {walked} protected routes walked");
    // The app's files are public: the login page is the app.
    let page = http().get(server.url("/")).send().await?;
    ensure!(page.status() == StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_closes_the_websocket_within_a_second_and_the_cookie_is_dead() -> anyhow::Result<()>
{
    let server = TestServer::start()?;
    let cookie = login(server.http, "admin", ADMIN_PASSWORD).await?;
    ensure!(
        !cookie.starts_with("__Host-"),
        "plain HTTP: the cookie cannot be __Host- ({cookie})"
    );
    let mut ws = open_ws(&server, Some(&cookie)).await?;
    let me = http()
        .get(server.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await?;
    ensure!(me.status() == StatusCode::OK);
    let r = http()
        .post(server.url("/api/v1/logout"))
        .header("cookie", &cookie)
        .send()
        .await?;
    ensure!(r.status() == StatusCode::NO_CONTENT);
    let (code, took) = wait_close(&mut ws, Duration::from_secs(1)).await?;
    eprintln!("websocket closed {took:?} after the logout, code {code:?}");
    ensure!(code == Some(4401), "close code {code:?}");
    // The same cookie, replayed: refused everywhere.
    let me = http()
        .get(server.url("/api/v1/store"))
        .header("cookie", &cookie)
        .send()
        .await?;
    ensure!(
        me.status() == StatusCode::UNAUTHORIZED,
        "replayed cookie: {}",
        me.status()
    );
    match open_ws(&server, Some(&cookie)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => ensure!(resp.status() == 401),
        other => bail!("a websocket with a dead cookie: {other:?}"),
    }
    // The logout is in the audit log.
    let audit = server.get_json("/api/v1/audit").await?;
    let whats: Vec<&str> = audit["entries"]
        .as_array()
        .context("entries")?
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    ensure!(
        whats.contains(&"logout") && whats.contains(&"login"),
        "{whats:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_display_key_cuts_its_wall_within_a_second() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let admin = server.cookie().await?;
    let created: serde_json::Value = http()
        .post(server.url("/api/v1/display-keys"))
        .header("cookie", &admin)
        .json(&json!({ "name": "Tường chính" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key = created["key"].as_str().context("key")?.to_owned();
    ensure!(created["url"] == format!("/wall/?key={key}"));
    // The list never shows the secret.
    let list = server.get_json("/api/v1/display-keys").await?.to_string();
    ensure!(!list.contains(&key), "{list}");

    let r = http()
        .post(server.url("/api/v1/display/session"))
        .json(&json!({ "key": key }))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    let display = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("a cookie")?
        .to_owned();
    let me: serde_json::Value = http()
        .get(server.url("/api/v1/me"))
        .header("cookie", &display)
        .send()
        .await?
        .json()
        .await?;
    ensure!(me["role"] == "display", "{me}");
    // Read-only: no admin route.
    let keys = http()
        .get(server.url("/api/v1/display-keys"))
        .header("cookie", &display)
        .send()
        .await?;
    ensure!(keys.status() == StatusCode::FORBIDDEN);

    let mut ws = open_ws(&server, Some(&display)).await?;
    let id = created["id"].as_str().context("id")?;
    let r = http()
        .delete(server.url(&format!("/api/v1/display-keys/{id}")))
        .header("cookie", &admin)
        .send()
        .await?;
    ensure!(r.status() == StatusCode::NO_CONTENT, "{}", r.status());
    let (code, took) = wait_close(&mut ws, Duration::from_secs(1)).await?;
    eprintln!("the wall's websocket closed {took:?} after the revocation, code {code:?}");
    ensure!(code == Some(4401));
    let again = http()
        .post(server.url("/api/v1/display/session"))
        .json(&json!({ "key": key }))
        .send()
        .await?;
    ensure!(
        again.status() == StatusCode::UNAUTHORIZED,
        "a revoked key: {}",
        again.status()
    );
    let me = http()
        .get(server.url("/api/v1/city"))
        .header("cookie", &display)
        .send()
        .await?;
    ensure!(me.status() == StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_wrong_passwords_are_slowed_and_the_owner_still_gets_in() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let client = http();
    let url = server.url("/api/v1/login");
    // The unthrottled rate: the first five failures are not held back.
    let t0 = Instant::now();
    for _ in 0..5 {
        let r = client
            .post(&url)
            .json(&json!({"user": "admin", "password": "wrong"}))
            .send()
            .await?;
        ensure!(r.status() == StatusCode::UNAUTHORIZED);
    }
    let unthrottled_per_s = 5.0 / t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let attempts = futures_util::stream::iter(0..1000)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            async move {
                client
                    .post(&url)
                    .json(&json!({"user": "admin", "password": "wrong"}))
                    .send()
                    .await
                    .map(|r| r.status())
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let took = t1.elapsed();
    let mut checked = 0u32;
    let mut throttled = 0;
    for s in attempts {
        match s? {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => bail!("unexpected {other}"),
        }
    }
    let checked_per_s = f64::from(checked) / took.as_secs_f64();
    eprintln!(
        "unthrottled {unthrottled_per_s:.1} guesses/s; under attack: {checked} of 1000 checked \
         ({checked_per_s:.2}/s), {throttled} refused with 429, in {took:?}"
    );
    ensure!(throttled + checked == 1000);
    // After the five free failures, the policy lets one guess through after 1 s, the next
    // 2 s later, then 4, 8, 15 s...: however many are sent at once, this many at most.
    let mut allowed = 0;
    let mut at = Duration::ZERO;
    loop {
        at += account_delay(5 + allowed);
        if at > took {
            break;
        }
        allowed += 1;
    }
    ensure!(
        checked <= allowed,
        "{checked} guesses checked in {took:?}; the policy allows {allowed}"
    );

    // The owner, after the attack stops, waits what the server says and gets in.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = client
            .post(&url)
            .json(&json!({"user": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await?;
        match r.status() {
            StatusCode::OK => break,
            StatusCode::TOO_MANY_REQUESTS if Instant::now() < deadline => {
                let wait: u64 = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .context("a Retry-After")?;
                ensure!(wait <= 15, "told to wait {wait} s");
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => bail!("the owner could not log in: {other}"),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_security_headers() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    for path in ["/", "/api/v1/me", "/healthz"] {
        let r = http().get(server.url(path)).send().await?;
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("{path}: no CSP"))?;
        for part in [
            "script-src 'self' 'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
        ] {
            ensure!(csp.contains(part), "{path}: CSP {csp:?} lacks {part}");
        }
        ensure!(!csp.contains("unsafe-inline"), "{csp}");
        ensure!(
            h.get("x-content-type-options")
                .is_some_and(|v| v == "nosniff")
        );
        ensure!(h.get("x-frame-options").is_some_and(|v| v == "DENY"));
        ensure!(h.get("referrer-policy").is_some_and(|v| v == "no-referrer"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_from_the_command_line_log_in_until_disabled() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let password = server.add_user("officer.minh", "officer")?;
    let cookie = login(server.http, "officer.minh", &password).await?;
    let me: serde_json::Value = http()
        .get(server.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        me == json!({"user": "officer.minh", "role": "officer"}),
        "{me}"
    );
    let out = std::process::Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"))
        .arg("--data-dir")
        .arg(server.data_dir.path())
        .args(["user", "disable", "officer.minh"])
        .output()?;
    ensure!(out.status.success());
    // The running server sees it at once at login, and within a second for sessions (it looks
    // at its files once a second): the password no longer works, the session ends.
    ensure!(login(server.http, "officer.minh", &password).await.is_err());
    let t0 = Instant::now();
    loop {
        let r = http()
            .get(server.url("/api/v1/city"))
            .header("cookie", &cookie)
            .send()
            .await?;
        if r.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        ensure!(
            t0.elapsed() < Duration::from_millis(1500),
            "the disabled user's session still works: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_server_speaks_tls_and_the_cookie_is_host_only_and_secure()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?;
    ensure!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = TestServer::start_with(&[
        "--tls-cert",
        &cert.display().to_string(),
        "--tls-key",
        &key.display().to_string(),
    ])?;
    let url = format!("https://{}/api/v1/login", server.http);
    let body = format!(r#"{{"user":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let out = std::process::Command::new("curl")
        .args(["-sS", "-i", "--cacert"])
        .arg(&cert)
        .args(["-H", "content-type: application/json", "-d", &body, &url])
        .output()?;
    let answer = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .with_context(|| format!("no cookie in {answer}"))?;
    for part in [
        "__Host-ioc_session=",
        "Path=/",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
    ] {
        ensure!(cookie.contains(part), "{cookie} lacks {part}");
    }
    // Plain HTTP on the same port gets no answer.
    let plain = std::process::Command::new("curl")
        .args(["-sS", "-m", "5", &format!("http://{}/healthz", server.http)])
        .output()?;
    ensure!(!plain.status.success(), "plain HTTP was answered");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_log_in_and_publish_only_under_what_they_are_granted() -> anyhow::Result<()> {
    use ioc_tests::{LiveClient, Publisher, now_ms};
    let server = TestServer::start_with(&["--gateway-auth"])?;
    server.wait_subscribed().await?;
    let a = server.add_gateway("gw-a", "q1,q3", "aqs-*")?;
    // Each gateway's sources are its own: gw-b's detectors are `tfc-td-*`.
    let _b = server.add_gateway("gw-b", "thu-duc", "tfc-td-*")?;
    // The running server reads the gateways file again within a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Anonymous, unknown and wrong credentials are refused at CONNECT.
    for creds in [
        None,
        Some(("gw-x", "whatever")),
        Some(("gw-a", "not-the-password")),
    ] {
        let r = Publisher::connect_as(server.mqtt, "intruder", creds).await;
        ensure!(r.is_err(), "CONNECT with {creds:?} was accepted");
    }

    let mut live = LiveClient::connect(&server).await?;
    let gw = Publisher::connect_as(server.mqtt, "gw-a-1", Some(("gw-a", &a))).await?;
    let ts = now_ms();
    // Its own source in its own area: on screen.
    gw.publish(
        "ioc/v1/env/q1/aqs-q1-01",
        format!(r#"{{"ts":{ts},"values":{{"aqi":77}}}}"#),
    )
    .await?;
    // Its source under gw-b's area, and a source it is not granted in its own area: refused.
    gw.publish(
        "ioc/v1/env/thu-duc/aqs-td-01",
        format!(r#"{{"ts":{ts},"values":{{"aqi":99}}}}"#),
    )
    .await?;
    gw.publish(
        "ioc/v1/traffic/q1/tfc-q1-01",
        format!(r#"{{"ts":{ts},"values":{{"speed_kmh":20}}}}"#),
    )
    .await?;
    live.wait_for(Duration::from_secs(5), |c| {
        c.mean(ioc_protocol::Domain::Env, "q1", "aqi") == Some(77.0)
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = server.get_json("/api/v1/ingest/rejected").await?;
        if r["by_reason"]["forbidden"] == 2 {
            let topics: Vec<&str> = r["recent"]
                .as_array()
                .context("recent")?
                .iter()
                .filter_map(|e| e["topic"].as_str())
                .collect();
            ensure!(
                topics.contains(&"ioc/v1/env/thu-duc/aqs-td-01"),
                "{topics:?}"
            );
            break;
        }
        ensure!(Instant::now() < deadline, "rejections: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        live.mean(ioc_protocol::Domain::Env, "thu-duc", "aqi")
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_ingest_takes_a_gateways_token_and_answers_once_durable() -> anyhow::Result<()> {
    use ioc_tests::{LiveClient, now_ms};
    let server = TestServer::start()?;
    let token = server.add_gateway("portal", "q1,city", "dvc-*")?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let url = server.url("/api/v1/ingest");
    let ts = now_ms();
    let batch = json!([
        {"topic": "ioc/v1/service/q1/dvc-portal", "ts": ts, "id": "HS-1", "service": "1.001",
         "agency": "ubnd-q1", "status": "received", "online": true},
        {"topic": "ioc/v1/env/q1/dvc-air", "ts": ts, "values": {"aqi": 61}},
        // Not granted: another area, another source.
        {"topic": "ioc/v1/env/q7/dvc-air", "ts": ts, "values": {"aqi": 90}},
        {"topic": "ioc/v1/env/q1/aqs-q1-01", "ts": ts, "values": {"aqi": 90}},
        // Bad: no topic, no ts.
        {"ts": ts, "values": {"aqi": 1}},
        {"topic": "ioc/v1/env/q1/dvc-air2", "values": {"aqi": 1}}
    ]);
    for auth in [None, Some("Bearer wrong-token".to_owned())] {
        let mut req = http().post(&url).json(&batch);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await?;
        ensure!(
            r.status() == StatusCode::UNAUTHORIZED,
            "{auth:?}: {}",
            r.status()
        );
    }
    let mut live = LiveClient::connect(&server).await?;
    let r = http()
        .post(&url)
        .header("authorization", format!("Bearer {token}"))
        .json(&batch)
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    let answer: serde_json::Value = r.json().await?;
    ensure!(answer["accepted"] == 2, "{answer}");
    let reasons: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .context("rejected")?
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap_or(99),
                e["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    ensure!(
        reasons
            == [
                (2, "forbidden"),
                (3, "forbidden"),
                (4, "bad_topic"),
                (5, "missing_ts")
            ],
        "{reasons:?}"
    );
    // Answered once durable: both readings are in the store already.
    let store = server.get_json("/api/v1/store").await?;
    ensure!(store["written"].as_u64() >= Some(2), "{store}");
    live.wait_for(Duration::from_secs(5), |c| {
        c.mean(ioc_protocol::Domain::Env, "q1", "aqi") == Some(61.0)
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_with_the_files_the_server_writes_keeps_each_gateway_to_its_areas()
-> anyhow::Result<()> {
    use ioc_tests::{LiveClient, Mosquitto, Publisher, free_port, now_ms};
    const SUBSCRIBER_PASSWORD: &str = "the-servers-own-mqtt-password";
    let broker: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let server = TestServer::start_with(&[
        "--mqtt-url",
        &format!("mqtt://{broker}"),
        "--mqtt-username",
        "ioc-server",
        "--mqtt-password",
        SUBSCRIBER_PASSWORD,
    ])?;
    // The command line writes Mosquitto's password and ACL files as it adds gateways, with the
    // server's own MQTT user as the reader.
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = std::process::Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"))
            .arg("--data-dir")
            .arg(server.data_dir.path())
            .args([
                "--mqtt-username",
                "ioc-server",
                "--mqtt-password",
                SUBSCRIBER_PASSWORD,
            ])
            .args(args)
            .output()?;
        ensure!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        Ok(text
            .rsplit(": ")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned())
    };
    let a = cli(&[
        "gateway",
        "add",
        "gw-a",
        "--areas",
        "q1",
        "--sources",
        "aqs-q1-01",
    ])?;
    cli(&[
        "gateway",
        "add",
        "gw-b",
        "--areas",
        "q3",
        "--sources",
        "aqs-q3-01",
    ])?;
    let files = server.data_dir.path().join("mosquitto");
    let _mosquitto = Mosquitto::start_conf(
        tempfile::tempdir()?,
        broker.port(),
        &format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            files.join("passwd").display(),
            files.join("acl").display()
        ),
    )?;
    server.wait_subscribed().await?;

    let anonymous = tokio::time::timeout(
        Duration::from_secs(3),
        Publisher::connect_as(broker, "anon", None),
    )
    .await;
    ensure!(
        !matches!(anonymous, Ok(Ok(_))),
        "Mosquitto let an anonymous client in"
    );

    let mut live = LiveClient::connect(&server).await?;
    let gw = Publisher::connect_as(broker, "gw-a-1", Some(("gw-a", &a))).await?;
    let ts = now_ms();
    // gw-b's area and source, published by gw-a: Mosquitto drops it.
    gw.publish(
        "ioc/v1/env/q3/aqs-q3-01",
        format!(r#"{{"ts":{ts},"values":{{"aqi":99}}}}"#),
    )
    .await?;
    gw.publish(
        "ioc/v1/env/q1/aqs-q1-01",
        format!(r#"{{"ts":{ts},"values":{{"aqi":55}}}}"#),
    )
    .await?;
    live.wait_for(Duration::from_secs(10), |c| {
        c.mean(ioc_protocol::Domain::Env, "q1", "aqi") == Some(55.0)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    live.wait_for(Duration::from_millis(100), |_| true).await?;
    ensure!(
        live.mean(ioc_protocol::Domain::Env, "q3", "aqi").is_none(),
        "gw-a's message under gw-b's area reached the screen"
    );
    let report = server.get_json("/api/v1/ingest/rejected").await?;
    ensure!(
        report["accepted"] == 1,
        "only the granted reading came through: {report}"
    );
    Ok(())
}
