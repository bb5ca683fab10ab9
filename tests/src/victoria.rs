//! VictoriaMetrics (Debian's `victoria-metrics`), which takes InfluxDB line protocol on
//! `/api/v2/write`: the real remote store of the tests, since no InfluxDB 2 can be installed
//! here. Started on a free loopback port with a fresh data directory; can be stopped and
//! started again on the same port and data (a store outage); killed on drop.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use crate::{Proc, free_port, wait_port};

const VICTORIA_METRICS: &str = "/usr/bin/victoria-metrics";
const WAIT: Duration = Duration::from_secs(30);

/// One sample: (series name, labels), timestamp in ms, value.
pub type Sample = ((String, BTreeMap<String, String>), i64, f64);

/// A VictoriaMetrics server.
#[derive(Debug)]
pub struct Victoria {
    proc: Option<Proc>,
    dir: tempfile::TempDir,
    port: u16,
    pub url: String,
    http: reqwest::Client,
}

impl Victoria {
    pub async fn start() -> anyhow::Result<Victoria> {
        ensure!(
            Path::new(VICTORIA_METRICS).is_file(),
            "{VICTORIA_METRICS} is missing: `scripts/setup test` installs it (Debian's victoria-metrics)"
        );
        let port = free_port();
        let mut vm = Victoria {
            proc: None,
            dir: tempfile::tempdir()?,
            port,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().timeout(WAIT).build()?,
        };
        vm.launch().await?;
        Ok(vm)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let child = Command::new(VICTORIA_METRICS)
            .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg(format!("-storageDataPath={}", self.dir.path().display()))
            .arg("-retentionPeriod=100y")
            // Samples of one series with the same timestamp are one sample, as the points of
            // InfluxDB are: what makes "a duplicate overwrites itself" checkable here.
            .arg("-dedup.minScrapeInterval=1ms")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start victoria-metrics")?;
        self.proc = Some(Proc {
            child,
            name: "victoria-metrics".into(),
        });
        wait_port(([127, 0, 0, 1], self.port).into(), WAIT)?;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let healthy = match self.http.get(format!("{}/health", self.url)).send().await {
                Ok(r) => r.status().is_success() && r.text().await.unwrap_or_default() == "OK",
                Err(_) => false,
            };
            if healthy {
                return Ok(());
            }
            ensure!(
                tokio::time::Instant::now() < deadline,
                "victoria-metrics not healthy within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it the normal way (SIGTERM: it flushes what it holds), and waits for the exit.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut proc) = self.proc.take() {
            Command::new("kill")
                .args(["-TERM", &proc.pid().to_string()])
                .status()?;
            let deadline = std::time::Instant::now() + WAIT;
            while proc.child.try_wait()?.is_none() {
                ensure!(
                    std::time::Instant::now() < deadline,
                    "victoria-metrics did not stop"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Freezes it (SIGSTOP): connections are accepted by the kernel and nothing answers, as
    /// a store that stalls. [`Victoria::resume`] thaws it.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws what [`Victoria::pause`] froze (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, sig: &str) -> anyhow::Result<()> {
        if let Some(proc) = &self.proc {
            let ok = Command::new("kill")
                .args([sig, &proc.pid().to_string()])
                .status()?
                .success();
            ensure!(ok, "kill {sig} victoria-metrics failed");
        }
        Ok(())
    }

    /// Starts it again on the same port and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.launch().await
    }

    /// Every sample it holds matching `selector` (all when `None`), read through
    /// `/api/v1/export` (JSON lines), after making what was just written searchable.
    pub async fn export(&self, selector: Option<&str>) -> anyhow::Result<Vec<Sample>> {
        self.http
            .get(format!("{}/internal/force_flush", self.url))
            .send()
            .await?
            .error_for_status()?;
        let text = self
            .http
            .get(format!("{}/api/v1/export", self.url))
            .query(&[("match[]", selector.unwrap_or(r#"{__name__!=""}"#))])
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            #[derive(serde::Deserialize)]
            struct Series {
                metric: BTreeMap<String, String>,
                values: Vec<f64>,
                timestamps: Vec<i64>,
            }
            let mut series: Series =
                serde_json::from_str(line).with_context(|| format!("export line {line}"))?;
            let name = series
                .metric
                .remove("__name__")
                .context("a series without a name")?;
            ensure!(series.values.len() == series.timestamps.len(), "{line}");
            for (ts, v) in series.timestamps.iter().zip(&series.values) {
                samples.push(((name.clone(), series.metric.clone()), *ts, *v));
            }
        }
        Ok(samples)
    }

    /// Exports until `done` holds of what it holds, or fails after `within`.
    pub async fn export_until(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Sample]) -> bool,
    ) -> anyhow::Result<Vec<Sample>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let samples = self.export(None).await?;
            if done(&samples) {
                return Ok(samples);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{what}: not within {within:?}; victoria-metrics holds {} samples",
                    samples.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
