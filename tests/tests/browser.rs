//! In a real browser: headless Chromium loads the served app, and a reading published over
//! MQTT appears in its tile within 2 seconds.

use std::time::{Duration, Instant};

use ioc_tests::browser::{Browser, dist_built};
use ioc_tests::{ADMIN_PASSWORD, Publisher, TestServer, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_reading_appears_in_the_tile() -> anyhow::Result<()> {
    assert!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/setup builds it)"
    );
    let server = TestServer::start()?;
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/")).await?;
    // The app is up and connected.
    browser
        .wait_for(
            "const c = document.querySelector('[data-testid=connection]'); return c && c.className.includes('conn-live');",
            Duration::from_secs(15),
        )
        .await?;
    let row = "tr[data-area=\"q1\"]";
    let empty = browser
        .eval(&format!(
            "return document.querySelector('#tile-env {row} [data-field=aqi]').textContent"
        ))
        .await?;
    assert_eq!(empty, "—");

    let publisher = Publisher::connect(server.mqtt, "browser-test").await?;
    let sent = Instant::now();
    publisher
        .publish(
            "ioc/v1/env/q1/aqs-q1-01",
            format!(
                r#"{{"ts":{},"values":{{"aqi":123,"pm25_ugm3":61.5}}}}"#,
                now_ms()
            ),
        )
        .await?;
    browser
        .wait_for(
            &format!("return document.querySelector('#tile-env {row} [data-field=aqi]').textContent === '123'"),
            Duration::from_secs(2),
        )
        .await?;
    let took = sent.elapsed();
    let pm = browser
        .eval(&format!(
            "return document.querySelector('#tile-env {row} [data-field=pm25_ugm3]').textContent"
        ))
        .await?;
    // Vietnamese first: a decimal comma.
    assert_eq!(pm, "61,5");
    // The AQI is in its VN_AQI band, "Kém" (poor, orange), and its age is shown.
    let band = browser
        .eval(&format!(
            "return document.querySelector('#tile-env {row} .aqi').className"
        ))
        .await?;
    assert!(
        band.as_str().unwrap_or_default().contains("aqi-poor"),
        "{band}"
    );
    let age = browser
        .eval("return document.querySelector('#tile-env [data-testid=tile-age]').textContent")
        .await?;
    assert!(
        age.as_str().unwrap_or_default().starts_with("Cập nhật"),
        "{age}"
    );

    // Traffic too.
    publisher
        .publish(
            "ioc/v1/traffic/thu-duc/tfc-thu-duc-01",
            format!(
                r#"{{"ts":{},"values":{{"speed_kmh":17.5,"congestion":4}}}}"#,
                now_ms()
            ),
        )
        .await?;
    browser
        .wait_for(
            "const r = document.querySelector('#tile-traffic tr[data-area=\"thu-duc\"] [data-field=speed_kmh]'); return r && r.textContent === '17,5'",
            Duration::from_secs(2),
        )
        .await?;

    browser.check_console("console", &[]).await?;
    eprintln!("reading on screen {took:?} after publish");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tile_whose_sources_stop_says_its_data_is_stale() -> anyhow::Result<()> {
    assert!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/setup builds it)"
    );
    // Air-quality figures go stale 3 s after their newest reading, instead of 10 minutes.
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("ioc.toml");
    std::fs::write(&config, "[live]\nstale_after_s = { env = 3 }\n")?;
    let server = TestServer::start_with(&["--config", &config.display().to_string()])?;
    server.wait_subscribed().await?;
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/")).await?;
    let publisher = Publisher::connect(server.mqtt, "stale-test").await?;
    publisher
        .publish(
            "ioc/v1/env/q1/aqs-q1-01",
            format!(
                r#"{{"ts":{},"values":{{"aqi":80,"pm25_ugm3":30.0}}}}"#,
                now_ms()
            ),
        )
        .await?;
    let tile = "document.querySelector('section[data-testid=tile-env]')";
    let age = "document.querySelector('section[data-testid=tile-env] [data-testid=tile-age]').textContent";
    browser
        .wait_for(
            &format!("return !!{tile} && {tile}.dataset.newest > 0 && !{tile}.classList.contains('stale') && {age}.startsWith('Cập nhật')"),
            Duration::from_secs(15),
        )
        .await?;
    // Nothing more comes: within a few seconds the tile, and the area's row, say so.
    browser
        .wait_for(
            &format!(
                "return {tile}.classList.contains('stale') && {age}.startsWith('Dữ liệu cũ · Cập nhật') \
                 && document.querySelector('#tile-env tr[data-area=\"q1\"]').classList.contains('stale')"
            ),
            Duration::from_secs(8),
        )
        .await?;
    browser.check_console("console", &[]).await?;
    Ok(())
}
