//! Real parts for end-to-end tests: the server binary, Mosquitto, MQTT publishers, websocket
//! clients and a headless Chromium. Every process started here is killed by its PID when its
//! handle is dropped, and every wait has a deadline.
//!
//! The binaries are found next to the test executable (`target/<profile>/`), so run
//! `cargo build --workspace --bins` first; `IOC_SERVER_BIN` and `IOC_SIM_BIN` override the
//! paths.

pub mod args;
pub mod browser;
pub mod gateway;
pub mod indicator_board;
pub mod influxdb;
pub mod load;
pub mod mqtt_wire;
pub mod probe;
pub mod victoria;
pub mod xlsx;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use ioc_protocol::{AreaStat, Domain, ServerMsg, Snapshot};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The workspace's root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// A binary of the workspace, built beside the test executable.
pub fn bin_path(name: &str, env_override: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env_override) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test knows its path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    dir.join(name)
}

/// A free TCP port on loopback (free now; taken by whoever binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something accepts connections at `addr`.
pub fn wait_port(addr: SocketAddr, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("nothing listens on {addr} after {within:?}")
}

/// A child process killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `ioc-server` binary, on free ports.
#[derive(Debug)]
pub struct TestServer {
    pub proc: Proc,
    pub http: SocketAddr,
    /// The embedded MQTT endpoint's address, or the external broker's.
    pub mqtt: SocketAddr,
    pub data_dir: tempfile::TempDir,
    args: Vec<String>,
    /// The InfluxDB 2 bucket the server stores in, when the suite runs against one
    /// (`IOC_TEST_INFLUXDB_URL`, see [`influxdb`]); deleted once the last handle is dropped.
    pub bucket: Option<std::sync::Arc<influxdb::TestBucket>>,
    /// The admin's session cookie (`name=token`), once logged in.
    cookie: std::sync::Mutex<Option<String>>,
}

/// The password of the `admin` every test server starts with (`IOC_INITIAL_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// Logs in to a server; returns the session cookie as `name=token`.
pub async fn login(http: SocketAddr, user: &str, password: &str) -> anyhow::Result<String> {
    let r = reqwest::Client::new()
        .post(format!("http://{http}/api/v1/login"))
        .json(&serde_json::json!({ "user": user, "password": password }))
        .send()
        .await?;
    let status = r.status();
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    match cookie {
        Some(c) if status.is_success() => Ok(c),
        _ => bail!(
            "login as {user} failed: {status} {}",
            r.text().await.unwrap_or_default()
        ),
    }
}

impl TestServer {
    /// With its embedded MQTT endpoint.
    pub fn start() -> anyhow::Result<TestServer> {
        TestServer::start_with(&[])
    }

    /// With an external broker.
    pub fn start_external(broker: SocketAddr) -> anyhow::Result<TestServer> {
        let mut s = TestServer::start_with(&["--mqtt-url", &format!("mqtt://{broker}")])?;
        s.mqtt = broker;
        Ok(s)
    }

    /// With extra command-line arguments. An `--mqtt-listen` among them replaces the default
    /// (any free port), so that a test can keep the embedded broker's port across
    /// [`TestServer::crash_and_restart`].
    ///
    /// The store is the embedded one unless the arguments choose one, or the suite runs
    /// against an InfluxDB 2 (`IOC_TEST_INFLUXDB_URL`): then it is a new bucket there.
    pub fn start_with(args: &[&str]) -> anyhow::Result<TestServer> {
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let chooses_store = args
            .iter()
            .any(|a| a == "--store" || a.starts_with("--store="));
        let bucket = match influxdb::TestInfluxdb::from_env()? {
            Some(influx) if !chooses_store => {
                let bucket = influx.create_bucket()?;
                args.extend(bucket.server_args());
                Some(std::sync::Arc::new(bucket))
            }
            _ => None,
        };
        TestServer::launch(args, tempfile::tempdir()?, None, bucket)
    }

    /// Kills the server with SIGKILL (no chance to flush anything), then starts it again
    /// with the same arguments, data directory and HTTP port.
    pub fn crash_and_restart(self) -> anyhow::Result<TestServer> {
        self.crash()?.restart()
    }

    /// Kills the server with SIGKILL and keeps what it needs to start again.
    pub fn crash(self) -> anyhow::Result<CrashedServer> {
        let TestServer {
            mut proc,
            data_dir,
            args,
            http,
            mqtt,
            bucket,
            cookie: _,
        } = self;
        proc.child.kill()?;
        proc.child.wait()?;
        Ok(CrashedServer {
            data_dir,
            args,
            http,
            mqtt,
            bucket,
        })
    }

    /// Stops the server as an operator would (SIGTERM: it finishes what it holds), waits for
    /// it to exit cleanly, at most `within`, and keeps what it needs to start again
    /// ([`CrashedServer::restart`]).
    pub fn stop(mut self, within: Duration) -> anyhow::Result<CrashedServer> {
        let status = self.terminate(within)?;
        ensure!(
            status.success(),
            "ioc-server exited with {status} on SIGTERM"
        );
        // Reaped already: this only takes its parts.
        self.crash()
    }

    /// Stops the server with SIGTERM and waits for it to exit, at most `within`.
    pub fn terminate(&mut self, within: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.proc.pid().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.proc.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("ioc-server did not exit within {within:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn launch(
        args: Vec<String>,
        data_dir: tempfile::TempDir,
        http: Option<SocketAddr>,
        bucket: Option<std::sync::Arc<influxdb::TestBucket>>,
    ) -> anyhow::Result<TestServer> {
        let bin = bin_path("ioc-server", "IOC_SERVER_BIN");
        if !bin.is_file() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` before the tests",
                bin.display()
            );
        }
        let http_listen = http.map_or("127.0.0.1:0".to_owned(), |a| a.to_string());
        let mut cmd = Command::new(&bin);
        cmd.args(["--http-listen", &http_listen]);
        if !args
            .iter()
            .any(|a| a == "--mqtt-listen" || a.starts_with("--mqtt-listen="))
        {
            cmd.args(["--mqtt-listen", "127.0.0.1:0"]);
        }
        cmd.arg("--data-dir")
            .arg(data_dir.path())
            .arg("--dist-dir")
            .arg(workspace_root().join("dist"))
            .args(&args)
            .env(
                "IOC_LOG",
                std::env::var("IOC_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("IOC_CONFIG")
            .env("IOC_INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(b) = &bucket {
            cmd.env("IOC_INFLUXDB_TOKEN", &b.influx.token);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let proc = Proc {
            child,
            name: "ioc-server".into(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .context("ioc-server did not say it was ready within 20 s")?;
        let (http, mqtt) = parse_ready(&line)?;
        Ok(TestServer {
            proc,
            http,
            mqtt: mqtt.unwrap_or_else(|| "127.0.0.1:1".parse().expect("addr")),
            data_dir,
            args,
            bucket,
            cookie: std::sync::Mutex::new(None),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.http)
    }

    /// Waits until the server is connected to its broker and subscribed: a message published
    /// before a subscription exists is not queued for it by any broker.
    pub async fn wait_subscribed(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.get_json("/healthz").await?["broker_connected"] != true {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the server never subscribed to its broker"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// `ioc-server gateway add NAME --areas A --sources S` on the server's data directory; the
    /// gateway's password.
    pub fn add_gateway(&self, name: &str, areas: &str, sources: &str) -> anyhow::Result<String> {
        let out = Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"))
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args([
                "gateway",
                "add",
                name,
                "--areas",
                areas,
                "--sources",
                sources,
            ])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "gateway add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        Ok(text
            .rsplit(": ")
            .next()
            .context("a password")?
            .trim()
            .to_owned())
    }

    /// The admin's session cookie, `name=token`: logs in the first time.
    /// `ioc-server user add NAME --role ROLE` on the server's data directory; the password.
    pub fn add_user(&self, name: &str, role: &str) -> anyhow::Result<String> {
        let out = Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"))
            .args(["--data-dir"])
            .arg(self.data_dir.path())
            .args(["user", "add", name, "--role", role])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        let password = text
            .rsplit(": ")
            .next()
            .map(str::trim)
            .context("no password printed")?;
        anyhow::ensure!(password.len() == 20, "{text}");
        Ok(password.to_owned())
    }

    pub async fn cookie(&self) -> anyhow::Result<String> {
        if let Some(c) = self.cookie.lock().expect("not poisoned").clone() {
            return Ok(c);
        }
        let c = login(self.http, "admin", ADMIN_PASSWORD).await?;
        *self.cookie.lock().expect("not poisoned") = Some(c.clone());
        Ok(c)
    }

    /// How many readings of one source and field the store holds with `ts` in [from, to),
    /// and the smallest and largest value among them.
    pub async fn stored(
        &self,
        topic: &str,
        field: &str,
        from: i64,
        to: i64,
    ) -> anyhow::Result<(u64, Option<f64>, Option<f64>)> {
        let t = ioc_protocol::Topic::parse(topic)?;
        let h = self
            .get_json(&format!(
                "/api/v1/history?domain={}&area={}&source={}&field={field}&from={from}&to={to}&points=1",
                t.domain, t.area, t.source
            ))
            .await?;
        let buckets = h["buckets"].as_array().context("buckets")?;
        let count = buckets
            .iter()
            .map(|b| b["count"].as_u64().unwrap_or(0))
            .sum();
        let min = buckets
            .iter()
            .filter_map(|b| b["min"].as_f64())
            .reduce(f64::min);
        let max = buckets
            .iter()
            .filter_map(|b| b["max"].as_f64())
            .reduce(f64::max);
        Ok((count, min, max))
    }

    /// `/metrics`, as the admin.
    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        let r = reqwest::Client::new()
            .get(self.url("/metrics"))
            .header(reqwest::header::COOKIE, self.cookie().await?)
            .send()
            .await?
            .error_for_status()?;
        Ok(Metrics(r.text().await?))
    }

    /// A GET as the admin.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let r = reqwest::Client::new()
            .get(self.url(path))
            .header(reqwest::header::COOKIE, self.cookie().await?)
            .send()
            .await?
            .error_for_status()?;
        Ok(r.json().await?)
    }
}

/// A server killed by [`TestServer::crash`] or stopped by [`TestServer::stop`], not running:
/// its data directory, arguments and addresses.
#[derive(Debug)]
pub struct CrashedServer {
    pub data_dir: tempfile::TempDir,
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    args: Vec<String>,
    bucket: Option<std::sync::Arc<influxdb::TestBucket>>,
}

impl CrashedServer {
    /// Starts it again with the same arguments, data directory and HTTP port (and the same
    /// MQTT port, if the arguments fix it with `--mqtt-listen`).
    pub fn restart(self) -> anyhow::Result<TestServer> {
        let CrashedServer {
            data_dir,
            http,
            mqtt,
            args,
            bucket,
        } = self;
        let mut s = TestServer::launch(args, data_dir, Some(http), bucket)?;
        if s.mqtt.port() == 1 {
            s.mqtt = mqtt;
        }
        Ok(s)
    }
}

/// The simulated city, `ioc-sim`, publishing to a broker; killed when dropped.
#[derive(Debug)]
pub struct Sim {
    pub proc: Proc,
    pub broker: SocketAddr,
    /// Where its simulated clock started, epoch ms.
    pub start_ms: i64,
}

impl Sim {
    /// The last two hours replayed at 600x (about 12 s), then on in real time; seed 7.
    pub fn start(broker: SocketAddr) -> anyhow::Result<Sim> {
        Sim::start_with(
            broker,
            now_ms() - 2 * 3_600_000,
            &["--speed", "600", "--seed", "7"],
        )
    }

    /// From `start_ms` (epoch ms), with extra command-line arguments.
    pub fn start_with(broker: SocketAddr, start_ms: i64, args: &[&str]) -> anyhow::Result<Sim> {
        let bin = bin_path("ioc-sim", "IOC_SIM_BIN");
        if !bin.is_file() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` before the tests",
                bin.display()
            );
        }
        let child = Command::new(&bin)
            .arg("--broker")
            .arg(format!("mqtt://{broker}"))
            .arg("--start")
            .arg(start_ms.to_string())
            .args(args)
            .env(
                "IOC_LOG",
                std::env::var("IOC_SIM_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Sim {
            proc: Proc {
                child,
                name: "ioc-sim".into(),
            },
            broker,
            start_ms,
        })
    }

    /// Fails if the simulator has exited (it runs until stopped).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.proc.child.try_wait()? {
            bail!("ioc-sim exited: {status}");
        }
        Ok(())
    }
}

/// The shared data directory's file `name` (`hcmc-districts-2021.geojson`: the areas'
/// boundaries): in `IOC_SHARED_DATA`, else `<workspace>/../shared/data`, else
/// `/work/shared/data`, like the preset's own tests look for it.
pub fn shared_data_file(name: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("IOC_SHARED_DATA") {
        let path = PathBuf::from(dir).join(name);
        if !path.is_file() {
            bail!(
                "IOC_SHARED_DATA is set but {} does not exist",
                path.display()
            );
        }
        return Ok(path);
    }
    let tried = [
        workspace_root().join("../shared/data"),
        PathBuf::from("/work/shared/data"),
    ];
    for dir in &tried {
        if dir.join(name).is_file() {
            return Ok(dir.join(name));
        }
    }
    bail!(
        "the shared data file {name} is missing: tried {tried:?}; set IOC_SHARED_DATA to the \
         directory that holds it (see shared/data/README.md)"
    )
}

/// The Ho Chi Minh City areas' boundaries, in the shared data directory.
pub const HCMC_BOUNDARIES: &str = "hcmc-districts-2021.geojson";

/// `ioc-server ready: http://A/ (embedded MQTT endpoint on mqtt://B)`.
fn parse_ready(line: &str) -> anyhow::Result<(SocketAddr, Option<SocketAddr>)> {
    let rest = line
        .strip_prefix("ioc-server ready: http://")
        .or_else(|| line.strip_prefix("ioc-server ready: https://"))
        .with_context(|| format!("unexpected first line {line:?}"))?;
    let (http, rest) = rest.split_once('/').context("no / after the address")?;
    let mqtt = rest
        .split_once("mqtt://")
        .map(|(_, m)| m.trim_end_matches(')').parse())
        .transpose()?;
    Ok((http.parse()?, mqtt))
}

/// A Mosquitto broker on a free loopback port, with a config of its own.
#[derive(Debug)]
pub struct Mosquitto {
    pub proc: Proc,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let port = free_port();
        Mosquitto::start_at(dir, port)
    }

    /// On a given port and directory (to start it again where it was).
    pub fn start_at(dir: tempfile::TempDir, port: u16) -> anyhow::Result<Mosquitto> {
        Mosquitto::start_conf(dir, port, "allow_anonymous true\n")
    }

    /// With `auth` as the configuration's access lines (`allow_anonymous`, `password_file`,
    /// `acl_file`).
    pub fn start_conf(dir: tempfile::TempDir, port: u16, auth: &str) -> anyhow::Result<Mosquitto> {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .context("mosquitto is not installed (the test command installs it: scripts/setup)")?;
        // Started as root, mosquitto drops to its own user: that user must be able to write
        // its persistence file here, or a restart loses every session and queued message.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )?;
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{auth}persistence true\n\
                 persistence_location {}/\nmax_inflight_messages 1000\nmax_queued_messages 100000\n\
                 message_size_limit 262144\n",
                dir.path().display()
            ),
        )?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start mosquitto")?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let proc = Proc {
            child,
            name: "mosquitto".into(),
        };
        wait_port(addr, Duration::from_secs(10))?;
        Ok(Mosquitto { proc, addr, dir })
    }

    /// Stops it as an operator would (SIGTERM: it saves its persistence file), keeps it down
    /// for `down_for`, then starts it again on the same port and directory. Returns how long
    /// it was down.
    pub fn restart(self, down_for: Duration) -> anyhow::Result<(Mosquitto, Duration)> {
        let Mosquitto {
            mut proc,
            addr,
            dir,
        } = self;
        let down = Instant::now();
        Command::new("kill")
            .args(["-TERM", &proc.pid().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while proc.child.try_wait()?.is_none() {
            ensure!(
                Instant::now() < deadline,
                "mosquitto did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(proc);
        std::thread::sleep(down_for);
        let back = Mosquitto::start_at(dir, addr.port())?;
        Ok((back, down.elapsed()))
    }
}

/// An MQTT publisher that waits for the broker's acknowledgement of every QoS 1 message.
#[derive(Debug)]
pub struct Publisher {
    client: AsyncClient,
    acks: tokio::sync::mpsc::UnboundedReceiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(broker: SocketAddr, client_id: &str) -> anyhow::Result<Publisher> {
        Publisher::connect_as(broker, client_id, None).await
    }

    /// With a persistent session, as a gateway that must not lose what it queued while the
    /// broker was away: on a clean session, rumqttc drops its unacknowledged publishes at
    /// reconnection.
    pub async fn connect_persistent(
        broker: SocketAddr,
        client_id: &str,
    ) -> anyhow::Result<Publisher> {
        Publisher::open(broker, client_id, None, false).await
    }

    /// With a user name and password (a gateway's credentials).
    pub async fn connect_as(
        broker: SocketAddr,
        client_id: &str,
        credentials: Option<(&str, &str)>,
    ) -> anyhow::Result<Publisher> {
        Publisher::open(broker, client_id, credentials, true).await
    }

    async fn open(
        broker: SocketAddr,
        client_id: &str,
        credentials: Option<(&str, &str)>,
        clean_session: bool,
    ) -> anyhow::Result<Publisher> {
        let mut opts = MqttOptions::new(client_id, broker.ip().to_string(), broker.port());
        opts.set_clean_session(clean_session);
        if let Some((user, password)) = credentials {
            opts.set_credentials(user, password);
        }
        opts.set_keep_alive(Duration::from_secs(10))
            .set_max_packet_size(1 << 20, 1 << 20)
            .set_inflight(200);
        let (client, mut eventloop) = AsyncClient::new(opts, 1000);
        let (ack_tx, acks) = tokio::sync::mpsc::unbounded_channel();
        let (up_tx, up_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut up = Some(up_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(up) = up.take() {
                            let _ = up.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), up_rx)
            .await
            .context("no CONNACK from the broker within 10 s")??;
        Ok(Publisher { client, acks, task })
    }

    /// Publishes with QoS 1, without waiting.
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) -> anyhow::Result<()> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await?;
        Ok(())
    }

    /// Waits until the broker acknowledged `n` more messages.
    pub async fn wait_acks(&mut self, n: usize, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        for i in 0..n {
            tokio::time::timeout_at(deadline, self.acks.recv())
                .await
                .with_context(|| format!("only {i} of {n} PUBACKs within {within:?}"))?
                .context("publisher stopped")?;
        }
        Ok(())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A websocket client that keeps the live state the way the app does.
#[derive(Debug)]
pub struct LiveClient {
    ws: Ws,
    pub snapshot: Option<Snapshot>,
    pub stats: HashMap<(Domain, String), AreaStat>,
    pub seq: u64,
    pub messages: u64,
    /// Snapshots received: the first, and one each time the server resynced this client.
    pub snapshots: u64,
    /// Each domain's figures, as last received.
    pub figures: HashMap<Domain, ioc_protocol::DomainFigures>,
    /// The alerts, as last received.
    pub alerts: ioc_protocol::alerts::AlertsFigure,
}

impl LiveClient {
    /// Connects with the server's own `Origin` and reads the snapshot.
    pub async fn connect(server: &TestServer) -> anyhow::Result<LiveClient> {
        let origin = format!("http://{}", server.http);
        let mut req = server.ws_url().into_client_request()?;
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(&origin)?);
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(&server.cookie().await?)?);
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(req),
        )
        .await
        .context("websocket connect timed out")??;
        let mut c = LiveClient {
            ws,
            snapshot: None,
            stats: HashMap::new(),
            seq: 0,
            messages: 0,
            snapshots: 0,
            figures: HashMap::new(),
            alerts: Default::default(),
        };
        c.wait_for(Duration::from_secs(10), |c| c.snapshot.is_some())
            .await
            .context("no snapshot")?;
        Ok(c)
    }

    /// Reads messages until `done` holds, or fails at the deadline.
    pub async fn wait_for(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&LiveClient) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        while !done(self) {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .with_context(|| format!("condition not met within {within:?}"))?
                .context("websocket closed")??;
            if let WsMessage::Text(text) = msg {
                self.apply(serde_json::from_str(text.as_str())?)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, msg: ServerMsg) -> anyhow::Result<()> {
        self.messages += 1;
        match msg {
            ServerMsg::Snapshot(s) => {
                self.snapshots += 1;
                self.seq = s.seq;
                self.stats = s
                    .stats
                    .iter()
                    .map(|st| ((st.domain, st.area.clone()), st.clone()))
                    .collect();
                self.figures = s.figures.iter().map(|f| (f.domain(), f.clone())).collect();
                self.alerts = s.alerts.clone();
                self.snapshot = Some(s);
            }
            ServerMsg::Delta(d) => {
                if d.seq != self.seq + 1 {
                    bail!("delta {} after {}: a gap", d.seq, self.seq);
                }
                self.seq = d.seq;
                for st in d.stats {
                    self.stats.insert((st.domain, st.area.clone()), st);
                }
                for f in d.figures {
                    self.figures.insert(f.domain(), f);
                }
                if let Some(a) = d.alerts {
                    self.alerts = a;
                }
            }
            ServerMsg::Heartbeat { .. } => {}
        }
        Ok(())
    }

    /// The codes of the city's areas, from the snapshot.
    pub fn area_codes(&self) -> Vec<String> {
        self.snapshot
            .iter()
            .flat_map(|s| s.areas.iter().map(|a| a.code.clone()))
            .collect()
    }

    /// The mean of a field in an area, as the screen would show it.
    pub fn mean(&self, domain: Domain, area: &str, field: &str) -> Option<f64> {
        self.stats
            .get(&(domain, area.to_owned()))?
            .fields
            .get(field)
            .map(|f| f.mean)
    }

    /// Reads until the server closes the websocket; the close frame's code (None: closed
    /// without one).
    pub async fn close_code(&mut self, within: Duration) -> anyhow::Result<Option<u16>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .with_context(|| format!("still open after {within:?}"))?;
            match msg {
                Some(Ok(WsMessage::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(WsMessage::Text(text))) => {
                    self.apply(serde_json::from_str(text.as_str())?)?
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    /// The System tile's figures, as last received.
    pub fn system(&self) -> Option<&ioc_protocol::live::SystemFigures> {
        match self.figures.get(&Domain::System)? {
            ioc_protocol::DomainFigures::System(s) => Some(s),
            _ => None,
        }
    }

    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }
}

/// The text of `/metrics`.
#[derive(Debug, Clone)]
pub struct Metrics(pub String);

impl Metrics {
    /// The value of one series, named with its labels as the text has them
    /// (`ioc_ingest_rejected_total{reason="not_json"}`).
    pub fn get(&self, series: &str) -> Option<f64> {
        self.0.lines().find_map(|l| {
            let value = l.strip_prefix(series)?.strip_prefix(' ')?;
            value.trim().parse().ok()
        })
    }

    /// [`Metrics::get`], failing with the whole text when the series is missing.
    pub fn value(&self, series: &str) -> anyhow::Result<f64> {
        self.get(series)
            .with_context(|| format!("no {series} in /metrics:\n{}", self.0))
    }
}

/// Now, epoch ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}
