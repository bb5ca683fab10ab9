//! `GET /api/v1/city`: the city as the screens draw it, from the real server; with the shared
//! boundary file it carries the areas' outlines, and a boundary file that is missing stops the
//! server at start with a message that names it.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use ioc_tests::{HCMC_BOUNDARIES, Proc, TestServer, bin_path, shared_data_file, workspace_root};

fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| x[key].as_str().unwrap_or_default())
        .collect()
}

/// What every answer has: names, the 6 x 7 grid with 22 areas in distinct cells, and the
/// things the figures name.
fn check_common(city: &Value) {
    assert_eq!(city["code"], "hcmc-2022");
    assert_eq!(city["name_vi"], "Thành phố Hồ Chí Minh");
    assert_eq!(city["name_en"], "Ho Chi Minh City");
    assert_eq!(
        (&city["grid_rows"], &city["grid_cols"]),
        (&6.into(), &7.into())
    );
    let areas = city["areas"].as_array().expect("areas is a list");
    assert_eq!(areas.len(), 22, "{city}");
    let mut cells = BTreeSet::new();
    for a in areas {
        for key in ["code", "name_vi", "name_en", "kind"] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "area without {key}: {a}"
            );
        }
        assert!(
            ["city", "urban", "rural"].contains(&a["kind"].as_str().unwrap_or_default()),
            "{a}"
        );
        assert!(a["population"].as_u64().is_some_and(|p| p > 0), "{a}");
        let (row, col) = (
            a["row"].as_u64().expect("row"),
            a["col"].as_u64().expect("col"),
        );
        assert!(row < 6 && col < 7, "cell outside the grid: {a}");
        assert!(cells.insert((row, col)), "two areas in one cell: {a}");
    }
    let codes = strings(&city["areas"], "code");
    for code in ["q1", "thu-duc", "can-gio"] {
        assert!(codes.contains(&code), "no area {code}: {codes:?}");
    }
    for list in ["corridors", "stations", "gauges", "agencies", "platforms"] {
        let items = city[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} is not a list: {city}"));
        assert!(!items.is_empty(), "no {list}");
        for n in items {
            for key in ["id", "name_vi", "name_en"] {
                assert!(
                    n[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{list}: an item without {key}: {n}"
                );
            }
            // `area`, when there, is one of the city's areas.
            if let Some(area) = n.get("area") {
                assert!(
                    codes.contains(&area.as_str().unwrap_or_default()),
                    "{list}: {n} is in no known area"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_without_boundaries_is_a_grid_and_has_no_outline() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let city = server.get_json("/api/v1/city").await?;
    check_common(&city);
    assert!(
        city.get("outline").is_none(),
        "an outline without a boundary file: {}",
        city["outline"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_with_boundaries_has_the_outline_of_its_22_areas() -> anyhow::Result<()> {
    let file = shared_data_file(HCMC_BOUNDARIES)?;
    let server = TestServer::start_with(&["--city-boundaries", &file.display().to_string()])?;
    let city = server.get_json("/api/v1/city").await?;
    check_common(&city);
    let outline = &city["outline"];
    let (w, h) = (
        outline["width"].as_f64().context("outline.width")?,
        outline["height"].as_f64().context("outline.height")?,
    );
    assert!(w > 0.0 && h > 0.0, "{w} x {h}");
    let shapes = outline["areas"].as_array().context("outline.areas")?;
    assert_eq!(shapes.len(), 22);
    for s in shapes {
        let d = s["d"].as_str().unwrap_or_default();
        assert!(d.starts_with('M'), "{}: d = {:.40}", s["area"], d);
        let (x, y) = (
            s["label_x"].as_f64().context("label_x")?,
            s["label_y"].as_f64().context("label_y")?,
        );
        assert!(
            (0.0..=w).contains(&x) && (0.0..=h).contains(&y),
            "{}: label at {x}, {y} outside {w} x {h}",
            s["area"]
        );
    }
    let drawn: BTreeSet<&str> = strings(&outline["areas"], "area").into_iter().collect();
    let areas: BTreeSet<&str> = strings(&city["areas"], "code").into_iter().collect();
    assert_eq!(drawn, areas, "every area drawn once");
    Ok(())
}

#[test]
fn a_missing_boundary_file_stops_the_server_and_names_the_file() -> anyhow::Result<()> {
    let bin = bin_path("ioc-server", "IOC_SERVER_BIN");
    anyhow::ensure!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace --bins` before the tests",
        bin.display()
    );
    let data = tempfile::tempdir()?;
    let missing = data.path().join("no-such-boundaries.geojson");
    let child = Command::new(&bin)
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--dist-dir")
        .arg(workspace_root().join("dist"))
        .arg("--city-boundaries")
        .arg(&missing)
        .env("IOC_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .env_remove("IOC_CONFIG")
        .env_remove("IOC_CITY_BOUNDARIES")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Killed by its PID if it does not exit.
    let mut proc = Proc {
        child,
        name: "ioc-server".into(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = proc.child.try_wait()? {
            break status;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "ioc-server still runs 20 s after start with a missing boundary file"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = proc.child.stdout.take() {
        o.read_to_string(&mut stdout)?;
    }
    if let Some(mut e) = proc.child.stderr.take() {
        e.read_to_string(&mut stderr)?;
    }
    assert!(!status.success(), "exit {status}; stderr: {stderr}");
    assert!(
        stderr.contains(&missing.display().to_string()),
        "the error does not name {}: {stderr}",
        missing.display()
    );
    assert!(
        !stdout.contains("ready"),
        "said it was ready with no boundaries: {stdout}"
    );
    Ok(())
}
