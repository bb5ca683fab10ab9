//! The screens in a real browser (headless Chromium on localhost, against the real server
//! with its embedded broker), three figures:
//!
//! 1. **First live tile painted**: from navigation start to the first animation frame after
//!    a tile shows live data (its `data-newest` above 0), for the console (`/`) and the wall
//!    (`/wall/`), the server's live picture holding data before the page opens (a reading of
//!    every source, seen by a websocket client first). Each path is opened `--runs` times in
//!    one logged-in browser (cache warm, about:blank in between) and `--cold-runs` times each
//!    in a new browser (empty cache, no compiled wasm; the session cookie set on a JSON page
//!    first). A script injected before the page's own (DevTools
//!    `Page.addScriptToEvaluateOnNewDocument`) watches the DOM from the document's start:
//!    the tile often has its data before WebDriver's navigation returns (at the load event),
//!    so a probe started only then would give an upper bound; it also stamps the app's start
//!    and its websocket (created, open, first message). Without that script, the probe run
//!    after the navigation measures, and a tile that had data already counts as an upper
//!    bound. The median of each phase (navigation timing, the app's JS and wasm,
//!    `/api/v1/me`, `/api/v1/city`, the websocket) shows where the time goes. Target: 1000 ms.
//! 2. **Wall frame rate under updates**: `/wall/` at each `--sizes` viewport;
//!    `requestAnimationFrame` callbacks counted over `--window-s` seconds on a blank page, on
//!    the idle wall, and in the middle of `--publish-s` seconds of `--rate` readings/s spread
//!    over an air sensor in every area, the preset's air stations, traffic corridors and flood
//!    gauges; the load starts when the wall's rotation turns to a panel of those domains (air,
//!    flood or traffic, whose charts and map layer move with them). Frames/s, the median and
//!    worst gap between frames, frames over 20 ms, long tasks and long animation frames, the
//!    renderer's main-thread time (DevTools `Performance.getMetrics`), the machine's CPU, and
//!    what shows the page was live meanwhile: `data-newest` changes and websocket messages
//!    seen by the page, readings the server accepted. rAF counts the frames the page's main
//!    thread produced (headless Chromium paces them at 60 Hz); it cannot see a slow raster
//!    behind them. Target: 50 frames/s.
//!
//! 3. **The indicators page interactive**: `/indicators/` with all 110 indicators on its board
//!    (the simulator's five years of history published first, then stopped), opened `--runs`
//!    times in one logged-in browser and `--cold-runs` times in new browsers: navigation start
//!    to the first animation frame after the 20 groups show their tallies (watched from the
//!    document's start), then a click on a group to its cards painted and a click on an
//!    indicator to its chart drawn. Target: 1000 ms.
//!
//! Prints JSON on stdout (`summary`: the headline figures against the targets), progress on
//! stderr.
//!
//! ```sh
//! export CARGO_TARGET_DIR=/root/.cache/ioc-target
//! cargo build --release -p ioc-server -p ioc-sim -p ioc-tests --bin ioc-server --bin ioc-sim \
//!   --bin ioc-bench-browser
//! IOC_SERVER_BIN=$CARGO_TARGET_DIR/release/ioc-server IOC_SIM_BIN=$CARGO_TARGET_DIR/release/ioc-sim \
//!   $CARGO_TARGET_DIR/release/ioc-bench-browser
//! ```
//!
//! (`IOC_SIM_BIN`: the simulator publishes the indicators' history for the third figure.)
//!
//! Options: `--only first-tile|frame-rate|indicators` (all three by default), `--runs N` (10) and
//! `--cold-runs N` (3) navigations per path, `--sizes WxH,...` (`1920x1080,3840x2160`),
//! `--rate R` readings/s (200), `--publish-s S` (20), `--window-s S` (10), `--chromium-flags
//! "--flag ..."` (added to the browser's command line, to see what a flag changes).
//! Needs `dist/` (scripts/build-app), chromedriver and Chromium; the areas' outlines (the
//! shared boundary file) are drawn on the map when found. `IOC_SERVER_BIN` names the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ioc_protocol::Domain;
use ioc_protocol::preset::Preset;
use ioc_tests::browser::{Browser, dist_built};
use ioc_tests::indicator_board::{INDICATORS_INIT, INDICATORS_PROBE, ranked_key_indicator};
use ioc_tests::{
    ADMIN_PASSWORD, HCMC_BOUNDARIES, LiveClient, Publisher, Sim, TestServer, args, now_ms,
    shared_data_file,
};
use serde_json::{Value, json};

/// Run in every new document before the page's own scripts: stamps the app's start and its
/// websockets (created, open, first message, messages), and resolves `first_tile` with the
/// first animation frame after a tile has live data.
const INIT_SCRIPT: &str = r#"(() => {
  if (!/^https?:$/.test(location.protocol)) return;
  const b = window.__ioc_bench = { ws: [], app_started: null };
  addEventListener('TrunkApplicationStarted', () => { b.app_started = performance.now(); });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const rec = { created: performance.now(), open: null, first_message: null, messages: 0 };
      b.ws.push(rec);
      this.addEventListener('open', () => { rec.open = performance.now(); });
      this.addEventListener('message', () => {
        rec.messages += 1;
        if (rec.first_message === null) rec.first_message = performance.now();
      });
    }
  };
  const live = () => {
    for (const s of document.querySelectorAll('section[data-testid^="tile-"]')) {
      if (Number(s.getAttribute('data-newest') || 0) > 0) return s.getAttribute('data-testid').slice(5);
    }
    return null;
  };
  b.first_tile = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      const tile = live();
      if (!tile) return;
      obs.disconnect();
      const in_dom = performance.now();
      requestAnimationFrame(() => resolve({ tile, in_dom, frame: performance.now(), exact: true }));
    });
    obs.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-newest'] });
  });
})();"#;

/// Run after the navigation (its load event): hands back the first live tile's times, from
/// the injected script if it ran, else from an observer started now (an upper bound when a
/// tile has data already), with the navigation's and the resources' timings.
const FIRST_TILE_PROBE: &str = r#"const done = arguments[arguments.length - 1];
const live = () => {
  for (const s of document.querySelectorAll('section[data-testid^="tile-"]')) {
    if (Number(s.getAttribute('data-newest') || 0) > 0) return s.getAttribute('data-testid').slice(5);
  }
  return null;
};
const already = live();
const probe_started = performance.now();
const report = first => {
  const n = performance.getEntriesByType('navigation')[0] || {};
  const res = performance.getEntriesByType('resource');
  const end = test => { const e = res.find(e => test(new URL(e.name).pathname)); return e ? e.responseEnd : null; };
  const b = window.__ioc_bench;
  const ws = b && b.ws.length ? b.ws[0] : {};
  done({
    first, already, probe_started,
    phases: {
      response_end: n.responseEnd, dcl_end: n.domContentLoadedEventEnd, load_end: n.loadEventEnd,
      js_end: end(p => /^\/(wall\/)?ioc-(app|wall)-.*\.js$/.test(p)), wasm_end: end(p => p.endsWith('.wasm')),
      me_end: end(p => p === '/api/v1/me'), city_end: end(p => p === '/api/v1/city'),
      app_started: b ? b.app_started : null,
      ws_created: ws.created, ws_open: ws.open, ws_first_message: ws.first_message,
      tile_in_dom: first.in_dom, tile_frame: first.frame, probe_started,
    },
  });
};
if (window.__ioc_bench) {
  window.__ioc_bench.first_tile.then(report);
} else if (already) {
  requestAnimationFrame(() => report({ tile: already, in_dom: null, frame: performance.now(), exact: false }));
} else {
  const obs = new MutationObserver(() => {
    const tile = live();
    if (!tile) return;
    obs.disconnect();
    const in_dom = performance.now();
    requestAnimationFrame(() => report({ tile, in_dom, frame: performance.now(), exact: true }));
  });
  obs.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-newest'] });
}"#;

/// Starts (or restarts) counting: every `requestAnimationFrame` callback's time into
/// `window.__frames`, long tasks, `data-newest` changes; notes where the counters stand.
const FRAMES_START: &str = r#"const f = window.__fr = window.__fr || {};
if (!f.running) {
  f.running = true;
  f.newest_changes = 0;
  f.long_tasks = [];
  const tick = t => { window.__frames.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  f.loafs = [];
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) f.long_tasks.push([e.startTime, e.duration]); })
      .observe({ type: 'longtask' });
    new PerformanceObserver(l => { for (const e of l.getEntries()) f.loafs.push([e.startTime, e.duration]); })
      .observe({ type: 'long-animation-frame' });
  } catch (e) {}
  new MutationObserver(ms => { f.newest_changes += ms.filter(m => m.attributeName === 'data-newest').length; })
    .observe(document, { subtree: true, attributes: true, attributeFilter: ['data-newest'] });
}
const ws = () => window.__ioc_bench ? window.__ioc_bench.ws.reduce((n, r) => n + r.messages, 0) : null;
f.ws = ws;
window.__frames = [];
f.start = performance.now();
f.changes_at_start = f.newest_changes;
f.ws_at_start = ws();
const p = document.querySelector('[data-testid=wall-panel]');
f.panel_at_start = p && p.getAttribute('data-panel');
return true"#;

/// The frames since [`FRAMES_START`], and what changed meanwhile.
const FRAMES_READ: &str = r#"const f = window.__fr;
const end = performance.now();
const ws = f.ws();
const p = document.querySelector('[data-testid=wall-panel]');
const newest = Array.from(document.querySelectorAll('section[data-testid^="tile-"]'))
  .map(s => [s.getAttribute('data-testid').slice(5), Number(s.getAttribute('data-newest') || 0)]);
return {
  start: f.start, end, frames: window.__frames.slice(),
  long_tasks: f.long_tasks.filter(([s]) => s >= f.start && s < end),
  long_animation_frames: f.loafs.filter(([s]) => s >= f.start && s < end),
  newest_changes: f.newest_changes - f.changes_at_start,
  ws_messages: ws === null ? null : ws - f.ws_at_start,
  panels: [f.panel_at_start, p && p.getAttribute('data-panel')],
  newest: Object.fromEntries(newest),
}"#;

/// The wall's panels in turn, each [`WALL_ROTATE_MS`] by the clock (app/src/pages/wall.rs, its
/// default period).
const WALL_PANELS: [&str; 5] = ["air", "flood", "traffic", "complaints", "services"];
const WALL_ROTATE_MS: i64 = 20_000;

/// The start (epoch ms) of the wall's next panel after `after` that shows the domains the
/// benchmark publishes (air, flood, traffic: their charts, the map's layer), and its name.
fn next_data_panel(after: i64) -> (i64, &'static str) {
    let mut slot = after.div_euclid(WALL_ROTATE_MS) + 1;
    loop {
        let panel = WALL_PANELS[slot.rem_euclid(WALL_PANELS.len() as i64) as usize];
        if ["air", "flood", "traffic"].contains(&panel) {
            return (slot * WALL_ROTATE_MS, panel);
        }
        slot += 1;
    }
}

/// A frame longer than this is counted (a 50 frames/s budget).
const LONG_FRAME_MS: f64 = 20.0;
const FIRST_TILE_TARGET_MS: f64 = 1000.0;
const FPS_TARGET: f64 = 50.0;

/// A telemetry source the benchmark publishes as.
#[derive(Debug, Clone)]
struct Source {
    domain: Domain,
    topic: String,
    /// A flood gauge's first alarm level (readings stay well below it).
    bd1_cm: f64,
}

/// Every area's air sensor, the preset's air stations, traffic corridors and flood gauges
/// (the figures of traffic and flooding count the preset's sensors only), the domains
/// interleaved.
fn sources(preset: &Preset) -> Vec<Source> {
    let source = |domain: Domain, area: &str, id: &str, bd1_cm: f64| Source {
        domain,
        topic: format!("ioc/v1/{domain}/{area}/{id}"),
        bd1_cm,
    };
    let env: Vec<Source> = preset
        .areas
        .iter()
        .map(|a| source(Domain::Env, &a.code, "bench-aq", 0.0))
        .chain(
            preset
                .air_stations
                .iter()
                .map(|s| source(Domain::Env, &s.area, &s.id, 0.0)),
        )
        .collect();
    let traffic: Vec<Source> = preset
        .corridors
        .iter()
        .map(|c| source(Domain::Traffic, &c.area, &c.id, 0.0))
        .collect();
    let flood: Vec<Source> = preset
        .flood_gauges
        .iter()
        .map(|g| source(Domain::Flood, &g.area, &g.id, f64::from(g.bd1_cm)))
        .collect();
    let lists = [env, traffic, flood];
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| lists.iter().filter_map(move |l| l.get(i).cloned()))
        .collect()
}

/// The `i`-th reading of a source: real fields of its domain, values that move but stay
/// under the preset's alert rules (AQI 150, congestion 4, a gauge's alarm levels), so that
/// no alert banner comes and goes during the measurement.
fn payload(s: &Source, i: u64, ts: i64) -> String {
    let values = match s.domain {
        Domain::Env => format!(
            r#"{{"pm25_ugm3":{:.1},"aqi":{},"temp_c":{:.1},"humidity_pct":{}}}"#,
            12.0 + (i * 7 % 25) as f64 + 0.5,
            40 + i * 13 % 60,
            27.0 + (i % 6) as f64 * 0.4,
            60 + i % 25
        ),
        Domain::Traffic => format!(
            r#"{{"speed_kmh":{:.1},"congestion":{},"volume_vph":{}}}"#,
            15.0 + (i * 11 % 35) as f64,
            i % 4,
            800 + i * 37 % 900
        ),
        _ => format!(
            r#"{{"water_level_cm":{:.1},"rain_mmh":{:.1}}}"#,
            s.bd1_cm * (0.3 + 0.05 * (i % 8) as f64),
            (i % 5) as f64 * 2.0
        ),
    };
    format!(r#"{{"ts":{ts},"values":{values}}}"#)
}

/// One reading of every source, acknowledged by the broker, then seen by a websocket client.
async fn prime(
    server: &TestServer,
    publisher: &mut Publisher,
    sources: &[Source],
    round: u64,
) -> anyhow::Result<()> {
    let mut live = LiveClient::connect(server).await?;
    let ts = now_ms();
    for s in sources {
        publisher.publish(&s.topic, payload(s, round, ts)).await?;
    }
    publisher
        .wait_acks(sources.len(), Duration::from_secs(10))
        .await?;
    let want: Vec<(Domain, String)> = sources
        .iter()
        .map(|s| {
            let area = s.topic.split('/').nth(3).unwrap_or_default().to_owned();
            (s.domain, area)
        })
        .collect();
    live.wait_for(Duration::from_secs(10), |c| {
        want.iter()
            .all(|k| c.stats.get(k).is_some_and(|st| st.newest_ts >= ts))
    })
    .await
    .context("the live picture did not take the priming readings")?;
    Ok(())
}

/// Publishes `rate` readings/s over `sources` (round-robin) for `during`; how many.
fn publish_load(
    publisher: Publisher,
    sources: Arc<Vec<Source>>,
    rate: u64,
    during: Duration,
) -> tokio::task::JoinHandle<anyhow::Result<(Publisher, u64)>> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = tokio::time::Instant::now();
        let mut n = 0u64;
        while started.elapsed() < during {
            tick.tick().await;
            let s = &sources[n as usize % sources.len()];
            let round = n / sources.len() as u64;
            publisher
                .publish(&s.topic, payload(s, round + 1, now_ms()))
                .await?;
            n += 1;
        }
        Ok((publisher, n))
    })
}

/// Min, median and max, in ms to 0.1.
fn spread(v: &[f64]) -> Value {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_by(f64::total_cmp);
    json!({ "min": round1(v[0]), "median": round1(median(&v)), "max": round1(v[v.len() - 1]) })
}

/// To 0.1 (and never -0).
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The first live tile's figures over several navigations.
#[derive(Debug, Default)]
struct FirstTileRuns {
    painted: Vec<f64>,
    upper_bounds: u64,
    data_when_webdriver_returned: u64,
    tiles: std::collections::BTreeMap<String, u64>,
    phases: std::collections::BTreeMap<String, Vec<f64>>,
}

impl FirstTileRuns {
    /// Opens `url` (the browser on another page) and measures.
    async fn navigate(&mut self, browser: &Browser, url: &str, label: &str) -> anyhow::Result<()> {
        browser.goto(url).await?;
        let r = browser
            .eval_async(FIRST_TILE_PROBE)
            .await
            .with_context(|| format!("{url}: no live tile"))?;
        let frame = r["first"]["frame"]
            .as_f64()
            .with_context(|| format!("{url}: odd probe answer {r}"))?;
        if r["first"]["exact"] != true {
            self.upper_bounds += 1;
        }
        if !r["already"].is_null() {
            self.data_when_webdriver_returned += 1;
        }
        let tile = r["first"]["tile"].as_str().unwrap_or("?");
        *self.tiles.entry(tile.to_owned()).or_default() += 1;
        if let Some(p) = r["phases"].as_object() {
            for (k, v) in p {
                if let Some(v) = v.as_f64() {
                    self.phases.entry(k.clone()).or_default().push(v);
                }
            }
        }
        eprintln!(
            "  {url} {label} run {}: first live tile ({tile}) painted at {frame:.1} ms, \
             load event end {:.1} ms",
            self.painted.len() + 1,
            r["phases"]["load_end"].as_f64().unwrap_or(f64::NAN),
        );
        self.painted.push(frame);
        Ok(())
    }

    fn summary(self) -> Value {
        let phases: serde_json::Map<String, Value> = self
            .phases
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by(f64::total_cmp);
                (k, json!(round1(median(&v))))
            })
            .collect();
        let within = self
            .painted
            .iter()
            .filter(|ms| **ms <= FIRST_TILE_TARGET_MS)
            .count();
        json!({
            "runs": self.painted.len(),
            "first_tile_ms": spread(&self.painted),
            "runs_within_target": within,
            "upper_bound_runs": self.upper_bounds,
            "runs_with_data_before_webdriver_navigation_returned": self.data_when_webdriver_returned,
            "first_tiles": self.tiles,
            "phases_ms_median": phases,
        })
    }
}

/// Installs `script` ([`INIT_SCRIPT`], [`INDICATORS_INIT`]) in every new document; whether it
/// could.
async fn instrument(browser: &Browser, script: &str) -> bool {
    match browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await
    {
        Ok(_) => true,
        Err(e) => {
            eprintln!("cannot inject the timing script ({e}): measuring after the load event");
            false
        }
    }
}

/// A new browser (empty cache, no compiled code) with `script` in every new document and the
/// admin's session: its cookie set on a page of the server that is not the app
/// (`/api/v1/me`, JSON), so that the app's first load is the measured one.
async fn cold_browser(
    server: &TestServer,
    flags: &[&str],
    script: &str,
) -> anyhow::Result<(Browser, bool)> {
    let browser = Browser::start_with_args(1920, 1080, flags).await?;
    let injected = instrument(&browser, script).await;
    browser.goto(&server.url("/api/v1/me")).await?;
    browser
        .eval(&format!(
            "document.cookie = {}; return true",
            serde_json::to_string(&format!(
                "{}; Path=/; SameSite=Strict",
                server.cookie().await?
            ))?
        ))
        .await?;
    Ok((browser, injected))
}

async fn first_tile(
    server: &TestServer,
    flags: &[&str],
    runs: u64,
    cold_runs: u64,
) -> anyhow::Result<Value> {
    let browser = Browser::start_with_args(1920, 1080, flags).await?;
    let mut injected = instrument(&browser, INIT_SCRIPT).await;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    let mut out = serde_json::Map::new();
    let mut errors = Vec::new();
    for path in ["/", "/wall/"] {
        let url = server.url(path);
        let mut by = serde_json::Map::new();
        if cold_runs > 0 {
            eprintln!("first live tile: {path}, {cold_runs} navigations, each in a new browser");
            let mut cold = FirstTileRuns::default();
            for _ in 0..cold_runs {
                let (fresh, ok) = cold_browser(server, flags, INIT_SCRIPT).await?;
                injected &= ok;
                cold.navigate(&fresh, &url, "cold").await?;
                errors.extend(fresh.console_errors().await?);
            }
            by.insert("cold_new_browser".into(), cold.summary());
        }
        eprintln!("first live tile: {path}, {runs} navigations from about:blank, cache warm");
        let mut warm = FirstTileRuns::default();
        for _ in 0..runs {
            browser.goto("about:blank").await?;
            warm.navigate(&browser, &url, "warm").await?;
        }
        by.insert("warm_same_browser".into(), warm.summary());
        out.insert(path.into(), Value::Object(by));
    }
    errors.extend(browser.console_errors().await?);
    out.insert("browser_console_errors".into(), json!(errors));
    out.insert("target_ms".into(), json!(FIRST_TILE_TARGET_MS));
    out.insert("viewport".into(), json!("1920x1080"));
    out.insert(
        "method".into(),
        json!(if injected {
            "navigation start to the first requestAnimationFrame after a tile's data-newest > 0, \
             watched from the document's start (DevTools init script)"
        } else {
            "navigation start to the first requestAnimationFrame after a tile's data-newest > 0, \
             watched from after the load event (upper bound where the tile had data already)"
        }),
    );
    Ok(Value::Object(out))
}

/// Frames/s, worst gap and long frames of a [`FRAMES_READ`] answer, with its other figures.
fn frame_figures(r: &Value) -> anyhow::Result<Value> {
    let start = r["start"].as_f64().context("start")?;
    let end = r["end"].as_f64().context("end")?;
    let frames: Vec<f64> = r["frames"]
        .as_array()
        .context("frames")?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let span_s = (end - start) / 1000.0;
    ensure!(span_s > 0.0, "an empty window");
    // The gaps between frames, and from the window's start and to its end.
    let mut edges = vec![start];
    edges.extend(frames.iter().copied());
    edges.push(end);
    let worst = edges.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let mut between: Vec<f64> = frames.windows(2).map(|w| w[1] - w[0]).collect();
    let long_frames = between.iter().filter(|g| **g > LONG_FRAME_MS).count();
    between.sort_by(f64::total_cmp);
    let durations = |k: &str| -> Vec<f64> {
        r[k].as_array()
            .map(|a| a.iter().filter_map(|t| t[1].as_f64()).collect())
            .unwrap_or_default()
    };
    let long_tasks = durations("long_tasks");
    let loafs = durations("long_animation_frames");
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max).round();
    Ok(json!({
        "window_s": (span_s * 100.0).round() / 100.0,
        "frames": frames.len(),
        "frames_per_s": round1(frames.len() as f64 / span_s),
        "median_frame_ms": if between.is_empty() { Value::Null } else { json!(round1(median(&between))) },
        "worst_gap_ms": round1(worst),
        "frames_over_20ms": long_frames,
        "long_tasks": long_tasks.len(),
        "long_task_ms_max": max(&long_tasks),
        "long_animation_frames": loafs.len(),
        "long_animation_frame_ms_max": max(&loafs),
        "data_newest_changes": r["newest_changes"],
        "ws_messages": r["ws_messages"],
        "wall_panels": r["panels"],
    }))
}

/// The renderer's cumulative main-thread figures (DevTools `Performance.getMetrics`), by name.
async fn renderer_metrics(browser: &Browser) -> Option<std::collections::HashMap<String, f64>> {
    browser.cdp("Performance.enable", json!({})).await.ok()?;
    let m = browser
        .cdp("Performance.getMetrics", json!({}))
        .await
        .ok()?;
    Some(
        m["metrics"]
            .as_array()?
            .iter()
            .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_f64()?)))
            .collect(),
    )
}

/// Counts frames over `window`, with the renderer's main-thread time and the machine's CPU.
async fn frames_over(browser: &Browser, window: Duration) -> anyhow::Result<Value> {
    let m0 = renderer_metrics(browser).await;
    let cpu0 = cpu_ticks();
    browser.eval(FRAMES_START).await?;
    tokio::time::sleep(window).await;
    let r = browser.eval(FRAMES_READ).await?;
    let cpu1 = cpu_ticks();
    let m1 = renderer_metrics(browser).await;
    let mut f = frame_figures(&r)?;
    let span_s = f["window_s"].as_f64().unwrap_or(1.0);
    if let (Some(a), Some(b)) = (m0, m1) {
        let d = |k: &str| b.get(k).zip(a.get(k)).map(|(b, a)| b - a);
        let pct = |k: &str| d(k).map(|s| round1(s / span_s * 100.0));
        f["renderer_main_thread"] = json!({
            "busy_pct": pct("TaskDuration"),
            "script_pct": pct("ScriptDuration"),
            "style_pct": pct("RecalcStyleDuration"),
            "layout_pct": pct("LayoutDuration"),
            "style_recalcs": d("RecalcStyleCount"),
            "layouts": d("LayoutCount"),
        });
    }
    f["machine_cpu_pct"] = cpu_pct(cpu0, cpu1);
    f["tiles_data_newest_at_end"] = r["newest"].clone();
    Ok(f)
}

/// The machine's busy CPU time and all CPU time, in ticks, from /proc/stat.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = n.get(3)? + n.get(4).copied().unwrap_or(0);
    let all: u64 = n.iter().take(8).sum();
    Some((all - idle, all))
}

/// The machine's CPU use between two [`cpu_ticks`], in percent of all its cores.
fn cpu_pct(from: Option<(u64, u64)>, to: Option<(u64, u64)>) -> Value {
    match (from, to) {
        (Some((b0, a0)), Some((b1, a1))) if a1 > a0 => {
            json!(round1((b1 - b0) as f64 * 100.0 / (a1 - a0) as f64))
        }
        _ => Value::Null,
    }
}

struct Load {
    rate: u64,
    publish: Duration,
    window: Duration,
}

async fn wall_frame_rate(
    server: &TestServer,
    sources: &Arc<Vec<Source>>,
    (w, h): (u32, u32),
    flags: &[&str],
    load: &Load,
) -> anyhow::Result<Value> {
    let browser = Browser::start_with_args(w, h, flags).await?;
    instrument(&browser, INIT_SCRIPT).await;
    let user_agent = browser.eval("return navigator.userAgent").await?;

    eprintln!("{w}x{h}: blank page, {:?}", load.window);
    browser.goto("about:blank").await?;
    let blank = frames_over(&browser, load.window).await?;

    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    let mut publisher = Publisher::connect(server.mqtt, &format!("bench-browser-{w}")).await?;
    prime(server, &mut publisher, sources, 0).await?;
    browser.goto(&server.url("/wall/")).await?;
    browser
        .wait_for(
            "const c = document.querySelector('[data-testid=connection]'); \
             return !!document.querySelector('.ioc.wall') && !!c && c.className.includes('conn-live') \
               && ['env', 'traffic', 'flood'].every(t => Number(document.querySelector( \
                 'section[data-testid=tile-' + t + ']')?.getAttribute('data-newest') || 0) > 0)",
            Duration::from_secs(20),
        )
        .await
        .context("the wall never showed live air, traffic and flood data")?;
    let v = browser.eval("return [innerWidth, innerHeight]").await?;
    ensure!(v[0] == w && v[1] == h, "the viewport is {v}, not {w}x{h}");
    // Let the page settle after its first render.
    tokio::time::sleep(Duration::from_secs(2)).await;

    eprintln!("{w}x{h}: idle wall, {:?}", load.window);
    let idle = frames_over(&browser, load.window).await?;

    // The load starts with a panel showing what it updates (its charts, the map's layer).
    let (slot_start, panel) = next_data_panel(now_ms() + 1000);
    eprintln!(
        "{w}x{h}: waiting {:.1} s for the {panel} panel, then {} readings/s for {:?}, frames \
         counted over the middle {:?}",
        (slot_start - now_ms()) as f64 / 1000.0,
        load.rate,
        load.publish,
        load.window
    );
    let accepted = |m: ioc_tests::Metrics| m.value("ioc_ingest_accepted_total");
    let server_cpu = |m: &ioc_tests::Metrics| m.value("process_cpu_seconds_total");
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(slot_start - now_ms()).unwrap_or(0),
    ))
    .await;
    let m0 = server.metrics().await?;
    let (accepted0, server_cpu0) = (accepted(m0.clone())?, server_cpu(&m0)?);
    let started = Instant::now();
    let sender = publish_load(publisher, sources.clone(), load.rate, load.publish);
    let lead = load.publish.saturating_sub(load.window) / 2;
    tokio::time::sleep(lead).await;
    let mut busy = frames_over(&browser, load.window).await?;
    let (mut publisher, published) = sender.await??;
    let publish_took = started.elapsed();
    publisher
        .wait_acks(published as usize, Duration::from_secs(30))
        .await
        .context("the broker did not acknowledge every reading")?;
    let m1 = server.metrics().await?;
    let (accepted1, server_cpu1) = (accepted(m1.clone())?, server_cpu(&m1)?);
    busy["readings_published"] = json!(published);
    busy["readings_per_s_published"] =
        json!((published as f64 / publish_took.as_secs_f64()).round());
    busy["readings_accepted_by_server"] = json!(accepted1 - accepted0);
    busy["server_cpu_pct_of_one_core"] = json!(round1(
        (server_cpu1 - server_cpu0) / publish_took.as_secs_f64() * 100.0
    ));
    let changes = busy["data_newest_changes"].as_u64().unwrap_or(0);
    if changes == 0 {
        eprintln!("{w}x{h}: no data-newest changed during the window: the page was not live");
    }
    let fps = busy["frames_per_s"].as_f64().unwrap_or(0.0);
    let idle_fps = idle["frames_per_s"].as_f64().unwrap_or(0.0);
    let errors = browser.console_errors().await?;
    Ok(json!({
        "viewport": format!("{w}x{h}"),
        "user_agent": user_agent,
        "blank_page": blank,
        "idle_wall": idle,
        "wall_under_updates": busy,
        "target_fps": FPS_TARGET,
        "target_met": fps >= FPS_TARGET && changes > 0,
        "idle_baseline_below_target": idle_fps < FPS_TARGET,
        "browser_console_errors": errors,
    }))
}

/// The headline figures against their targets.
/// One navigation to the indicators page at `url` and [`INDICATORS_PROBE`]'s figures.
async fn measure_indicators(
    browser: &Browser,
    url: &str,
    probe: &str,
    label: &str,
) -> anyhow::Result<Value> {
    browser.goto(url).await?;
    let r = browser.eval_async(probe).await?;
    ensure!(r["error"].is_null(), "{url}: {r}");
    eprintln!(
        "  {url} {label}: groups painted at {:.1} ms; a group's cards {:.1} ms after its click, \
         an indicator's chart {:.1} ms after its",
        r["groups_painted"].as_f64().unwrap_or(f64::NAN),
        r["group_cards_painted_after_click"]
            .as_f64()
            .unwrap_or(f64::NAN),
        r["indicator_chart_painted_after_click"]
            .as_f64()
            .unwrap_or(f64::NAN),
    );
    Ok(r)
}

/// The indicators page (`/indicators/`, all 110 indicators on its board) opened `runs` times
/// in one logged-in browser and `cold_runs` times each in a new one, once the simulator's
/// five years of history are in (the simulator then stopped, the server calm): navigation
/// start to the first frame with the 20 groups and their tallies, then a group opened and an
/// indicator opened by clicks. Target: the groups within 1000 ms of navigation.
async fn indicators_page(
    server: &TestServer,
    flags: &[&str],
    runs: u64,
    cold_runs: u64,
) -> anyhow::Result<Value> {
    eprintln!("indicators: the simulator's five years of history");
    let mut sim = Sim::start_with(
        server.mqtt,
        now_ms() - 2 * 3_600_000,
        &["--speed", "600", "--seed", "7", "--domains", "indicator"],
    )?;
    let (code, group) = ranked_key_indicator(server, Duration::from_secs(300)).await?;
    sim.check_running()?;
    drop(sim);
    let board = server.get_json("/api/v1/indicators/board").await?;
    let indicators = board["indicators"].as_array().map_or(0, Vec::len);
    eprintln!("indicators: {indicators} on the board; group {group} ({code} in it)");
    let probe = INDICATORS_PROBE.replace("__GROUP__", &serde_json::to_string(&group)?);
    let url = server.url("/indicators/");
    let mut runs_out: Vec<(String, Value)> = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..cold_runs {
        let (browser, injected) = cold_browser(server, flags, INDICATORS_INIT).await?;
        ensure!(
            injected,
            "the indicators' timing script could not be injected"
        );
        runs_out.push((
            "cold_new_browser".into(),
            measure_indicators(&browser, &url, &probe, "cold").await?,
        ));
        errors.extend(browser.console_errors().await?);
    }
    let browser = Browser::start_with_args(1920, 1080, flags).await?;
    ensure!(
        instrument(&browser, INDICATORS_INIT).await,
        "the indicators' timing script could not be injected"
    );
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    for _ in 0..runs {
        browser.goto("about:blank").await?;
        runs_out.push((
            "warm_same_browser".into(),
            measure_indicators(&browser, &url, &probe, "warm").await?,
        ));
    }
    errors.extend(browser.console_errors().await?);
    let mut by = serde_json::Map::new();
    let mut summary = serde_json::Map::new();
    let mut all_max: f64 = 0.0;
    for kind in ["cold_new_browser", "warm_same_browser"] {
        let of = |key: &str| -> Vec<f64> {
            runs_out
                .iter()
                .filter(|(k, _)| k == kind)
                .filter_map(|(_, r)| r[key].as_f64())
                .collect()
        };
        let painted = of("groups_painted");
        if painted.is_empty() {
            continue;
        }
        all_max = painted.iter().copied().fold(all_max, f64::max);
        let mut phases = serde_json::Map::new();
        for phase in [
            "response_end",
            "wasm_end",
            "app_started",
            "catalogue_end",
            "board_end",
            "groups_in_dom",
        ] {
            let mut v: Vec<f64> = runs_out
                .iter()
                .filter(|(k, _)| k == kind)
                .filter_map(|(_, r)| r["phases"][phase].as_f64())
                .collect();
            v.sort_by(f64::total_cmp);
            if !v.is_empty() {
                phases.insert(phase.into(), json!(round1(median(&v))));
            }
        }
        let spread_painted = spread(&painted);
        summary.insert(
            format!("{kind}_median_ms"),
            spread_painted["median"].clone(),
        );
        summary.insert(format!("{kind}_max_ms"), spread_painted["max"].clone());
        by.insert(
            kind.into(),
            json!({
                "runs": painted.len(),
                "groups_interactive_ms": spread_painted,
                "group_cards_after_click_ms": spread(&of("group_cards_painted_after_click")),
                "indicator_chart_after_click_ms": spread(&of("indicator_chart_painted_after_click")),
                "phases_ms_median": phases,
            }),
        );
    }
    summary.insert(
        "every_run_within_1000_ms".into(),
        json!(all_max <= FIRST_TILE_TARGET_MS),
    );
    Ok(json!({
        "indicators_on_board": indicators,
        "group_opened": group,
        "by_browser": by,
        "browser_console_errors": errors,
        "target_ms": FIRST_TILE_TARGET_MS,
        "viewport": "1920x1080",
        "method": "navigation start to the first requestAnimationFrame after the 20 groups show \
                   their tallies (DevTools init script from the document's start); then a click \
                   on a group to its cards painted, a click on its first indicator to its chart",
        "summary": summary,
    }))
}

fn summary(report: &serde_json::Map<String, Value>) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(first) = report.get("first_live_tile") {
        for path in ["/", "/wall/"] {
            let mut all_max: f64 = 0.0;
            let mut by = serde_json::Map::new();
            for kind in ["warm_same_browser", "cold_new_browser"] {
                let f = &first[path][kind]["first_tile_ms"];
                if let Some(max) = f["max"].as_f64() {
                    all_max = all_max.max(max);
                    by.insert(format!("{kind}_median_ms"), f["median"].clone());
                    by.insert(format!("{kind}_max_ms"), f["max"].clone());
                }
            }
            by.insert(
                "every_run_within_1000_ms".into(),
                json!(all_max <= FIRST_TILE_TARGET_MS),
            );
            out.insert(format!("first_live_tile {path}"), Value::Object(by));
        }
    }
    if let Some(ind) = report.get("indicators_page") {
        out.insert(
            "indicators page /indicators/".into(),
            ind["summary"].clone(),
        );
    }
    if let Some(fps) = report.get("wall_frame_rate") {
        for (size, r) in fps["by_viewport"].as_object().into_iter().flatten() {
            let busy = &r["wall_under_updates"];
            out.insert(
                format!("wall {size}"),
                json!({
                    "frames_per_s_idle": r["idle_wall"]["frames_per_s"],
                    "frames_per_s_under_updates": busy["frames_per_s"],
                    "worst_gap_ms_under_updates": busy["worst_gap_ms"],
                    "frames_over_20ms_under_updates": busy["frames_over_20ms"],
                    "data_newest_changes_in_window": busy["data_newest_changes"],
                    "ws_messages_in_window": busy["ws_messages"],
                    "at_least_50_frames_per_s": r["target_met"],
                }),
            );
        }
    }
    Value::Object(out)
}

fn parse_sizes(text: &str) -> anyhow::Result<Vec<(u32, u32)>> {
    text.split(',')
        .map(|s| {
            let (w, h) = s
                .trim()
                .split_once('x')
                .with_context(|| format!("--sizes: {s:?} is not WxH"))?;
            Ok((w.parse()?, h.parse()?))
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let only = args::text("--only");
    let (do_first, do_fps, do_indicators) = match only.as_deref() {
        None => (true, true, true),
        Some("first-tile") => (true, false, false),
        Some("frame-rate") => (false, true, false),
        Some("indicators") => (false, false, true),
        Some(other) => bail!("--only {other}: first-tile, frame-rate or indicators"),
    };
    let runs = args::num("--runs", 10)?.max(1);
    let cold_runs = args::num("--cold-runs", 3)?;
    let sizes = parse_sizes(&args::text("--sizes").unwrap_or("1920x1080,3840x2160".into()))?;
    let load = Load {
        rate: args::num("--rate", 200)?.max(1),
        publish: Duration::from_secs(args::num("--publish-s", 20)?.max(1)),
        window: Duration::from_secs(args::num("--window-s", 10)?.max(1)),
    };
    ensure!(
        load.window <= load.publish,
        "--window-s must not be longer than --publish-s"
    );
    let flags_text = args::text("--chromium-flags").unwrap_or_default();
    let flags: Vec<&str> = flags_text.split_whitespace().collect();
    ensure!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/build-app)"
    );

    let boundaries = shared_data_file(HCMC_BOUNDARIES).ok();
    let server = match &boundaries {
        Some(path) => TestServer::start_with(&["--city-boundaries", &path.display().to_string()])?,
        None => {
            eprintln!("no {HCMC_BOUNDARIES}: the map is drawn without the areas' outlines");
            TestServer::start()?
        }
    };
    server.wait_subscribed().await?;
    let sources = Arc::new(sources(&Preset::built_in()));
    eprintln!(
        "server at {}; {} sources (air in every area and the air stations, traffic corridors, flood gauges)",
        server.url("/"),
        sources.len()
    );

    let mut report = serde_json::Map::new();
    report.insert(
        "setup".into(),
        json!({
            "server": "ioc-server, embedded broker, on localhost",
            "map_outlines": boundaries.is_some(),
            "chromium_extra_flags": flags,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        }),
    );
    if do_first {
        let mut publisher = Publisher::connect(server.mqtt, "bench-browser-prime").await?;
        prime(&server, &mut publisher, &sources, 0).await?;
        report.insert(
            "first_live_tile".into(),
            first_tile(&server, &flags, runs, cold_runs).await?,
        );
    }
    if do_fps {
        let mut by_size = serde_json::Map::new();
        for size in sizes {
            let r = wall_frame_rate(&server, &sources, size, &flags, &load).await?;
            by_size.insert(format!("{}x{}", size.0, size.1), r);
        }
        report.insert(
            "wall_frame_rate".into(),
            json!({
                "rate_per_s": load.rate,
                "publish_s": load.publish.as_secs(),
                "window_s": load.window.as_secs(),
                "by_viewport": by_size,
            }),
        );
    }
    if do_indicators {
        report.insert(
            "indicators_page".into(),
            indicators_page(&server, &flags, runs, cold_runs).await?,
        );
    }
    let summary = summary(&report);
    report.insert("summary".into(), summary);
    println!("{}", serde_json::to_string_pretty(&Value::Object(report))?);
    Ok(())
}
