//! The screens, in a real browser, fed by the simulated city: the duty officers' console (`/`)
//! and the wall display (`/wall`) at 1920x1080 and at 4K, the language switch, and the wall's
//! recovery from a server restart. Screenshots go to `IOC_SCREENSHOT_DIR`, by default
//! `<workspace>/target/screenshots/`.
//!
//! Needs `dist/` (scripts/build-app), the binaries (`cargo build --workspace --bins`: the
//! server and the simulator), chromedriver and Chromium (scripts/setup), and the shared
//! boundary file (see `ioc_tests::shared_data_file`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use ioc_tests::browser::{Browser, dist_built};
use ioc_tests::{
    ADMIN_PASSWORD, HCMC_BOUNDARIES, Publisher, Sim, TestServer, free_port, now_ms,
    shared_data_file, wait_port, workspace_root,
};

/// The tiles, by their `data-testid` suffix, in the order of [`NEWEST`]'s answer.
const TILES: [&str; 6] = ["traffic", "env", "flood", "complaint", "service", "system"];
/// The tiles whose sources report on a fixed period (every 15 to 60 s): never stale while the
/// simulator runs.
const TELEMETRY: [&str; 4] = ["traffic", "env", "flood", "system"];
const TITLES_VI: [&str; 6] = [
    "Giao thông",
    "Chất lượng không khí",
    "Ngập nước",
    "Phản ánh",
    "Dịch vụ công",
    "Tình trạng hệ thống",
];
const TITLES_EN: [&str; 6] = [
    "Traffic",
    "Air quality",
    "Flooding",
    // The console says "Citizen complaints (1022)", the wall's card "Complaints (1022)".
    "complaints (1022)",
    "Public services",
    "System health",
];
const SIZES: [(u32, u32); 2] = [(1920, 1080), (3840, 2160)];
const PANELS: [&str; 6] = [
    "air",
    "flood",
    "traffic",
    "complaints",
    "services",
    "indicators",
];
const LAYERS: [&str; 4] = ["aqi", "congestion", "complaints", "flood"];

/// Every tile's `data-newest` (epoch ms; 0 before data; -1 when the tile is missing).
const NEWEST: &str = "return ['traffic', 'env', 'flood', 'complaint', 'service', 'system'].map(t => { \
    const s = document.querySelector('section[data-testid=tile-' + t + ']'); \
    return s ? Number(s.getAttribute('data-newest') || 0) : -1; })";
const CONNECTED: &str = "const c = document.querySelector('[data-testid=connection]'); \
    return !!c && (c.getAttribute('class') || '').includes('conn-live')";
const PANEL: &str = "const p = document.querySelector('[data-testid=wall-panel]'); \
    return p && p.getAttribute('data-panel')";
fn screenshot_dir() -> PathBuf {
    std::env::var_os("IOC_SCREENSHOT_DIR").map_or_else(
        || workspace_root().join("target/screenshots"),
        PathBuf::from,
    )
}

async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    let path = screenshot_dir().join(name);
    browser.screenshot(&path).await?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

/// The server with the areas' outlines, and the simulated city publishing to its broker:
/// two hours replayed in about 12 s, then live.
async fn city(mqtt_listen: Option<SocketAddr>) -> anyhow::Result<(TestServer, Sim)> {
    assert!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/build-app)"
    );
    let boundaries = shared_data_file(HCMC_BOUNDARIES)?.display().to_string();
    let mut args = vec!["--city-boundaries".to_owned(), boundaries];
    if let Some(addr) = mqtt_listen {
        args.extend(["--mqtt-listen".to_owned(), addr.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start_with(&args)?;
    server.wait_subscribed().await?;
    let sim = Sim::start(server.mqtt)?;
    Ok((server, sim))
}

async fn newest(browser: &Browser) -> anyhow::Result<Vec<i64>> {
    let v = browser.eval(NEWEST).await?;
    v.as_array()
        .context("data-newest: not a list")?
        .iter()
        .map(|n| {
            n.as_f64()
                .map(|f| f as i64)
                .context("data-newest: not a number")
        })
        .collect()
}

/// Text of the first element matching `selector` inside tile `tile`, or "" .
async fn tile_text(browser: &Browser, tile: &str, selector: &str) -> anyhow::Result<String> {
    let v = browser
        .eval(&format!(
            "const e = document.querySelector('section[data-testid=tile-{tile}] {selector}'); \
             return e ? e.textContent : ''"
        ))
        .await?;
    Ok(v.as_str().unwrap_or_default().trim().to_owned())
}

async fn tile_titles(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let mut titles = Vec::new();
    for t in TILES {
        titles.push(tile_text(browser, t, "h2").await?);
    }
    Ok(titles)
}

/// Waits until the page shows a connection, then until every tile has data.
async fn wait_live_with_data(
    browser: &Browser,
    sim: &mut Sim,
    data_within: Duration,
) -> anyhow::Result<()> {
    browser
        .wait_for(CONNECTED, Duration::from_secs(15))
        .await
        .context("the page never showed conn-live")?;
    let deadline = Instant::now() + data_within;
    loop {
        let n = newest(browser).await?;
        ensure!(
            !n.contains(&-1),
            "tiles missing: {:?}",
            TILES
                .iter()
                .zip(&n)
                .filter(|(_, v)| **v == -1)
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
        );
        if n.iter().all(|v| *v > 0) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            sim.check_running()?;
            let empty: Vec<&str> = TILES
                .iter()
                .zip(&n)
                .filter(|(_, v)| **v == 0)
                .map(|(t, _)| *t)
                .collect();
            bail!("tiles without data after {data_within:?}: {empty:?} (data-newest {n:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the simulated city's replay is over: every telemetry tile's newest reading is
/// less than two minutes old (sources report every 15 to 60 s).
async fn wait_caught_up(browser: &Browser, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let n = newest(browser).await?;
        let now = now_ms();
        let behind: Vec<(&str, i64)> = TILES
            .iter()
            .zip(&n)
            .filter(|(t, v)| TELEMETRY.contains(*t) && now - **v > 120_000)
            .map(|(t, v)| (*t, (now - v) / 1000))
            .collect();
        if behind.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("tiles still behind after {within:?} (tile, seconds behind): {behind:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One event, stamped now, from a test gateway, for each of `tiles` (`complaint`, `service`).
async fn publish_events(server: &TestServer, tiles: &[&str]) -> anyhow::Result<()> {
    let city = server.get_json("/api/v1/city").await?;
    let agency = city["agencies"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["area"].is_string()))
        .context("no agency with an area in /api/v1/city")?;
    let mut publisher = Publisher::connect(server.mqtt, "screens-test-gateway").await?;
    let ts = now_ms();
    for tile in tiles {
        let (topic, payload) = match *tile {
            "complaint" => (
                "ioc/v1/complaint/q1/hotline-1022".to_owned(),
                format!(
                    r#"{{"ts":{ts},"id":"PA-TEST-{ts}","category":"flooding","channel":"hotline","status":"received"}}"#
                ),
            ),
            "service" => (
                format!(
                    "ioc/v1/service/{}/portal-dvc",
                    agency["area"].as_str().unwrap_or_default()
                ),
                format!(
                    r#"{{"ts":{ts},"id":"HS-TEST-{ts}","service":"{}-dv-1","agency":"{}","status":"received","online":true}}"#,
                    agency["id"].as_str().unwrap_or_default(),
                    agency["id"].as_str().unwrap_or_default()
                ),
            ),
            other => bail!("no event to publish for tile {other}"),
        };
        publisher.publish(&topic, payload).await?;
    }
    publisher
        .wait_acks(tiles.len(), Duration::from_secs(10))
        .await?;
    Ok(())
}

/// Waits until every tile's `data-newest` has grown; fails naming the tiles that did not
/// within `within`, with their age text.
///
/// The simulated city's complaints and dossiers follow the hour and the weekday: at night or
/// on a Sunday they come minutes apart. So when the complaint or service tile has not moved
/// halfway through, one event of its kind, stamped now, is published, and the tile must show
/// it within the other half.
async fn wait_every_tile_updates(
    browser: &Browser,
    server: &TestServer,
    within: Duration,
) -> anyhow::Result<()> {
    let before = newest(browser).await?;
    let start = Instant::now();
    let mut took: Vec<Option<Duration>> = vec![None; TILES.len()];
    let mut nudged = false;
    while took.iter().any(Option::is_none) && start.elapsed() < within {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if !nudged && start.elapsed() >= within / 2 {
            nudged = true;
            let quiet: Vec<&str> = TILES
                .iter()
                .zip(&took)
                .filter(|(t, took)| took.is_none() && ["complaint", "service"].contains(*t))
                .map(|(t, _)| *t)
                .collect();
            if !quiet.is_empty() {
                eprintln!(
                    "no new {quiet:?} data from the simulated city in {:?}: publishing one event each",
                    start.elapsed()
                );
                publish_events(server, &quiet).await?;
            }
        }
        let now = newest(browser).await?;
        for ((t, (b, n)), took) in TILES.iter().zip(before.iter().zip(&now)).zip(&mut took) {
            if took.is_none() && n > b {
                *took = Some(start.elapsed());
                eprintln!(
                    "tile {t}: data-newest {b} -> {n} after {:?}",
                    start.elapsed()
                );
            }
        }
    }
    let mut late = Vec::new();
    for ((t, b), took) in TILES.iter().zip(&before).zip(&took) {
        if took.is_none() {
            let age = tile_text(browser, t, "[data-testid=tile-age]").await?;
            late.push(format!("{t} (data-newest {b}, age {age:?})"));
        }
    }
    ensure!(
        late.is_empty(),
        "tiles that did not update within {within:?}: {}",
        late.join(", ")
    );
    Ok(())
}

/// The map: one `[data-area]` per area of the city (22), each coloured, and a legend.
async fn check_map(browser: &Browser, areas: &BTreeSet<String>) -> anyhow::Result<()> {
    let v = browser
        .eval(
            "const m = document.querySelector('[data-testid=map]'); if (!m) return null; \
             const els = Array.from(m.querySelectorAll('[data-area]')); \
             const painted = e => { const s = getComputedStyle(e); \
               if (e instanceof SVGElement) return s.fill !== 'none' && s.fill !== ''; \
               return s.backgroundColor !== 'rgba(0, 0, 0, 0)' && s.backgroundColor !== 'transparent'; }; \
             const legend = document.querySelector('[data-testid=map-legend]'); \
             return { codes: els.map(e => e.getAttribute('data-area')), \
                      unpainted: els.filter(e => !painted(e)).map(e => e.getAttribute('data-area')), \
                      legend: !!legend && legend.getBoundingClientRect().width > 0 }",
        )
        .await?;
    ensure!(!v.is_null(), "no [data-testid=map]");
    let codes: Vec<String> = serde_json::from_value(v["codes"].clone())?;
    ensure!(
        codes.len() == areas.len(),
        "{} [data-area] elements in the map, not one per area ({}): {codes:?}",
        codes.len(),
        areas.len()
    );
    let shown: BTreeSet<String> = codes.into_iter().collect();
    ensure!(
        &shown == areas,
        "the map's areas {shown:?} are not {areas:?}"
    );
    ensure!(
        v["unpainted"].as_array().is_some_and(Vec::is_empty),
        "areas with no fill nor background: {}",
        v["unpainted"]
    );
    ensure!(v["legend"] == true, "no visible [data-testid=map-legend]");
    Ok(())
}

async fn area_codes(server: &TestServer) -> anyhow::Result<BTreeSet<String>> {
    let city = server.get_json("/api/v1/city").await?;
    Ok(city["areas"]
        .as_array()
        .context("areas")?
        .iter()
        .filter_map(|a| a["code"].as_str().map(str::to_owned))
        .collect())
}

async fn check_viewport(browser: &Browser, (w, h): (u32, u32)) -> anyhow::Result<()> {
    let v = browser
        .eval("return [innerWidth, innerHeight, devicePixelRatio]")
        .await?;
    ensure!(
        v[0] == w && v[1] == h && v[2].as_f64() == Some(1.0),
        "the viewport is {v}, not {w} x {h} at 1x"
    );
    Ok(())
}

/// WCAG relative luminance of an sRGB colour, 0 (black) to 1 (white).
fn luminance(r: f64, g: f64, b: f64) -> f64 {
    let lin = |c: f64| {
        let c = c / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// The page's background as seen: the body's colour, else the root's, else the browser's
/// white canvas. Colours are resolved through a canvas, whatever their CSS syntax.
async fn background_luminance(browser: &Browser) -> anyhow::Result<(f64, Value)> {
    let v = browser
        .eval(
            "const rgba = col => { const c = document.createElement('canvas'); c.width = c.height = 1; \
               const x = c.getContext('2d'); x.fillStyle = col; x.fillRect(0, 0, 1, 1); \
               return Array.from(x.getImageData(0, 0, 1, 1).data); }; \
             const body = getComputedStyle(document.body).backgroundColor; \
             const root = getComputedStyle(document.documentElement).backgroundColor; \
             return { body, root, body_rgba: rgba(body), root_rgba: rgba(root) }",
        )
        .await?;
    let px = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (body, root) = (px("body_rgba"), px("root_rgba"));
    let seen = [body, root]
        .into_iter()
        .find(|p| p.len() == 4 && p[3] > 0.0)
        .unwrap_or_else(|| vec![255.0, 255.0, 255.0, 255.0]);
    Ok((luminance(seen[0], seen[1], seen[2]), v))
}

/// A browser of `size` on `path`: the page's root `root` is there, the viewport is the size
/// asked for, and every tile has data (within `data_within`).
async fn open_live(
    server: &TestServer,
    sim: &mut Sim,
    path: &str,
    root: &str,
    size: (u32, u32),
    data_within: Duration,
) -> anyhow::Result<Browser> {
    let browser = Browser::start(size.0, size.1).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url(path)).await?;
    browser
        .wait_for(
            &format!("return !!document.querySelector('{root}')"),
            Duration::from_secs(15),
        )
        .await
        .with_context(|| format!("no {root}"))?;
    check_viewport(&browser, size).await?;
    wait_live_with_data(&browser, sim, data_within).await?;
    Ok(browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_at_1920x1080_and_4k() -> anyhow::Result<()> {
    let (server, mut sim) = city(None).await?;
    let areas = area_codes(&server).await?;
    let mut data_within = Duration::from_secs(60);
    for (w, h) in SIZES {
        let at = format!("console {w}x{h}");
        let browser = open_live(&server, &mut sim, "/", ".ioc.console", (w, h), data_within)
            .await
            .with_context(|| at.clone())?;
        data_within = Duration::from_secs(15);
        wait_caught_up(&browser, Duration::from_secs(60))
            .await
            .with_context(|| at.clone())?;
        wait_every_tile_updates(&browser, &server, Duration::from_secs(30))
            .await
            .with_context(|| at.clone())?;

        for t in TILES {
            let age = tile_text(&browser, t, "[data-testid=tile-age]").await?;
            ensure!(
                age.contains("Cập nhật"),
                "{at}: tile {t}'s age is {age:?}, not \"Cập nhật …\""
            );
        }
        let titles = tile_titles(&browser).await?;
        for ((t, title), want) in TILES.iter().zip(&titles).zip(TITLES_VI) {
            ensure!(title.contains(want), "{at}: tile {t}'s title {title:?}");
        }
        for t in TELEMETRY {
            let stale = browser
                .eval(&format!(
                    "return document.querySelector('section[data-testid=tile-{t}]').classList.contains('stale')"
                ))
                .await?;
            ensure!(stale == false, "{at}: tile {t} is stale with live data");
        }
        check_map(&browser, &areas)
            .await
            .with_context(|| at.clone())?;
        screenshot(&browser, &format!("console-{w}x{h}.png")).await?;

        // The map's layers.
        for layer in LAYERS {
            let found = browser
                .eval(&format!(
                    "return !!document.querySelector('[data-layer={layer}]:not([data-testid=map])')"
                ))
                .await?;
            ensure!(found == true, "{at}: no layer button [data-layer={layer}]");
        }
        browser
            .eval(
                "document.querySelector('[data-layer=congestion]:not([data-testid=map])').click(); \
                 return true",
            )
            .await?;
        browser
            .wait_for(
                "const m = document.querySelector('[data-testid=map]'); \
                 return !!m && m.getAttribute('data-layer') === 'congestion'",
                Duration::from_secs(2),
            )
            .await
            .with_context(|| format!("{at}: the map's data-layer is not congestion"))?;
        check_map(&browser, &areas)
            .await
            .with_context(|| format!("{at}, congestion layer"))?;

        browser.check_console(&at, &[]).await?;
    }
    sim.check_running()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_fits_without_scrollbars_and_rotates() -> anyhow::Result<()> {
    let (server, mut sim) = city(None).await?;
    let areas = area_codes(&server).await?;
    let mut data_within = Duration::from_secs(60);
    for (w, h) in SIZES {
        let at = format!("wall {w}x{h}");
        let browser = open_live(
            &server,
            &mut sim,
            "/wall?rotate=3",
            ".ioc.wall",
            (w, h),
            data_within,
        )
        .await
        .with_context(|| at.clone())?;
        data_within = Duration::from_secs(15);
        check_map(&browser, &areas)
            .await
            .with_context(|| at.clone())?;
        browser.check_no_scrolling(&at).await?;

        // The panel rotates, every 3 s here; the page fits whichever panel is shown.
        let first = browser
            .wait_for(PANEL, Duration::from_secs(5))
            .await
            .with_context(|| format!("{at}: no [data-testid=wall-panel] with data-panel"))?;
        let first = first.as_str().unwrap_or_default().to_owned();
        ensure!(
            PANELS.contains(&first.as_str()),
            "{at}: data-panel {first:?}"
        );
        let mut seen = vec![first.clone()];
        let mut shown = first;
        for _ in 0..4 {
            let next = browser
                .wait_for(
                    &format!("const p = (() => {{ {PANEL} }})(); return p !== '{shown}' && p"),
                    Duration::from_secs(8),
                )
                .await;
            let next = match next {
                Ok(v) => v.as_str().unwrap_or_default().to_owned(),
                Err(e) => bail!("{at}: data-panel stayed {shown:?} for 8 s: {e}"),
            };
            ensure!(PANELS.contains(&next.as_str()), "{at}: data-panel {next:?}");
            // Let the panel lay itself out.
            tokio::time::sleep(Duration::from_millis(300)).await;
            browser
                .check_no_scrolling(&format!("{at}, panel {next}"))
                .await?;
            seen.push(next.clone());
            shown = next;
        }
        eprintln!("{at}: panels shown in turn: {seen:?}");

        let (lum, colours) = background_luminance(&browser).await?;
        ensure!(
            lum < 0.2,
            "{at}: the background is not dark: luminance {lum:.3} ({colours})"
        );
        for t in TILES {
            let found = browser
                .eval(&format!(
                    "return !!document.querySelector('section[data-testid=tile-{t}] h2')"
                ))
                .await?;
            ensure!(found == true, "{at}: no tile {t} with a title");
        }
        browser.check_no_scrolling(&at).await?;
        screenshot(&browser, &format!("wall-{w}x{h}.png")).await?;
        browser.check_console(&at, &[]).await?;
    }
    sim.check_running()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_switch_changes_the_words() -> anyhow::Result<()> {
    let (server, mut sim) = city(None).await?;
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/")).await?;
    browser
        .wait_for(
            "const h = document.querySelector('section[data-testid=tile-traffic] h2'); \
             return !!h && h.textContent.includes('Giao thông')",
            Duration::from_secs(15),
        )
        .await
        .context("the console never showed its Vietnamese traffic title")?;
    assert_eq!(
        browser.eval("return document.documentElement.lang").await?,
        "vi"
    );
    let titles = tile_titles(&browser).await?;
    for ((t, title), want) in TILES.iter().zip(&titles).zip(TITLES_VI) {
        assert!(
            title.contains(want),
            "tile {t}'s title {title:?}, not {want:?}"
        );
    }
    wait_live_with_data(&browser, &mut sim, Duration::from_secs(60)).await?;

    browser
        .eval("document.querySelector('[data-testid=lang-switch]').click(); return true")
        .await?;
    let all_english = format!(
        "const want = {}; const tiles = {}; \
         return tiles.every((t, i) => {{ \
           const h = document.querySelector('section[data-testid=tile-' + t + '] h2'); \
           return !!h && h.textContent.toLowerCase().includes(want[i].toLowerCase()); }})",
        serde_json::to_string(&TITLES_EN)?,
        serde_json::to_string(&TILES)?
    );
    if let Err(e) = browser.wait_for(&all_english, Duration::from_secs(2)).await {
        bail!(
            "the titles are {:?} 2 s after the switch: {e}",
            tile_titles(&browser).await?
        );
    }
    assert_eq!(
        browser.eval("return document.documentElement.lang").await?,
        "en"
    );
    for t in TILES {
        let age = tile_text(&browser, t, "[data-testid=tile-age]").await?;
        assert!(
            age.contains("Updated"),
            "tile {t}'s age is {age:?} in English"
        );
    }
    browser.check_console("console", &[]).await?;

    // The wall, in the same browser: the language is remembered.
    browser.goto(&server.url("/wall")).await?;
    browser
        .wait_for(
            "return !!document.querySelector('.ioc.wall section[data-testid=tile-traffic] h2')",
            Duration::from_secs(15),
        )
        .await
        .context("no traffic tile on the wall")?;
    if let Err(e) = browser
        .wait_for(
            "return document.querySelector('section[data-testid=tile-traffic] h2').textContent.includes('Traffic')",
            Duration::from_secs(2),
        )
        .await
    {
        bail!(
            "the wall's titles are {:?}: {e}",
            tile_titles(&browser).await?
        );
    }
    assert_eq!(
        browser.eval("return document.documentElement.lang").await?,
        "en"
    );
    let titles = tile_titles(&browser).await?;
    for ((t, title), want) in TILES.iter().zip(&titles).zip(TITLES_EN) {
        assert!(
            title.to_lowercase().contains(&want.to_lowercase()),
            "wall: tile {t}'s title {title:?}, not {want:?}"
        );
    }
    browser.check_console("wall", &[]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_recovers_after_a_server_restart() -> anyhow::Result<()> {
    // The embedded broker on a fixed port, kept across the restart, as in production: the
    // simulator reconnects to it by itself.
    let mqtt: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let (server, mut sim) = city(Some(mqtt)).await?;
    assert_eq!(server.mqtt, mqtt);
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/wall")).await?;
    browser
        .wait_for(
            "return !!document.querySelector('.ioc.wall')",
            Duration::from_secs(15),
        )
        .await
        .context("no .ioc.wall")?;
    wait_live_with_data(&browser, &mut sim, Duration::from_secs(60)).await?;
    wait_caught_up(&browser, Duration::from_secs(60)).await?;
    browser.eval("window.__marker = 1; return true").await?;
    let before = newest(&browser).await?;

    let down = server.crash()?;
    let crashed_at = Instant::now();
    if let Err(e) = browser
        .wait_for(
            "const c = document.querySelector('[data-testid=connection]'); \
             return !!c && (c.getAttribute('class') || '').includes('conn-lost') \
               && c.textContent.includes('Đang kết nối lại')",
            Duration::from_secs(10),
        )
        .await
    {
        let c = browser
            .eval(
                "const c = document.querySelector('[data-testid=connection]'); \
                 return c && [c.getAttribute('class'), c.textContent]",
            )
            .await?;
        bail!("the wall did not show the lost connection: {c}: {e}");
    }
    eprintln!("conn-lost shown {:?} after the crash", crashed_at.elapsed());
    // Down a little longer, as a real restart is.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let server = down.restart()?;
    wait_port(server.http, Duration::from_secs(5))?;
    let up = Instant::now();
    eprintln!("server down for {:?}", crashed_at.elapsed());
    let recovered = format!(
        "const live = (() => {{ {CONNECTED} }})(); const now = (() => {{ {NEWEST} }})(); \
         const before = {}; return live && now.some((n, i) => n > before[i])",
        serde_json::to_string(&before)?
    );
    let mut live_after = None;
    let deadline = up + Duration::from_secs(15);
    let recovered_after = loop {
        if live_after.is_none() && browser.eval(CONNECTED).await? == true {
            live_after = Some(up.elapsed());
        }
        let v = browser.eval(&recovered).await?;
        if v == true {
            break up.elapsed();
        }
        if Instant::now() >= deadline {
            sim.check_running()?;
            bail!(
                "the wall did not recover within 15 s of the restart (conn-live after {live_after:?}; \
                 data-newest before {before:?}, now {:?})",
                newest(&browser).await?
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "after the restart: conn-live in {live_after:?}, new data on the wall in {recovered_after:?}"
    );
    assert!(
        recovered_after <= Duration::from_secs(5),
        "the wall took {recovered_after:?} (> 5 s) to show new data after the restart"
    );
    assert_eq!(
        browser.eval("return window.__marker === 1").await?,
        true,
        "the page reloaded"
    );
    let errors = browser.console_errors().await?;
    if !errors.is_empty() {
        // Failed websocket connections while the server was down are logged by the browser.
        eprintln!("browser console during the restart: {errors:?}");
    }
    sim.check_running()?;
    Ok(())
}

/// The `d` of the mean line of the drill-down's chart `field`, "" when it draws nothing.
fn mean_path(field: &str) -> String {
    format!(
        "const p = document.querySelector('[data-testid=drilldown] figure[data-chart={field}] path.mean'); \
         return p ? (p.getAttribute('d') || '') : ''"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_on_the_map_opens_its_history_in_three_ranges() -> anyhow::Result<()> {
    let (server, mut sim) = city(None).await?;
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/")).await?;
    wait_live_with_data(&browser, &mut sim, Duration::from_secs(60)).await?;
    // The replayed hours are in the store once the simulator has caught up.
    wait_caught_up(&browser, Duration::from_secs(60)).await?;

    browser
        .eval(
            "document.querySelector('[data-testid=map] [data-area=\"thu-duc\"]')\
             .dispatchEvent(new MouseEvent('click', { bubbles: true })); return true",
        )
        .await?;
    browser
        .wait_for(
            "return !!document.querySelector('[data-testid=drilldown][data-drill-area=\"thu-duc\"]')",
            Duration::from_secs(3),
        )
        .await
        .context("clicking Thu Duc on the map opened no drill-down")?;
    let title = browser
        .eval("return document.querySelector('[data-testid=drilldown] h2').textContent")
        .await?;
    assert_eq!(title, "Thành phố Thủ Đức");

    // Each range draws the area's history: a mean line in every chart, with the time axis of
    // its span (hours for 1 h and 24 h, days for 7 days).
    for (range, dated) in [("1h", false), ("24h", false), ("7d", true)] {
        browser
            .eval(&format!(
                "document.querySelector('[data-testid=drilldown] [data-range=\"{range}\"]').click(); return true"
            ))
            .await?;
        for field in ["aqi", "pm25_ugm3", "speed_kmh", "congestion"] {
            browser
                .wait_for(
                    &format!("return ({})().startsWith('M')", {
                        let body = mean_path(field);
                        format!("() => {{ {body} }}")
                    }),
                    Duration::from_secs(10),
                )
                .await
                .with_context(|| format!("{range}: no line in the {field} chart"))?;
        }
        let ticks = browser
            .eval(
                "return Array.from(document.querySelectorAll('[data-testid=drilldown] figure[data-chart=aqi] text.xtick')).map(t => t.textContent)",
            )
            .await?;
        let ticks: Vec<String> = serde_json::from_value(ticks)?;
        ensure!(!ticks.is_empty(), "{range}: no time axis");
        ensure!(
            ticks.iter().any(|t| t.contains('/')) == dated,
            "{range}: time axis {ticks:?}"
        );
        if range == "24h" {
            screenshot(&browser, "drilldown-24h.png").await?;
        }
    }
    browser
        .eval("document.querySelector('[data-testid=drilldown-close]').click(); return true")
        .await?;
    browser
        .wait_for(
            "return !document.querySelector('[data-testid=drilldown]')",
            Duration::from_secs(2),
        )
        .await
        .context("the close button left the drill-down open")?;
    browser.check_console("drill-down", &[]).await?;
    Ok(())
}
