//! The indicators' board as the browser test and the browser benchmark wait for it: the
//! simulator's five years of history in, this year's figures on the board.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::TestServer;

/// The first key indicator reported for the districts with a city target and a city value of
/// this year's months on the board: (its code, its group's code), once the simulator's
/// history is in.
pub async fn ranked_key_indicator(
    server: &TestServer,
    within: Duration,
) -> anyhow::Result<(String, String)> {
    let catalogue = server.get_json("/api/v1/indicators/catalogue").await?;
    let recent_year = (chrono::Utc::now() + chrono::Duration::hours(7)
        - chrono::Duration::days(120))
    .format("%Y")
    .to_string();
    let deadline = Instant::now() + within;
    loop {
        let board = server.get_json("/api/v1/indicators/board").await;
        if let Ok(board) = board {
            for key in catalogue["key_indicators"].as_array().into_iter().flatten() {
                let Some(f) = board["indicators"]
                    .as_array()
                    .and_then(|l| l.iter().find(|f| f["indicator"] == *key))
                else {
                    continue;
                };
                let areas = f["areas"].as_array().cloned().unwrap_or_default();
                // The history is in once the city's latest period is of the year 120 days
                // ago (this year's months, not 2023's while the history still arrives).
                let city_ready = areas.iter().any(|a| {
                    a["area"] == "city"
                        && a["target"].is_number()
                        && a["latest"]["period"]
                            .as_str()
                            .is_some_and(|p| p.starts_with(&recent_year))
                });
                let ranked = areas.iter().filter(|a| a["rank"].is_object()).count();
                if city_ready && ranked >= 5 {
                    return Ok((
                        key.as_str().unwrap_or_default().to_owned(),
                        f["group"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "no key indicator with a city value, a target and ranked districts after {within:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Run in every new document before the page's own scripts (DevTools
/// `Page.addScriptToEvaluateOnNewDocument`): resolves `window.__ioc_ind` with the first
/// animation frame after the indicators page shows its 20 groups, each with its tally (the
/// board of all 110 indicators read, the page's one click handler in place), and stamps the
/// app's start.
pub const INDICATORS_INIT: &str = r#"(() => {
  if (!/^https?:$/.test(location.protocol)) return;
  const b = window.__ioc_ind_stamps = { app_started: null };
  addEventListener('TrunkApplicationStarted', () => { b.app_started = performance.now(); });
  const ready = () => document.querySelectorAll('[data-testid=ind-groups] button.ind-group .ind-tally').length >= 20;
  window.__ioc_ind = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      if (!ready()) return;
      obs.disconnect();
      const in_dom = performance.now();
      requestAnimationFrame(() => resolve({ in_dom, frame: performance.now() }));
    });
    obs.observe(document, { subtree: true, childList: true });
  });
})();"#;

/// Run after the navigation: the groups' paint (from [`INDICATORS_INIT`]), the phases of the
/// load, then a click on the group named by `__GROUP__` and the frame its cards are
/// painted in, then a click on its first indicator and the frame its detail's chart is drawn
/// in (both from the click).
pub const INDICATORS_PROBE: &str = r#"const group = __GROUP__;
const done = arguments[arguments.length - 1];
const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
const until = (test) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const poll = () => {
    if (test()) { resolve(); return; }
    if (performance.now() - t0 > 20000) { reject(new Error('timeout')); return; }
    setTimeout(poll, 5);
  };
  poll();
});
(async () => {
  const first = await window.__ioc_ind;
  const n = performance.getEntriesByType('navigation')[0] || {};
  const res = performance.getEntriesByType('resource');
  const end = test => { const e = res.find(e => test(new URL(e.name).pathname)); return e ? e.responseEnd : null; };
  const wasm = res.find(e => new URL(e.name).pathname.endsWith('.wasm'));
  const out = {
    groups_painted: first.frame,
    phases: {
      response_end: n.responseEnd, dcl_end: n.domContentLoadedEventEnd, load_end: n.loadEventEnd,
      wasm_end: wasm ? wasm.responseEnd : null,
      app_started: window.__ioc_ind_stamps ? window.__ioc_ind_stamps.app_started : null,
      catalogue_end: end(p => p === '/api/v1/indicators/catalogue'),
      board_end: end(p => p === '/api/v1/indicators/board'),
      groups_in_dom: first.in_dom,
    },
    wasm_transfer_bytes: wasm ? wasm.transferSize : null,
  };
  let t = performance.now();
  document.querySelector(`[data-testid=group-${group}]`).click();
  await until(() => document.querySelectorAll('[data-testid=ind-cards] .ind-card .ind-when').length > 0);
  out.group_cards_painted_after_click = (await frame()) - t;
  out.group_cards = document.querySelectorAll('[data-testid=ind-cards] .ind-card').length;
  t = performance.now();
  document.querySelector('[data-testid=ind-cards] .ind-card button.ind-card-name').click();
  await until(() => !!document.querySelector('[data-testid=ind-chart] path.ind-line-this'));
  out.indicator_chart_painted_after_click = (await frame()) - t;
  done(out);
})().catch(e => done({ error: String(e) }));"#;
