//! In a real browser: an officer opens `/indicators`, a group, an indicator, and sees its
//! chart, its target, the districts ranked and on the map, in Vietnamese and in English, at 1920x1080
//! and at 4K; every figure says the period it belongs to and the day it was reported. The
//! A spreadsheet's revision shows on the page once uploaded. The
//! server is fed by the simulator's indicators alone (`--domains indicator`: five years of
//! history, then each new period). Screenshots go to `docs/screenshots/indicators-*.png`
//! (`IOC_SCREENSHOT_DIR` to put them elsewhere).
//!
//! Needs `dist/` (scripts/build-app), the binaries (`cargo build --workspace --bins`),
//! chromedriver and Chromium (scripts/setup), and the server's
//! `GET /api/v1/indicators/board`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;

use ioc_tests::browser::{Browser, dist_built};
use ioc_tests::indicator_board::ranked_key_indicator;
use ioc_tests::{ADMIN_PASSWORD, Sim, TestServer, now_ms, workspace_root};

const SIZES: [(u32, u32); 2] = [(1920, 1080), (3840, 2160)];

fn screenshot_dir() -> PathBuf {
    std::env::var_os("IOC_SCREENSHOT_DIR")
        .map_or_else(|| workspace_root().join("docs/screenshots"), PathBuf::from)
}

/// The city's latest period and value of `code` on the board.
async fn city_latest(server: &TestServer, code: &str) -> anyhow::Result<(String, f64)> {
    let board = server.get_json("/api/v1/indicators/board").await?;
    let latest = board["indicators"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["indicator"] == code))
        .and_then(|f| f["areas"].as_array())
        .and_then(|a| a.iter().find(|a| a["area"] == "city"))
        .map(|a| a["latest"].clone())
        .context("no city figures")?;
    Ok((
        latest["period"].as_str().context("period")?.to_owned(),
        latest["value"].as_f64().context("value")?,
    ))
}

/// The text of the first element matching `selector`, or "".
async fn text(browser: &Browser, selector: &str) -> anyhow::Result<String> {
    let v = browser
        .eval(&format!(
            "const e = document.querySelector({}); return e ? e.textContent : ''",
            serde_json::to_string(selector)?
        ))
        .await?;
    Ok(v.as_str().unwrap_or_default().trim().to_owned())
}

async fn click(browser: &Browser, selector: &str) -> anyhow::Result<()> {
    let done = browser
        .eval(&format!(
            "const e = document.querySelector({}); if (!e) return false; e.click(); return true",
            serde_json::to_string(selector)?
        ))
        .await?;
    ensure!(done == Value::Bool(true), "nothing to click at {selector}");
    Ok(())
}

async fn wait(browser: &Browser, selector: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            &format!(
                "return !!document.querySelector({})",
                serde_json::to_string(selector)?
            ),
            Duration::from_secs(20),
        )
        .await
        .with_context(|| format!("{selector} never showed"))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_opens_a_group_and_an_indicator_in_both_languages() -> anyhow::Result<()> {
    assert!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/build-app)"
    );
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut sim = Sim::start_with(
        server.mqtt,
        now_ms() - 2 * 3_600_000,
        &["--speed", "600", "--seed", "7", "--domains", "indicator"],
    )?;
    let (code, group) = match ranked_key_indicator(&server, Duration::from_secs(240)).await {
        Ok(found) => found,
        Err(e) => {
            sim.check_running()?;
            return Err(e);
        }
    };
    std::fs::create_dir_all(screenshot_dir())?;

    for (w, h) in SIZES {
        let at = format!("{w}x{h}");
        let browser = Browser::start(w, h).await?;
        browser
            .login(&server.url(""), "admin", ADMIN_PASSWORD)
            .await?;

        // From the console's header to the page.
        click(&browser, "[data-testid=nav-indicators]").await?;
        wait(
            &browser,
            "[data-testid=ind-groups] button.ind-group .ind-tally",
        )
        .await?;
        ensure!(
            text(&browser, ".ind-title").await? == "Chỉ tiêu kinh tế - xã hội",
            "{at}: title {:?}",
            text(&browser, ".ind-title").await?
        );
        let groups = browser
            .eval("return document.querySelectorAll('[data-testid=ind-groups] button.ind-group').length")
            .await?;
        ensure!(groups == 20, "{at}: {groups} groups, not 20");
        let tally = text(&browser, &format!("[data-testid=group-{group}] .ind-tally")).await?;
        ensure!(
            tally.contains("đạt") && tally.contains("nguy cơ") && tally.contains("chậm"),
            "{at}: group tally {tally:?}"
        );
        browser
            .screenshot(&screenshot_dir().join(format!("indicators-groups-{at}.png")))
            .await?;

        // A group: its indicators as cards, each figure with its period and report day.
        click(&browser, &format!("[data-testid=group-{group}]")).await?;
        let card = format!("[data-testid=ind-card-{code}]");
        wait(&browser, &format!("{card} .ind-when")).await?;
        let when = text(&browser, &format!("{card} .ind-when")).await?;
        ensure!(
            when.contains("báo cáo")
                && (when.starts_with("Tháng")
                    || when.starts_with("Quý")
                    || when.starts_with("Năm")),
            "{at}: the card's figure does not say its period and report day: {when:?}"
        );
        ensure!(
            !text(&browser, &format!("{card} .ind-progress-text"))
                .await?
                .is_empty(),
            "{at}: the card has no progress against its target"
        );
        browser
            .wait_for(
                &format!("const p = document.querySelector('{card} svg.ind-spark path'); return !!p && (p.getAttribute('d') || '').length > 10"),
                Duration::from_secs(20),
            )
            .await
            .with_context(|| format!("{at}: no sparkline"))?;
        browser
            .screenshot(&screenshot_dir().join(format!("indicators-group-{at}.png")))
            .await?;

        // The indicator: its chart with the target line, the districts ranked, the revisions.
        click(&browser, &format!("{card} button.ind-card-name")).await?;
        wait(&browser, "[data-testid=ind-chart] path.ind-line-this").await?;
        browser
            .wait_for(
                "const p = document.querySelector('[data-testid=ind-chart] path.ind-line-this'); \
                 return (p.getAttribute('d') || '').startsWith('M') && !!document.querySelector('[data-testid=chart-target]')",
                Duration::from_secs(20),
            )
            .await
            .with_context(|| format!("{at}: the chart has no line or no target"))?;
        ensure!(
            text(&browser, "[data-testid=ind-target]")
                .await?
                .starts_with("Chỉ tiêu năm:"),
            "{at}: no year's target"
        );
        let ranks = browser
            .eval("return [...document.querySelectorAll('[data-testid=ind-ranks] tbody tr td:first-child')].map(t => t.textContent)")
            .await?;
        let ranks: Vec<String> = serde_json::from_value(ranks)?;
        ensure!(ranks.len() >= 5, "{at}: {} ranked areas", ranks.len());
        ensure!(
            ranks[0].starts_with("1/"),
            "{at}: the first rank is {:?}",
            ranks[0]
        );
        // The map layer: the districts coloured by their progress, as many as are ranked.
        let coloured = browser
            .eval("return document.querySelectorAll('[data-testid=ind-map] svg [data-area].st-on-track, [data-testid=ind-map] svg [data-area].st-at-risk, [data-testid=ind-map] svg [data-area].st-behind').length")
            .await?;
        ensure!(
            coloured.as_u64().unwrap_or(0) + 1 >= ranks.len() as u64,
            "{at}: {coloured} districts coloured on the map, {} ranked",
            ranks.len()
        );
        wait(&browser, "[data-testid=ind-revisions] tbody tr").await?;
        browser
            .screenshot(&screenshot_dir().join(format!("indicators-detail-vi-{at}.png")))
            .await?;

        // A spreadsheet revises the city's latest value: once uploaded, the page (opened
        // again) shows the new value and the revision sent by the file.
        let before = text(&browser, "[data-testid=ind-headline] .ind-card-value").await?;
        let (period, value) = city_latest(&server, &code).await?;
        let revised = (value * 1.01 * 100.0).round() / 100.0;
        let csv = format!("indicator,area,period,value\r\n{code},city,{period},{revised}\r\n");
        let r = reqwest::Client::new()
            .post(server.url("/api/v1/indicators/import"))
            .header("cookie", server.cookie().await?)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        ensure!(
            r.status().is_success(),
            "{at}: the import: {}",
            r.text().await?
        );
        browser
            .goto(&server.url(&format!("/indicators/?indicator={code}")))
            .await?;
        browser
            .wait_for(
                "return [...document.querySelectorAll('[data-testid=ind-revisions] tbody tr')].some(r => r.textContent.includes('Tệp nhập'))",
                Duration::from_secs(20),
            )
            .await
            .with_context(|| format!("{at}: the imported revision is not on the page"))?;
        let after = text(&browser, "[data-testid=ind-headline] .ind-card-value").await?;
        ensure!(
            after != before,
            "{at}: the headline still shows {before:?} after the import of {revised}"
        );

        // In English: the same page, its words and its numbers.
        click(&browser, "[data-testid=lang-switch]").await?;
        browser
            .wait_for(
                "const t = document.querySelector('.ind-title'); return !!t && t.textContent === 'Socio-economic indicators'",
                Duration::from_secs(5),
            )
            .await
            .with_context(|| format!("{at}: no English title"))?;
        let headline = text(&browser, "[data-testid=ind-headline] .ind-when").await?;
        ensure!(headline.contains("reported"), "{at}: headline {headline:?}");
        ensure!(
            text(&browser, "[data-testid=ind-target]")
                .await?
                .starts_with("Year's target:"),
            "{at}: no English target"
        );
        ensure!(
            text(&browser, ".ind-ranks-box h4").await? == "Ranking",
            "{at}: no English ranking"
        );
        browser
            .screenshot(&screenshot_dir().join(format!("indicators-detail-en-{at}.png")))
            .await?;
        // Back to Vietnamese for the next size (the language is remembered per browser).
        click(&browser, "[data-testid=lang-switch]").await?;
        browser.check_console(&at, &[]).await?;
    }
    sim.check_running()?;
    Ok(())
}
