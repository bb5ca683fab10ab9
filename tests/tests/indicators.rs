//! The socio-economic indicators end to end, against the real `ioc-server`: an MQTT report
//! stored before its PUBACK and readable through the API (also after `kill -9`); revisions
//! kept with who sent them and when, the latest counting; every kind of bad value refused
//! with a clear error and nothing stored; the `reporter` role held to its unit; targets set
//! by an admin; a 2,000-row CSV and a 2,000-row XLSX with three bad rows each (the dry run
//! names them, the real upload stores nothing, the clean upload stores all); and the
//! InfluxDB backend's points, against VictoriaMetrics.
//!
//! Run against an InfluxDB 2 (`IOC_TEST_INFLUXDB_URL`, see `ioc_tests::influxdb`), every
//! server here stores there, and the reads go through Flux.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use ioc_protocol::indicator::{
    Catalogue, ImportAnswer, Level, Period, Periodicity, Report, RevisionsAnswer, SeriesAnswer,
    SubmitAnswer, Way,
};
use ioc_tests::victoria::Victoria;
use ioc_tests::xlsx::{self, Cell};
use ioc_tests::{Publisher, TestServer, bin_path, login, now_ms};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A month that has begun and ended: last month.
fn last_month() -> Period {
    Periodicity::Month
        .period_at(now_ms())
        .prev()
        .expect("a month before this one")
}

async fn post_json(
    server: &TestServer,
    cookie: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<(StatusCode, Value)> {
    let r = reqwest::Client::new()
        .post(server.url(path))
        .header("cookie", cookie)
        .json(body)
        .send()
        .await?;
    Ok((r.status(), r.json().await?))
}

async fn upload(
    server: &TestServer,
    cookie: &str,
    query: &str,
    content_type: &str,
    file: Vec<u8>,
) -> anyhow::Result<(StatusCode, ImportAnswer)> {
    let r = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/indicators/import{query}")))
        .header("cookie", cookie)
        .header("content-type", content_type)
        .body(file)
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    let answer = serde_json::from_str(&text).with_context(|| format!("{status}: {text}"))?;
    Ok((status, answer))
}

async fn series(server: &TestServer, indicator: &str, area: &str) -> anyhow::Result<SeriesAnswer> {
    Ok(serde_json::from_value(
        server
            .get_json(&format!(
                "/api/v1/indicators/values?indicator={indicator}&area={area}"
            ))
            .await?,
    )?)
}

async fn revisions(
    server: &TestServer,
    indicator: &str,
    area: &str,
    period: Period,
) -> anyhow::Result<RevisionsAnswer> {
    Ok(serde_json::from_value(
        server
            .get_json(&format!(
                "/api/v1/indicators/revisions?indicator={indicator}&area={area}&period={period}"
            ))
            .await?,
    )?)
}

/// `ioc-server user add NAME --role ROLE [--unit UNIT]`: the password, or what it said.
fn add_user(
    server: &TestServer,
    name: &str,
    role: &str,
    unit: Option<&str>,
) -> Result<String, String> {
    let mut cmd = std::process::Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"));
    cmd.arg("--data-dir")
        .arg(server.data_dir.path())
        .args(["user", "add", name, "--role", role]);
    if let Some(u) = unit {
        cmd.args(["--unit", u]);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(text
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_report_is_stored_before_its_puback_and_survives_a_crash() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let month = last_month();
    let mut unit = Publisher::connect(server.mqtt, "gw-q1-indicators").await?;
    let reported = now_ms() - 5_000;
    let report = Report {
        ts: reported,
        period: month,
        values: [
            ("budget_revenue".to_owned(), 812.5),
            ("online_dossier_share".to_owned(), 91.2),
        ]
        .into(),
    };
    unit.publish("ioc/v1/indicator/q1/q1", report.encode())
        .await?;
    unit.wait_acks(1, WAIT).await?;
    // Acknowledged means stored: read at once, no waiting.
    let s = series(&server, "online_dossier_share", "q1").await?;
    ensure!(s.points.len() == 1, "{s:?}");
    let p = &s.points[0];
    assert_eq!((p.period, p.value, p.revisions), (month, 91.2, 1));
    assert_eq!(
        (p.by.as_str(), p.way, p.reported_ms),
        ("q1", Way::Mqtt, reported)
    );

    // A report with an unknown indicator: acknowledged (QoS 1 is never left hanging), counted,
    // and nothing of it stored.
    let bad = Report {
        ts: reported,
        period: month,
        values: [
            ("budget_revenue".to_owned(), 999.0),
            ("grdp_typo".to_owned(), 1.0),
        ]
        .into(),
    };
    unit.publish("ioc/v1/indicator/q1/q1", bad.encode()).await?;
    unit.wait_acks(1, WAIT).await?;
    let m = server.metrics().await?;
    assert_eq!(
        m.value(r#"ioc_indicator_refused_total{way="mqtt",reason="unknown_indicator"}"#)?,
        1.0
    );
    assert_eq!(m.value(r#"ioc_indicator_values_total{way="mqtt"}"#)?, 2.0);
    drop(unit);

    let server = server.crash_and_restart()?;
    let s = series(&server, "budget_revenue", "q1").await?;
    assert_eq!(s.points.len(), 1, "{s:?}");
    assert_eq!(
        s.points[0].value, 812.5,
        "the refused report changed nothing"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_keeps_both_values_with_who_and_when_and_the_latest_counts() -> anyhow::Result<()>
{
    let server = TestServer::start()?;
    let admin = server.cookie().await?;
    let password =
        add_user(&server, "reporter.q3", "reporter", Some("q3")).map_err(anyhow::Error::msg)?;
    let reporter = login(server.http, "reporter.q3", &password).await?;
    let month = last_month();
    let item = |v: f64| json!([{"indicator": "budget_revenue", "area": "q3", "period": month, "value": v}]);

    let before = now_ms();
    let (status, first) = post_json(&server, &reporter, "/api/v1/indicators", &item(640.0)).await?;
    assert_eq!(status, StatusCode::OK, "{first}");
    let answer: SubmitAnswer = serde_json::from_value(first)?;
    assert_eq!((answer.stored, answer.problems.len()), (1, 0));
    let (status, second) = post_json(&server, &admin, "/api/v1/indicators", &item(655.25)).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    let after = now_ms();

    let s = series(&server, "budget_revenue", "q3").await?;
    assert_eq!(s.points.len(), 1);
    let p = &s.points[0];
    assert_eq!((p.value, p.revisions, p.by.as_str()), (655.25, 2, "admin"));
    let r = revisions(&server, "budget_revenue", "q3", month).await?;
    let seen: Vec<(f64, &str, Way, &str)> = r
        .revisions
        .iter()
        .map(|r| (r.value, r.by.as_str(), r.way, r.unit.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (640.0, "reporter.q3", Way::Api, "q3"),
            (655.25, "admin", Way::Api, "q3")
        ]
    );
    ensure!(
        r.revisions
            .iter()
            .all(|x| (before..=after).contains(&x.received_ms)),
        "received times {:?} outside {before}..{after}",
        r.revisions
    );
    ensure!(r.revisions[0].received_ms <= r.revisions[1].received_ms);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_bad_value_is_named_and_nothing_is_stored() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let admin = server.cookie().await?;
    let month = last_month();
    let next_year = Period::of_year(month.year() + 2)?.to_string();
    let future_month = Period::of_month(month.year() + 1, 1)?;
    let body = json!([
        {"indicator": "budget_revenue", "area": "q1", "period": month, "value": 700.0},
        {"indicator": "grdp_typo", "area": "city", "period": month, "value": 7.0},
        {"indicator": "budget_revenue", "area": "q1", "period": format!("{}-Q1", month.year()), "value": 7.0},
        {"indicator": "online_dossier_share", "area": "q1", "period": month, "value": 120.0},
        {"indicator": "grdp_growth", "area": "q1", "period": format!("{}-Q1", month.year()), "value": 7.0},
        {"indicator": "budget_revenue", "area": "q1", "period": future_month, "value": 7.0},
        {"indicator": "population", "area": "q1", "period": next_year, "value": "many"},
    ]);
    let (status, answer) = post_json(&server, &admin, "/api/v1/indicators", &body).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let answer: SubmitAnswer = serde_json::from_value(answer)?;
    assert_eq!(answer.stored, 0);
    assert_eq!(
        answer.error.as_deref(),
        Some("6 of the 7 values are refused; nothing was stored")
    );
    let reasons: Vec<(usize, &str)> = answer
        .problems
        .iter()
        .map(|p| (p.index, p.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "unknown_indicator"),
            (2, "wrong_periodicity"),
            (3, "out_of_range"),
            (4, "area_not_reported"),
            (5, "future_period"),
            (6, "bad_value"),
        ]
    );
    let said: Vec<&str> = answer.problems.iter().map(|p| p.error.as_str()).collect();
    assert!(
        said[0].contains("\"grdp_typo\" is not an indicator"),
        "{said:?}"
    );
    assert!(
        said[1].contains("budget_revenue is reported each month"),
        "{said:?}"
    );
    assert!(
        said[2].contains("120 % is not a plausible value of online_dossier_share (0 to 100)"),
        "{said:?}"
    );
    assert!(
        said[3].contains("grdp_growth is not reported for \"q1\", a district"),
        "{said:?}"
    );
    assert!(said[4].contains("has not begun"), "{said:?}");
    // The one good value was not stored either.
    assert!(
        series(&server, "budget_revenue", "q1")
            .await?
            .points
            .is_empty()
    );
    let m = server.metrics().await?;
    assert_eq!(
        m.value(r#"ioc_indicator_refused_total{way="api",reason="out_of_range"}"#)?,
        1.0
    );
    assert_eq!(m.value(r#"ioc_indicator_values_total{way="api"}"#)?, 0.0);

    // A body that is not a list at all.
    let (status, answer) =
        post_json(&server, &admin, "/api/v1/indicators", &json!({"value": 1})).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("JSON array"),
        "{answer}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_submits_for_its_unit_alone_and_admins_set_targets() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let admin = server.cookie().await?;
    // The command line refuses a reporter without a unit, and a unit that reports nothing.
    let e = add_user(&server, "nobody", "reporter", None).unwrap_err();
    assert!(e.contains("give it with --unit"), "{e}");
    let e = add_user(&server, "nobody", "reporter", Some("q99")).unwrap_err();
    assert!(e.contains("\"q99\" reports no indicator"), "{e}");
    let password =
        add_user(&server, "thu.q1", "reporter", Some("q1")).map_err(anyhow::Error::msg)?;
    let reporter = login(server.http, "thu.q1", &password).await?;
    let viewer_pw = add_user(&server, "an.viewer", "viewer", None).map_err(anyhow::Error::msg)?;
    let viewer = login(server.http, "an.viewer", &viewer_pw).await?;
    let month = last_month();
    let of = |area: &str| json!([{"indicator": "online_dossier_share", "area": area, "period": month, "value": 88.0}]);

    let (status, a) = post_json(&server, &reporter, "/api/v1/indicators", &of("q1")).await?;
    assert_eq!(status, StatusCode::OK, "{a}");
    let (status, a) = post_json(&server, &reporter, "/api/v1/indicators", &of("q3")).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{a}");
    assert_eq!(a["problems"][0]["reason"], "not_reporting_unit");
    assert!(
        a["problems"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unit \"q1\" may not report online_dossier_share for \"q3\""),
        "{a}"
    );
    // A city-level figure is its reporting office's, not a district's.
    let (status, _) = post_json(&server, &reporter, "/api/v1/indicators", &of("city")).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A spreadsheet is held to the same unit.
    let csv = format!("indicator,area,period,value\nonline_dossier_share,q3,{month},80\n");
    let (status, a) = upload(&server, &reporter, "", "text/csv", csv.into_bytes()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (a.problems[0].line, a.problems[0].reason.as_str()),
        (2, "not_reporting_unit")
    );
    // A viewer may read, not submit.
    let (status, _) = post_json(&server, &viewer, "/api/v1/indicators", &of("q1")).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        series(&server, "online_dossier_share", "q3")
            .await?
            .points
            .is_empty()
    );
    assert_eq!(
        series(&server, "online_dossier_share", "q1")
            .await?
            .points
            .len(),
        1
    );

    // Targets: an admin's, checked; a reporter may not set them.
    let year = month.year() + 1;
    let target =
        json!([{"indicator": "online_dossier_share", "area": "q1", "year": year, "value": 96.5}]);
    let put = |cookie: &str, body: &Value| {
        reqwest::Client::new()
            .put(server.url("/api/v1/indicators/targets"))
            .header("cookie", cookie.to_owned())
            .json(body)
            .send()
    };
    assert_eq!(
        put(&reporter, &target).await?.status(),
        StatusCode::FORBIDDEN
    );
    let bad =
        json!([{"indicator": "online_dossier_share", "area": "q1", "year": year, "value": 140.0}]);
    let r = put(&admin, &bad).await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let a: SubmitAnswer = r.json().await?;
    assert_eq!(
        (a.problems[0].index, a.problems[0].reason.as_str()),
        (0, "out_of_range")
    );
    let r = put(&admin, &target).await?;
    assert_eq!(r.status(), StatusCode::OK);
    let catalogue: Catalogue =
        serde_json::from_value(server.get_json("/api/v1/indicators/catalogue").await?)?;
    assert_eq!(
        catalogue.target("online_dossier_share", "q1", year),
        Some(96.5)
    );
    assert_eq!(
        (catalogue.groups.len(), catalogue.indicators.len()),
        (20, 110)
    );
    // Kept across a restart.
    let server = server.crash_and_restart()?;
    let catalogue: Catalogue =
        serde_json::from_value(server.get_json("/api/v1/indicators/catalogue").await?)?;
    assert_eq!(
        catalogue.target("online_dossier_share", "q1", year),
        Some(96.5)
    );
    Ok(())
}

/// 2,000 good rows: monthly district-level indicators, for every district, the last months;
/// each value in the middle of the indicator's plausible range, nudged by the row.
fn good_rows(catalogue: &Catalogue, nudge: f64) -> Vec<(String, String, Period, f64)> {
    let now = Periodicity::Month.period_at(now_ms());
    let mut rows = Vec::new();
    let monthly = catalogue
        .indicators
        .iter()
        .filter(|i| i.periodicity == Periodicity::Month && i.has_level(Level::District));
    for i in monthly {
        let mid = (i.range.min + i.range.max) / 2.0;
        for area in &catalogue.areas.districts {
            let mut p = now;
            for _ in 0..24 {
                p = p.prev().expect("a month before");
                rows.push((i.code.clone(), area.clone(), p, mid + nudge));
                if rows.len() == 2_000 {
                    return rows;
                }
            }
        }
    }
    rows
}

/// Rows 18, 777 and 1500 of the file (data rows 17, 776, 1499): an unknown indicator, a
/// quarter for a monthly indicator, a value beyond the plausible range.
const BAD_LINES: [(u64, &str); 3] = [
    (18, "unknown_indicator"),
    (777, "wrong_periodicity"),
    (1500, "out_of_range"),
];

/// A spreadsheet row: indicator, area, period, value.
type Row = (String, String, String, f64);

fn spoil(rows: &mut [Row], catalogue: &Catalogue) {
    for (line, _) in BAD_LINES {
        let row = &mut rows[line as usize - 2];
        match line {
            18 => row.0 = "grdp_typo".into(),
            777 => row.2 = format!("{}-Q1", &row.2[..4]),
            _ => {
                let max = catalogue.indicator(&row.0).map_or(0.0, |i| i.range.max);
                row.3 = max * 10.0 + 1.0;
            }
        }
    }
}

fn csv_of(rows: &[Row]) -> Vec<u8> {
    let mut out = String::from("indicator,area,period,value\r\n");
    for (i, a, p, v) in rows {
        out.push_str(&format!("{i},{a},{p},{v}\r\n"));
    }
    out.into_bytes()
}

fn xlsx_of(rows: &[Row]) -> Vec<u8> {
    let mut sheet = vec![vec![
        Cell::from("Chỉ tiêu"),
        Cell::from("Địa bàn"),
        Cell::from("Kỳ"),
        Cell::from("Giá trị"),
    ]];
    for (i, a, p, v) in rows {
        sheet.push(vec![
            Cell::from(i.as_str()),
            Cell::from(a.as_str()),
            Cell::from(p.as_str()),
            Cell::from(*v),
        ]);
    }
    xlsx::workbook("Số liệu", &sheet)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Every stored value of the rows' keys, read back through the API: (indicator, area,
/// period) to (value, revisions).
async fn stored(
    server: &TestServer,
    rows: &[(String, String, Period, f64)],
) -> anyhow::Result<BTreeMap<(String, String, Period), (f64, u32)>> {
    let keys: std::collections::BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|(i, a, _, _)| (i.as_str(), a.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for (i, a) in keys {
        for p in series(server, i, a).await?.points {
            out.insert(
                (i.to_owned(), a.to_owned(), p.period),
                (p.value, p.revisions),
            );
        }
    }
    Ok(out)
}

/// One file's round: the dry run names the three bad lines, the real upload stores nothing,
/// the clean upload stores every row.
async fn import_round(
    server: &TestServer,
    cookie: &str,
    catalogue: &Catalogue,
    content_type: &str,
    file_of: fn(&[Row]) -> Vec<u8>,
    nudge: f64,
    revisions: u32,
) -> anyhow::Result<()> {
    let good = good_rows(catalogue, nudge);
    assert_eq!(good.len(), 2_000);
    let text: Vec<Row> = good
        .iter()
        .map(|(i, a, p, v)| (i.clone(), a.clone(), p.to_string(), *v))
        .collect();
    let mut spoilt = text.clone();
    spoil(&mut spoilt, catalogue);
    let before = stored(server, &good).await?;

    let (status, a) = upload(
        server,
        cookie,
        "?dry_run=true",
        content_type,
        file_of(&spoilt),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{a:?}");
    assert_eq!((a.dry_run, a.rows, a.stored), (true, 2_000, 0));
    let named: Vec<(u64, &str)> = a
        .problems
        .iter()
        .map(|p| (p.line, p.reason.as_str()))
        .collect();
    assert_eq!(named, BAD_LINES);
    assert!(
        a.problems[0]
            .error
            .contains("\"grdp_typo\" is not an indicator"),
        "{a:?}"
    );
    assert!(
        a.problems[1].error.contains("is reported each month, and"),
        "{a:?}"
    );
    assert!(
        a.problems[2].error.contains("is not a plausible value"),
        "{a:?}"
    );
    assert_eq!(
        stored(server, &good).await?,
        before,
        "a dry run stores nothing"
    );

    let (status, a) = upload(server, cookie, "", content_type, file_of(&spoilt)).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{a:?}");
    assert_eq!((a.dry_run, a.stored, a.problems.len()), (false, 0, 3));
    assert_eq!(
        a.error.as_deref(),
        Some(
            "3 of the 2000 rows are refused; nothing was stored: correct them and upload the file \
         again (?dry_run=true checks it without storing)"
        )
    );
    assert_eq!(
        stored(server, &good).await?,
        before,
        "a refused upload stores nothing"
    );

    let (status, a) = upload(server, cookie, "", content_type, file_of(&text)).await?;
    assert_eq!(status, StatusCode::OK, "{a:?}");
    assert_eq!((a.rows, a.stored, a.problems.len()), (2_000, 2_000, 0));
    let after = stored(server, &good).await?;
    assert_eq!(after.len(), 2_000);
    for (i, a, p, v) in &good {
        assert_eq!(
            after.get(&(i.clone(), a.clone(), *p)),
            Some(&(*v, revisions)),
            "{i} {a} {p}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2000_row_csv_and_xlsx_with_three_bad_rows_are_named_refused_then_stored_whole()
-> anyhow::Result<()> {
    let server = TestServer::start()?;
    let admin = server.cookie().await?;
    let catalogue: Catalogue =
        serde_json::from_value(server.get_json("/api/v1/indicators/catalogue").await?)?;
    import_round(&server, &admin, &catalogue, "text/csv", csv_of, 0.0, 1).await?;
    // The XLSX carries other values for the same keys: each becomes a second revision.
    import_round(&server, &admin, &catalogue, XLSX, xlsx_of, 0.5, 2).await?;
    let m = server.metrics().await?;
    assert_eq!(
        m.value(r#"ioc_indicator_values_total{way="import"}"#)?,
        4_000.0
    );
    assert_eq!(
        m.value(r#"ioc_indicator_refused_total{way="import",reason="wrong_periodicity"}"#)?,
        2.0,
        "the real uploads' refusals are counted, the dry runs' are not"
    );
    // A file that is no sheet at all.
    let (status, a) = upload(&server, &admin, "", XLSX, b"PK\x03\x04 not really".to_vec()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(a.error.unwrap_or_default().contains("not a zip archive"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_influxdb_backend_each_revision_is_a_point_at_its_received_time()
-> anyhow::Result<()> {
    let vm = Victoria::start().await?;
    let server = TestServer::start_with(&["--store", "influxdb", "--influxdb-url", &vm.url])?;
    server.wait_subscribed().await?;
    let admin = server.cookie().await?;
    let month = last_month();
    let before = now_ms();
    let mut unit = Publisher::connect(server.mqtt, "gw-so-tc").await?;
    let report = Report {
        ts: before,
        period: month,
        values: [("budget_revenue".to_owned(), 30_500.0)].into(),
    };
    unit.publish("ioc/v1/indicator/city/so-tc", report.encode())
        .await?;
    unit.wait_acks(1, WAIT).await?;
    let middle = now_ms();
    // A revision of the same value, a moment later.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let body = json!([{"indicator": "budget_revenue", "area": "city", "period": month, "value": 30_750.0}]);
    let (status, a) = post_json(&server, &admin, "/api/v1/indicators", &body).await?;
    assert_eq!(status, StatusCode::OK, "{a}");
    let after = now_ms();

    let held = vm
        .export_until("both revisions", Duration::from_secs(30), |s| {
            s.iter().filter(|x| x.0.0 == "indicator_value").count() >= 2
        })
        .await?;
    let mut values: Vec<(i64, f64, BTreeMap<String, String>)> = held
        .iter()
        .filter(|s| s.0.0 == "indicator_value")
        .map(|s| (s.1, s.2, s.0.1.clone()))
        .collect();
    values.sort_by_key(|v| v.0);
    assert_eq!(values.len(), 2, "{values:?}");
    let labels: BTreeMap<String, String> = [
        ("area", "city"),
        ("indicator", "budget_revenue"),
        ("period", month.to_string().as_str()),
        ("unit", "so-tc"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert!(values.iter().all(|v| v.2 == labels), "{values:?}");
    assert_eq!((values[0].1, values[1].1), (30_500.0, 30_750.0));
    ensure!((before..=middle).contains(&values[0].0), "{values:?}");
    ensure!((middle..=after).contains(&values[1].0), "{values:?}");
    // When the report was sent, as a field of its own.
    let reported: Vec<f64> = held
        .iter()
        .filter(|s| s.0.0 == "indicator_reported_ms")
        .map(|s| s.2)
        .collect();
    ensure!(reported.contains(&(before as f64)), "{reported:?}");
    Ok(())
}
