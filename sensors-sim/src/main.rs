//! `ioc-sim`: publishes a simulated city (Ho Chi Minh City by default) to an MQTT broker.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use ioc_protocol::Domain;
use ioc_protocol::indicator::{BUILT_IN_FILE, Catalogue};
use ioc_protocol::preset::Preset;
use ioc_sim::clock::{self, Pacing, format_local};
use ioc_sim::publish::{self, PublishOptions, TruthLog};
use ioc_sim::{Simulation, Stream};
use rumqttc::QoS;
use tokio::sync::Notify;

/// Unacknowledged QoS 1 messages at most.
const MAX_INFLIGHT: u16 = 100;

#[derive(Debug, Parser)]
#[command(
    name = "ioc-sim",
    version,
    about = "A simulated city publishing over MQTT, per the ingest contract v1",
    long_about = "A simulated city publishing over MQTT, per the ingest contract v1: traffic on \
        its corridors, air quality, water levels, platform health, 1022 complaints and \
        public-service dossiers; and the city's socio-economic indicators, five years of \
        history at start, then each new period as the clock passes its reports. Seeded and \
        deterministic: the same preset, seed, scale and start give the same messages.\n\n\
        Replay today so far in minutes, then go on live:\n  \
        ioc-sim --start today --speed 600\nA simulated day, fast, with its truth log:\n  \
        ioc-sim --start today --speed 600 --until now --truth-log truth.jsonl\nFour days to \
        learn from, then today with 24 anomalies (logged in the truth log), to score anomaly \
        detection:\n  \
        ioc-sim --start \"$(date -d '4 days ago' +%F)\" --speed 100000 --until now --inject 24 \
        --inject-from today --truth-log truth.jsonl"
)]
struct Args {
    /// The broker, `mqtt://host:port`.
    #[arg(long, env = "IOC_SIM_BROKER", default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// The city preset (TOML); default: the built-in Ho Chi Minh City of 2022.
    #[arg(long, env = "IOC_SIM_PRESET")]
    preset: Option<PathBuf>,
    /// Seed of the simulation: the same seed gives the same messages.
    #[arg(long, env = "IOC_SIM_SEED", default_value_t = 1)]
    seed: u64,
    /// Sensors per corridor, air station and flood gauge of the preset (ids `{id}-{k}` for
    /// k >= 2). Platforms, complaints and dossiers are not scaled.
    #[arg(long, env = "IOC_SIM_SCALE", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    scale: u32,
    /// Simulated seconds per real second. The simulated clock never runs ahead of the wall
    /// clock: once it catches up, it goes on in real time.
    #[arg(long, env = "IOC_SIM_SPEED", default_value_t = 1.0)]
    speed: f64,
    /// Simulated start: `now`, `today` (local midnight), a date `2025-11-07` (its local
    /// midnight), RFC 3339, or epoch ms. At most 7 days ago (the server rejects older readings).
    #[arg(long, env = "IOC_SIM_START", default_value = "now")]
    start: String,
    /// Simulated time to run, `24h`, `90m`, `1h30m`; default: until stopped.
    #[arg(long, env = "IOC_SIM_DURATION", conflicts_with = "until")]
    duration: Option<String>,
    /// Simulated time to stop at, like --start (`now`: the wall clock when the run starts).
    #[arg(long, env = "IOC_SIM_UNTIL")]
    until: Option<String>,
    /// Only these domains (comma-separated: traffic,env,flood,complaint,service,system, and
    /// indicator for the socio-economic indicators).
    #[arg(long, env = "IOC_SIM_DOMAINS", value_delimiter = ',', value_parser = parse_stream)]
    domains: Vec<Stream>,
    /// Do not publish the socio-economic indicators (published by default: every indicator of
    /// the catalogue at its levels, each period since January 2021 reported by its unit on
    /// ioc/v1/indicator/{area}/{unit}, the periods ended before the start first).
    #[arg(long, env = "IOC_SIM_NO_INDICATORS")]
    no_indicators: bool,
    /// The indicator catalogue (TOML), checked against the preset; default: the built-in one
    /// of Ho Chi Minh City.
    #[arg(long, env = "IOC_SIM_INDICATOR_CATALOGUE")]
    indicator_catalogue: Option<PathBuf>,
    /// MQTT QoS of the messages: 0 or 1.
    #[arg(long, env = "IOC_SIM_QOS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=1))]
    qos: u8,
    /// Write every message published to this file, one JSON line each:
    /// {"topic", "payload", "ts"} (an indicator report inside {"indicator_report": ..}); each
    /// anomaly injected when it starts: {"anomaly": {"topic", "fields", "from", "to", "kind"}};
    /// each indicator value seeded abnormal, before its report: {"indicator_abnormal":
    /// {"indicator", "area", "unit", "period", "normal", "value", "factor" or "points"}}; each
    /// late or missing indicator report at its deadline: {"indicator_late": {"area", "unit",
    /// "period", "due", "reported", "indicators"}}, {"indicator_missing": {.. no "reported"}}.
    #[arg(long, env = "IOC_SIM_TRUTH_LOG")]
    truth_log: Option<PathBuf>,
    /// Anomalies to inject per simulated day, spread over the run and drawn from the seed: one
    /// source each, for 20 to 60 minutes (a traffic jam, a pollution episode, a water-level
    /// surge, a slow platform). 0: none.
    #[arg(long, env = "IOC_SIM_INJECT", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    inject: u32,
    /// No anomaly starts before this time, like --start (default: the start): the days before
    /// are clean, to learn from.
    #[arg(long, env = "IOC_SIM_INJECT_FROM")]
    inject_from: Option<String>,
    /// MQTT client id (the session is persistent: one simulator per id).
    #[arg(long, env = "IOC_SIM_CLIENT_ID", default_value = "ioc-sim")]
    client_id: String,
    /// No longer used (the rate follows from the preset, --scale and --speed); accepted so
    /// that old scripts still run.
    #[arg(long, hide = true)]
    rate: Option<f64>,
}

/// A domain of `--domains`, or `indicator`.
fn parse_stream(s: &str) -> Result<Stream, String> {
    if s == ioc_protocol::topic::INDICATOR_DOMAIN {
        return Ok(Stream::Indicator);
    }
    s.parse::<Domain>().map(Stream::Domain).map_err(|e| {
        format!("{e}: one of traffic, env, flood, complaint, service, system, indicator")
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("IOC_LOG").unwrap_or_else(|_| "info".into()),
        ))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let now = chrono::Utc::now().timestamp_millis();
    if args.rate.is_some() {
        tracing::warn!(
            "--rate is no longer used: the rate follows from the preset, --scale and --speed"
        );
    }
    let preset = match &args.preset {
        Some(path) => Preset::load(path)?,
        None => Preset::built_in(),
    };
    if !matches!(
        preset.timezone.as_str(),
        "Asia/Ho_Chi_Minh" | "Asia/Saigon" | "Asia/Bangkok" | "Asia/Jakarta" | "Asia/Phnom_Penh"
    ) {
        tracing::warn!(
            timezone = preset.timezone,
            "the simulator keeps local time at UTC+7 (Asia/Ho_Chi_Minh)"
        );
    }
    let start = clock::parse_time(&args.start, now).context("--start")?;
    let end = match (&args.duration, &args.until) {
        (Some(d), _) => Some(start + clock::parse_duration(d).context("--duration")?),
        (None, Some(u)) => Some(clock::parse_time(u, now).context("--until")?),
        (None, None) => None,
    };
    let pacing = Pacing::new(start, args.speed, end);
    pacing.validate(now)?;
    let qos = match args.qos {
        0 => QoS::AtMostOnce,
        _ => QoS::AtLeastOnce,
    };
    let mqtt = publish::mqtt_options(&args.broker, &args.client_id, MAX_INFLIGHT)?;
    let truth = args
        .truth_log
        .as_deref()
        .map(TruthLog::create)
        .transpose()?;

    let inject_from = match &args.inject_from {
        Some(t) => clock::parse_time(t, now).context("--inject-from")?,
        None => start,
    };
    if args.inject == 0 && args.inject_from.is_some() {
        tracing::warn!("--inject-from without --inject: no anomaly is injected");
    }
    if args.inject > 0 && end.is_some_and(|end| inject_from >= end) {
        tracing::warn!("--inject-from is not before the end of the run: no anomaly is injected");
    }

    let mut sim = Simulation::new(&preset, args.seed, args.scale, start);
    if !args.domains.is_empty() {
        let domains: Vec<Domain> = args.domains.iter().filter_map(|s| s.domain()).collect();
        sim = sim.only(&domains);
    }
    let indicators = !args.no_indicators
        && (args.domains.is_empty() || args.domains.contains(&Stream::Indicator));
    if indicators {
        let catalogue = match &args.indicator_catalogue {
            Some(path) => Catalogue::load(path, &preset)?,
            None => Catalogue::parse(Catalogue::built_in_text(), BUILT_IN_FILE, &preset)
                .context("the built-in indicator catalogue does not fit --preset: name one with --indicator-catalogue, or --no-indicators")?,
        };
        tracing::info!(
            catalogue = catalogue.code,
            indicators = catalogue.indicators.len(),
            "publishing the socio-economic indicators since January {}",
            ioc_sim::FIRST_YEAR
        );
        sim = sim.with_indicators(&catalogue, &preset);
    }
    sim = sim.inject(args.inject, inject_from, end);
    let sources: Vec<String> = sim
        .telemetry_topics()
        .iter()
        .map(|(d, t)| format!("{d} {}", t.len()))
        .collect();
    tracing::info!(
        city = preset.name_en,
        broker = args.broker,
        seed = args.seed,
        scale = args.scale,
        speed = args.speed,
        start = %format_local(start),
        end = %end.map_or_else(|| "none".to_owned(), format_local),
        sources = sources.join(", "),
        inject = args.inject,
        inject_from = %format_local(inject_from.max(start)),
        "simulating"
    );

    // The first Ctrl-C (or SIGTERM) stops the simulation and waits for the broker's
    // acknowledgements; a second one exits at once.
    let stop = Arc::new(Notify::new());
    let stop_signal = stop.clone();
    tokio::spawn(async move {
        stop_requested().await;
        tracing::info!("stopping: waiting for the broker's acknowledgements (again to exit now)");
        stop_signal.notify_one();
        stop_requested().await;
        tracing::warn!("exiting without waiting for the broker");
        std::process::exit(130);
    });
    let opts = PublishOptions {
        qos,
        ..PublishOptions::default()
    };
    let summary = publish::run(&mut sim, pacing, mqtt, &opts, truth, async move {
        stop.notified().await
    })
    .await?;
    println!("ioc-sim: {summary}");
    if !summary.complete() {
        bail!(
            "{} of {} messages were not confirmed by the broker",
            summary.published - summary.confirmed,
            summary.published
        );
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_requested() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
