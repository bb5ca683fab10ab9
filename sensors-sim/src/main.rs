//! `ioc-sim`: publishes a simulated Ho Chi Minh City to an MQTT broker.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use ioc_sim::City;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

#[derive(Debug, Parser)]
#[command(
    name = "ioc-sim",
    version,
    about = "Simulated city sensors publishing over MQTT"
)]
struct Args {
    /// The broker, `mqtt://host:port`.
    #[arg(long, env = "IOC_SIM_BROKER", default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// Readings per second, over all sources.
    #[arg(long, env = "IOC_SIM_RATE", default_value_t = 50.0)]
    rate: f64,
    /// Seed of the random values: the same seed gives the same readings.
    #[arg(long, env = "IOC_SIM_SEED", default_value_t = 1)]
    seed: u64,
    /// Air-quality stations per area.
    #[arg(long, default_value_t = 2)]
    air: usize,
    /// Traffic sensors per area.
    #[arg(long, default_value_t = 3)]
    traffic: usize,
    /// Stop after this many readings (default: run until stopped).
    #[arg(long)]
    count: Option<u64>,
    /// MQTT QoS of the readings: 0 or 1.
    #[arg(long, default_value_t = 1)]
    qos: u8,
    /// MQTT client id.
    #[arg(long, default_value = "ioc-sim")]
    client_id: String,
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
    if !(args.rate > 0.0 && args.rate <= 1_000_000.0) {
        bail!("--rate must be above 0 and at most 1000000 readings/s");
    }
    let qos = match args.qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        q => bail!("--qos must be 0 or 1, not {q}"),
    };
    let (host, port) = parse_broker(&args.broker)?;
    let mut opts = MqttOptions::new(args.client_id.clone(), host, port);
    opts.set_keep_alive(Duration::from_secs(15))
        .set_inflight(500);
    let (client, mut eventloop) = AsyncClient::new(opts, 1000);
    // The event loop must be polled all the time; it runs on its own task and only logs.
    tokio::spawn(async move {
        let mut connected = false;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    tracing::info!("connected to the broker");
                }
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        tracing::warn!(error = %e, "lost the broker; reconnecting");
                    }
                    connected = false;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });

    let mut city = City::new(args.seed, args.air, args.traffic);
    tracing::info!(sources = city.sources(), rate = args.rate, "publishing");
    let tick = Duration::from_millis(10);
    let per_tick = args.rate * tick.as_secs_f64();
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut due = 0.0;
    let mut sent: u64 = 0;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        due += per_tick;
        while due >= 1.0 {
            due -= 1.0;
            let (topic, payload) = city.next(chrono::Utc::now());
            client
                .publish(topic, qos, false, payload)
                .await
                .context("the MQTT client stopped")?;
            sent += 1;
            if args.count.is_some_and(|c| sent >= c) {
                // Give the last QoS 1 messages a moment to be acknowledged.
                tokio::time::sleep(Duration::from_millis(500)).await;
                tracing::info!(sent, "done");
                return Ok(());
            }
        }
    }
    tracing::info!(sent, "stopped");
    Ok(())
}

fn parse_broker(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .with_context(|| format!("--broker {url:?} must start with mqtt://"))?;
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "1883"));
    Ok((
        host.to_owned(),
        port.parse()
            .with_context(|| format!("bad port in {url:?}"))?,
    ))
}
