//! The release package (`scripts/package`) as an operator meets it: the archive unpacked into
//! an empty directory, and its binary alone there, with no `dist/` and no checkout beside it,
//! serves the console, the wall with the app's files, and the city's map; the `.deb`
//! installs with `dpkg -i` (the user `ioc`, `/var/lib/ioc`, the settings, the unit), and its
//! binary, run as the service runs it after an admin is added as INSTALL.md says, answers
//! `/readyz` and serves the same; installed again it keeps the data, `dpkg -r` keeps data and
//! user, and `dpkg --purge` leaves the machine as it was.
//!
//! Needs the package built first: `scripts/package` (`scripts/test` runs it before the
//! tests); it is looked for in `<target>/package/`, or `IOC_PACKAGE_DIR`. The `.deb` half
//! installs on this machine, so it must run as root (CI does), and it refuses to run where an
//! `ioc-server` package, a user `ioc` or `/var/lib/ioc` already exist.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ioc_tests::{ADMIN_PASSWORD, Proc, login};
use reqwest::StatusCode;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `<target>/package`, where `scripts/package` writes (or `IOC_PACKAGE_DIR`).
fn package_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IOC_PACKAGE_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test> -> target/package
    let exe = std::env::current_exe().expect("the test knows its path");
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps")
        .join("package")
}

/// A file `scripts/package` made, or an error that says how to make it.
fn built(name: &str) -> anyhow::Result<PathBuf> {
    let path = package_dir().join(name);
    ensure!(
        path.is_file(),
        "{} is missing: run scripts/package first (scripts/test does)",
        path.display()
    );
    Ok(path)
}

/// Runs a command to its end; its output, or an error with what it said.
fn run(cmd: &mut Command) -> anyhow::Result<Output> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    ensure!(
        out.status.success(),
        "{shown}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

/// Starts `program` with `args` in `cwd`, with none of the caller's `IOC_*` variables (the
/// admin's password aside), on free ports; waits for its ready line.
fn start(program: &[&str], cwd: &Path, args: &[&str]) -> anyhow::Result<(Proc, SocketAddr)> {
    let mut cmd = Command::new(program[0]);
    cmd.args(&program[1..])
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .current_dir(cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("IOC_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .env("IOC_INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("IOC_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {program:?}"))?;
    let stdout = child.stdout.take().expect("piped");
    let proc = Proc {
        child,
        name: program.join(" "),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(WAIT)
        .with_context(|| format!("{program:?} did not say it was ready within {WAIT:?}"))?;
    let addr = line
        .strip_prefix("ioc-server ready: http://")
        .and_then(|rest| rest.split_once('/'))
        .with_context(|| format!("unexpected first line {line:?}"))?
        .0
        .parse()?;
    Ok((proc, addr))
}

/// Waits until `/readyz` answers 200.
async fn ready(http: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = reqwest::get(format!("http://{http}/readyz")).await?;
        if r.status() == StatusCode::OK {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "/readyz still {} after {WAIT:?}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A GET's status, content type and body.
async fn get(http: SocketAddr, path: &str) -> anyhow::Result<(StatusCode, String, Vec<u8>)> {
    let r = reqwest::get(format!("http://{http}{path}")).await?;
    let status = r.status();
    let content_type = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, r.bytes().await?.to_vec()))
}

/// The path after `attr="` of the first one that ends with `suffix`.
fn referenced(html: &str, suffix: &str) -> Option<String> {
    html.split(['"', '\''])
        .find(|s| s.starts_with('/') && s.ends_with(suffix))
        .map(str::to_owned)
}

/// What an officer's browser needs from the server: the console, the wall and the indicators
/// (each page with the module, the wasm and the style it names), and, once `user` has
/// logged in, the city's map: Ho Chi Minh City's 22 areas, each in a cell of the tile grid.
async fn serves_the_app_and_the_map(
    http: SocketAddr,
    user: &str,
    password: &str,
) -> anyhow::Result<()> {
    let (status, content_type, console) = get(http, "/").await?;
    ensure!(status == StatusCode::OK, "/: {status}");
    ensure!(content_type == "text/html", "/: {content_type}");
    let console = String::from_utf8(console)?;
    ensure!(
        console.contains("<title>Trung tâm điều hành (IOC)</title>"),
        "/ is not the app: {console}"
    );
    // The wall and the indicators are wasm binaries of their own, each page naming its own.
    let (status, _, wall) = get(http, "/wall?rotate=20").await?;
    ensure!(status == StatusCode::OK, "/wall: {status}");
    let wall = String::from_utf8(wall)?;
    ensure!(
        wall.contains("/wall/ioc-wall-"),
        "/wall is not the wall's page: {wall}"
    );
    let (status, _, indicators) = get(http, "/indicators/").await?;
    ensure!(status == StatusCode::OK, "/indicators/: {status}");
    let indicators = String::from_utf8(indicators)?;
    ensure!(
        indicators.contains("/indicators/ioc-indicators-"),
        "/indicators/ is not the indicators' page: {indicators}"
    );
    for page in [&console, &wall, &indicators] {
        for (suffix, content_type, magic) in [
            ("_bg.wasm", "application/wasm", &b"\0asm"[..]),
            (".js", "text/javascript", b""),
            (".css", "text/css", b""),
        ] {
            let path = referenced(page, suffix)
                .with_context(|| format!("a page names no {suffix}: {page}"))?;
            let (status, got_type, body) = get(http, &path).await?;
            ensure!(status == StatusCode::OK, "{path}: {status}");
            ensure!(got_type == content_type, "{path}: {got_type}");
            ensure!(
                body.len() > 100 && body.starts_with(magic),
                "{path}: {} bytes",
                body.len()
            );
        }
    }
    let cookie = login(http, user, password).await?;
    let city: Value = reqwest::Client::new()
        .get(format!("http://{http}/api/v1/city"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    ensure!(city["code"] == "hcmc-2022", "{city}");
    let areas = city["areas"].as_array().context("areas")?;
    ensure!(areas.len() == 22, "{} areas", areas.len());
    let (rows, cols) = (
        city["grid_rows"].as_u64().context("grid_rows")?,
        city["grid_cols"].as_u64().context("grid_cols")?,
    );
    for a in areas {
        let (row, col) = (
            a["row"].as_u64().context("row")?,
            a["col"].as_u64().context("col")?,
        );
        ensure!(
            row < rows && col < cols,
            "an area outside the {rows} x {cols} grid: {a}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_unpacked_alone_serves_the_console_the_wall_and_the_map() -> anyhow::Result<()>
{
    let arch = std::env::consts::ARCH;
    let archive = built(&format!("ioc-server-{VERSION}-{arch}.tar.gz"))?;
    let empty = tempfile::tempdir()?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(empty.path()))?;
    let unpacked = empty.path().join(format!("ioc-server-{VERSION}-{arch}"));
    let mut names: Vec<String> = std::fs::read_dir(&unpacked)
        .with_context(|| format!("{} has no {}", archive.display(), unpacked.display()))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    ensure!(
        names
            == [
                "INSTALL.md",
                "ioc-server",
                "ioc-server.service",
                "ioc-server.toml"
            ],
        "the archive holds {names:?}"
    );
    let unit = std::fs::read_to_string(unpacked.join("ioc-server.service"))?;
    ensure!(
        unit.contains("ExecStart=/usr/local/bin/ioc-server --config /etc/ioc/ioc-server.toml"),
        "{unit}"
    );

    // Run from where it was unpacked, with the sample settings; the data elsewhere.
    let data = tempfile::tempdir()?;
    let data_dir = data.path().to_str().context("a UTF-8 temp path")?;
    let (_server, http) = start(
        &["./ioc-server"],
        &unpacked,
        &["--config", "ioc-server.toml", "--data-dir", data_dir],
    )?;
    ready(http).await?;
    serves_the_app_and_the_map(http, "admin", ADMIN_PASSWORD).await?;
    ensure!(
        !unpacked.join("dist").exists() && !unpacked.join("data").exists(),
        "the server wrote beside itself, not in its data directory"
    );
    Ok(())
}

/// The installed package, purged when dropped (whatever the test found).
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["--purge", "ioc-server"])
            .stdout(Stdio::null())
            .status();
    }
}

/// `getent passwd ioc`: its fields, if the user exists.
fn ioc_user() -> Option<Vec<String>> {
    let out = Command::new("getent")
        .args(["passwd", "ioc"])
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .split(':')
            .map(str::to_owned)
            .collect()
    })
}

/// Whether dpkg knows `ioc-server` as installed or with its settings left.
fn dpkg_knows_the_package() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "ioc-server"])
        .output()
        .is_ok_and(|out| {
            let status = String::from_utf8_lossy(&out.stdout);
            out.status.success() && !status.trim().is_empty() && !status.contains("not-installed")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deb_installs_runs_as_its_user_answers_readyz_and_purges_clean() -> anyhow::Result<()> {
    let deb_arch =
        String::from_utf8(run(Command::new("dpkg").arg("--print-architecture"))?.stdout)?;
    let deb = built(&format!("ioc-server_{VERSION}-1_{}.deb", deb_arch.trim()))?;
    let uid = String::from_utf8(run(Command::new("id").arg("-u"))?.stdout)?;
    ensure!(
        uid.trim() == "0",
        "installing the .deb needs root (CI runs as root); run this test as root"
    );
    if dpkg_knows_the_package() || ioc_user().is_some() || Path::new("/var/lib/ioc").exists() {
        bail!(
            "this machine already has an ioc-server package, a user ioc or /var/lib/ioc: the \
             test would install over them and purge them, so it stops"
        );
    }

    run(Command::new("dpkg").arg("-i").arg(&deb))?;
    let installed = Installed;
    for file in [
        "/usr/bin/ioc-server",
        "/etc/ioc/ioc-server.toml",
        "/usr/lib/systemd/system/ioc-server.service",
        "/usr/share/doc/ioc-server/INSTALL.md",
    ] {
        ensure!(Path::new(file).is_file(), "{file} is not installed");
    }
    let user = ioc_user().context("no user ioc after dpkg -i")?;
    ensure!(
        user[5] == "/var/lib/ioc" && user[6] == "/usr/sbin/nologin",
        "{user:?}"
    );
    let uid: u32 = user[2].parse()?;
    let data = std::fs::metadata("/var/lib/ioc").context("no /var/lib/ioc")?;
    ensure!(
        data.is_dir() && data.uid() == uid && data.mode() & 0o777 == 0o750,
        "/var/lib/ioc: uid {} mode {:o}",
        data.uid(),
        data.mode()
    );
    let settings = std::fs::metadata("/etc/ioc/ioc-server.toml")?;
    ensure!(
        settings.uid() == 0 && settings.mode() & 0o777 == 0o640,
        "/etc/ioc/ioc-server.toml: uid {} mode {:o}",
        settings.uid(),
        settings.mode()
    );
    // The unit as systemd reads it, with its binary in place (when systemd's tools are here).
    if Path::new("/usr/bin/systemd-analyze").is_file() {
        run(Command::new("systemd-analyze").args([
            "verify",
            "--man=no",
            "/usr/lib/systemd/system/ioc-server.service",
        ]))?;
    }

    // INSTALL.md's steps, as the unit runs it (no systemd here): user ioc, the installed
    // settings, /var/lib/ioc. First an admin of one's own, then the server.
    let as_ioc = [
        "setpriv",
        "--reuid=ioc",
        "--regid=ioc",
        "--init-groups",
        "--",
        "/usr/bin/ioc-server",
        "--config",
        "/etc/ioc/ioc-server.toml",
    ];
    let added = run(Command::new(as_ioc[0])
        .args(&as_ioc[1..])
        .args(["user", "add", "chief", "--role", "admin"])
        .current_dir("/"))?;
    let added = String::from_utf8(added.stdout)?;
    let password = added
        .rsplit(": ")
        .next()
        .map(str::trim)
        .filter(|p| p.len() == 20)
        .with_context(|| format!("no password in {added:?}"))?
        .to_owned();
    let (mut server, http) = start(&as_ioc, Path::new("/var/lib/ioc"), &[])?;
    ready(http).await?;
    serves_the_app_and_the_map(http, "chief", &password).await?;
    ensure!(
        login(http, "admin", ADMIN_PASSWORD).await.is_err(),
        "an admin was created beside the one added before the first start"
    );
    run(Command::new("kill").args(["-TERM", &server.pid().to_string()]))?;
    let deadline = Instant::now() + WAIT;
    while server.child.try_wait()?.is_none() {
        ensure!(
            Instant::now() < deadline,
            "ioc-server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let files = std::fs::read_dir("/var/lib/ioc")?.count();
    ensure!(files > 0, "the server wrote nothing in /var/lib/ioc");

    // Installed again (an upgrade's path): the user, the data and the settings stay.
    run(Command::new("dpkg").arg("-i").arg(&deb))?;
    ensure!(ioc_user().is_some_and(|u| u[2] == uid.to_string()));
    ensure!(std::fs::read_dir("/var/lib/ioc")?.count() == files);

    // Removed, the data, settings and user stay; purged, nothing does.
    run(Command::new("dpkg").args(["-r", "ioc-server"]))?;
    ensure!(!Path::new("/usr/bin/ioc-server").exists());
    ensure!(Path::new("/var/lib/ioc").is_dir() && ioc_user().is_some());
    run(Command::new("dpkg").args(["--purge", "ioc-server"]))?;
    drop(installed);
    for gone in [
        "/var/lib/ioc",
        "/etc/ioc",
        "/usr/lib/systemd/system/ioc-server.service",
    ] {
        ensure!(!Path::new(gone).exists(), "{gone} is left after the purge");
    }
    ensure!(ioc_user().is_none(), "the user ioc is left after the purge");
    ensure!(!dpkg_knows_the_package(), "dpkg still knows ioc-server");
    Ok(())
}
