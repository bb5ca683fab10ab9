//! Alerts in a real browser: a flood gauge past its alarm level 3 raises a critical alert
//! (and a warning at level 2); a duty officer sees it in the console's alerts panel,
//! acknowledges it with a note, and the server has it acknowledged by them with that note. A
//! failed action says why; the wall shows a banner while the critical alert is active, and
//! the map marks the area; resolving and closing it takes the banner away.
//!
//! Needs `dist/` (scripts/build-app; the test fails without it), the server binary (`cargo build --workspace --bins`),
//! chromedriver and Chromium (scripts/setup).

use std::time::Duration;

use anyhow::{Context, ensure};

use ioc_tests::browser::{Browser, dist_built};
use ioc_tests::{ADMIN_PASSWORD, Publisher, TestServer, now_ms};

/// The gauge `fg-phu-an` of the preset (Bình Thạnh): BĐ2 150 cm, BĐ3 160 cm.
const TOPIC: &str = "ioc/v1/flood/binh-thanh/fg-phu-an";
const AREA: &str = "binh-thanh";
const NOTE: &str = "Đã cử đội ứng trực đến trạm Phú An";
/// The row of an alert in the console's panel, as a JavaScript expression.
fn row(id: u64) -> String {
    format!("document.querySelector('#alerts-panel .alert-row[data-id=\"{id}\"]')")
}

/// Clicks the button `class` of an alert's row, types `note` in the form it opens, and
/// confirms.
async fn act(browser: &Browser, id: u64, class: &str, note: &str) -> anyhow::Result<()> {
    let r = row(id);
    browser
        .eval(&format!(
            "{r}.querySelector('.{class}').click(); return true"
        ))
        .await
        .with_context(|| format!("no .{class} in the row of alert {id}"))?;
    browser
        .wait_for(
            &format!("return !!{r}.querySelector('.alert-note')"),
            Duration::from_secs(2),
        )
        .await
        .with_context(|| format!(".{class} opened no .alert-note"))?;
    // Typed as a user would: the value, then an `input` event.
    browser
        .eval(&format!(
            "const i = {r}.querySelector('.alert-note'); i.focus(); i.value = {}; \
             i.dispatchEvent(new Event('input', {{ bubbles: true }})); \
             {r}.querySelector('.alert-confirm').click(); return true",
            serde_json::to_string(note)?
        ))
        .await?;
    Ok(())
}

/// Waits until an alert's row is in `state`; returns its text.
async fn wait_state(browser: &Browser, id: u64, state: &str) -> anyhow::Result<String> {
    let r = row(id);
    let text = browser
        .wait_for(
            &format!("const r = {r}; return !!r && r.dataset.state === '{state}' && r.textContent"),
            Duration::from_secs(5),
        )
        .await
        .with_context(|| format!("the row of alert {id} did not turn {state}"))?;
    Ok(text.as_str().unwrap_or_default().to_owned())
}

async fn text_of(browser: &Browser, selector: &str) -> anyhow::Result<String> {
    let v = browser
        .eval(&format!(
            "const e = document.querySelector('{selector}'); return e ? e.textContent : null"
        ))
        .await?;
    Ok(v.as_str().unwrap_or_default().trim().to_owned())
}

/// The refused acknowledgement the test provokes on purpose shows in the console as a 409.
const REFUSED: &[&str] = &["409"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_acknowledges_a_critical_alert_in_the_browser() -> anyhow::Result<()> {
    assert!(
        dist_built(),
        "dist/ is missing: build the app first (scripts/setup builds it)"
    );
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let browser = Browser::start(1920, 1080).await?;
    browser
        .login(&server.url(""), "admin", ADMIN_PASSWORD)
        .await?;
    browser.goto(&server.url("/")).await?;
    browser
        .wait_for(
            "const c = document.querySelector('[data-testid=connection]'); \
             return !!c && c.className.includes('conn-live') && !!document.querySelector('#alerts-panel')",
            Duration::from_secs(15),
        )
        .await
        .context("the console never showed its alerts panel, live")?;
    ensure!(
        text_of(&browser, "#alerts-critical").await? == "0",
        "a critical alert before any reading"
    );

    // 165 cm: past BĐ3 (160) and BĐ2 (150) at once.
    let publisher = Publisher::connect(server.mqtt, "alerts-browser-test").await?;
    publisher
        .publish(
            TOPIC,
            format!(
                r#"{{"ts":{},"values":{{"water_level_cm":165,"rain_mmh":42}}}}"#,
                now_ms()
            ),
        )
        .await?;
    let ids = browser
        .wait_for(
            "const id = s => { const r = document.querySelector(`#alerts-panel .alert-row.sev-${s}[data-state=open]`); \
               return r && Number(r.dataset.id); }; \
             const c = id('critical'), w = id('warning'); return c && w && [c, w]",
            Duration::from_secs(10),
        )
        .await
        .context("no open critical and warning alerts in the panel after the reading")?;
    let (critical, warning) = (
        ids[0].as_u64().context("critical id")?,
        ids[1].as_u64().context("warning id")?,
    );
    // The list is in the screens' order: the critical alert first.
    let first = browser
        .eval("return Number(document.querySelector('#alerts-panel .alert-row').dataset.id)")
        .await?;
    ensure!(
        first == critical,
        "the first row is {first}, not the critical alert {critical}"
    );
    let text = wait_state(&browser, critical, "open").await?;
    for want in [
        "Nghiêm trọng",
        "Mực nước đạt Báo động 3",
        "Quận Bình Thạnh",
        "Trạm Phú An",
        "165 cm (ngưỡng 160 cm)",
        "Mới",
        "giây trước",
    ] {
        ensure!(
            text.contains(want),
            "the critical row lacks {want:?}: {text:?}"
        );
    }
    ensure!(text_of(&browser, "#alerts-critical").await? == "1");
    ensure!(text_of(&browser, "#alerts-open").await? == "2");

    // Acknowledge, with a note.
    act(&browser, critical, "alert-ack", NOTE).await?;
    let text = wait_state(&browser, critical, "acknowledged").await?;
    ensure!(
        text.contains("Đã xác nhận · admin") && text.contains(NOTE),
        "the acknowledged row does not say who and why: {text:?}"
    );
    browser
        .wait_for(
            &format!("return !{}.querySelector('.alert-form')", row(critical)),
            Duration::from_secs(2),
        )
        .await
        .context("the note form stayed open after the acknowledgement")?;
    let answer = server
        .get_json(&format!("/api/v1/alerts/{critical}"))
        .await?;
    let alert = &answer["alert"];
    ensure!(
        alert["state"] == "acknowledged" && alert["acked_by"] == "admin" && alert["note"] == NOTE,
        "the server's alert is not acknowledged by admin with the note: {answer}"
    );
    ensure!(
        answer["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["action"] == "acknowledged")),
        "no acknowledgement among the alert's events: {answer}"
    );
    ensure!(
        text_of(&browser, "#alerts-critical").await? == "1",
        "an acknowledged critical alert still counts"
    );

    // Someone else acknowledges the warning while this officer writes a note: the screen
    // says why the action failed, and keeps the form.
    let r = row(warning);
    browser
        .eval(&format!(
            "{r}.querySelector('.alert-ack').click(); return true"
        ))
        .await?;
    browser
        .wait_for(
            &format!("return !!{r}.querySelector('.alert-note')"),
            Duration::from_secs(2),
        )
        .await?;
    let other = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/alerts/{warning}/ack")))
        .header(reqwest::header::COOKIE, server.cookie().await?)
        .json(&serde_json::json!({ "note": "" }))
        .send()
        .await?;
    ensure!(
        other.status().is_success(),
        "ack by the API: {}",
        other.status()
    );
    browser
        .eval(&format!(
            "{r}.querySelector('.alert-confirm').click(); return true"
        ))
        .await?;
    let error = browser
        .wait_for(
            &format!("const e = {r}.querySelector('.alert-error'); return !!e && e.textContent.length > 0 && e.textContent"),
            Duration::from_secs(5),
        )
        .await
        .context("no .alert-error after a refused acknowledgement")?;
    ensure!(
        error
            .as_str()
            .unwrap_or_default()
            .starts_with("Không thực hiện được"),
        "the error says {error}"
    );
    browser
        .eval(&format!(
            "{r}.querySelector('.alert-cancel').click(); return true"
        ))
        .await?;
    browser.check_console("console", REFUSED).await?;

    // The wall: the banner, over the header, and the area's mark on the flood map; the page
    // still fits its screen.
    browser.goto(&server.url("/wall?panel=flood")).await?;
    let banner = browser
        .wait_for(
            "const b = document.querySelector('#wall-alert-banner'); \
             return !!b && b.getBoundingClientRect().height > 0 && b.textContent",
            Duration::from_secs(15),
        )
        .await
        .context("no #wall-alert-banner on the wall")?;
    let banner = banner.as_str().unwrap_or_default();
    ensure!(
        banner.contains("1 cảnh báo nghiêm trọng")
            && banner.contains("Mực nước đạt Báo động 3")
            && banner.contains("Quận Bình Thạnh"),
        "the banner says {banner:?}"
    );
    let mark = browser
        .wait_for(
            &format!(
                "const m = document.querySelector('[data-testid=map] .alert-mark[data-alert-area={AREA}]'); \
                 return !!m && [m.getAttribute('data-count'), m.getAttribute('class')]"
            ),
            Duration::from_secs(10),
        )
        .await
        .context("no alert mark on the flood map")?;
    ensure!(
        mark[0] == "2"
            && mark[1]
                .as_str()
                .unwrap_or_default()
                .contains("sev-critical"),
        "the area's mark is {mark}"
    );
    browser
        .check_no_scrolling("the wall with its banner")
        .await?;
    browser.check_console("wall", REFUSED).await?;

    // Resolved, then closed, from the console: the banner goes.
    browser.goto(&server.url("/")).await?;
    browser
        .wait_for(
            &format!("return !!{}", row(critical)),
            Duration::from_secs(15),
        )
        .await?;
    act(&browser, critical, "alert-resolve", "Nước đã rút").await?;
    wait_state(&browser, critical, "resolved").await?;
    ensure!(text_of(&browser, "#alerts-critical").await? == "0");
    act(&browser, critical, "alert-close", "").await?;
    browser
        .wait_for(
            &format!("return !{}", row(critical)),
            Duration::from_secs(5),
        )
        .await
        .context("a closed alert stayed in the list")?;
    browser.goto(&server.url("/wall")).await?;
    browser
        .wait_for(
            "const c = document.querySelector('[data-testid=connection]'); \
             return !!c && c.className.includes('conn-live')",
            Duration::from_secs(15),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gone = browser
        .eval("return !document.querySelector('#wall-alert-banner')")
        .await?;
    ensure!(
        gone == true,
        "the wall still shows a banner with no critical alert"
    );
    browser.check_console("wall, after", REFUSED).await?;
    Ok(())
}
