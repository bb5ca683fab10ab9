//! Two server replicas against one Mosquitto and one shared store (docs/scaling.md): the
//! store's subscription is shared (`$share/ioc/ioc/v1/#`), so each reading is written by one
//! replica only, while each replica's live connection reads every reading, so that both
//! replicas show the same tiles.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use ioc_protocol::Domain;
use ioc_tests::victoria::Victoria;
use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, now_ms};

/// Readings published, from `SOURCES` sources.
const READINGS: usize = 4_000;
const SOURCES: usize = 40;

fn replica(vm: &Victoria, broker: &Mosquitto, id: &str) -> anyhow::Result<TestServer> {
    TestServer::start_with(&[
        "--store",
        "influxdb",
        "--influxdb-url",
        &vm.url,
        "--mqtt-url",
        &format!("mqtt://{}", broker.addr),
        "--mqtt-client-id",
        id,
        "--mqtt-shared-group",
        "ioc",
    ])
}

/// Two replicas of one group (`ioc-replica-a` and `-b`) on one Mosquitto and one
/// VictoriaMetrics, both ready, and the city's areas.
async fn two_replicas() -> anyhow::Result<(Victoria, Mosquitto, TestServer, TestServer, Vec<String>)>
{
    let vm = Victoria::start().await?;
    let broker = Mosquitto::start()?;
    let a = replica(&vm, &broker, "ioc-replica-a")?;
    let b = replica(&vm, &broker, "ioc-replica-b")?;
    wait_ready(&a).await?;
    wait_ready(&b).await?;
    let areas = LiveClient::connect(&a).await?.area_codes();
    anyhow::ensure!(
        areas.len() >= SOURCES / 2,
        "too few areas for one source each"
    );
    Ok((vm, broker, a, b, areas))
}

/// Readings the replica wrote to the store.
async fn written(s: &TestServer) -> anyhow::Result<f64> {
    s.metrics().await?.value("ioc_store_written_total")
}

/// Where source `s` is: one air station and one traffic sensor per area at most, so that an
/// area's figure is its one source's newest reading.
fn area_of(areas: &[String], s: usize) -> &str {
    &areas[(s / 2) % areas.len()]
}

/// 40 sources (half air stations, half traffic sensors) over the areas, each with its `seq`,
/// publishing QoS 1 readings at about 2,000/s on a persistent session.
struct Gateway {
    publisher: Publisher,
    areas: Vec<String>,
    t0: i64,
}

impl Gateway {
    async fn connect(broker: &Mosquitto, areas: Vec<String>) -> anyhow::Result<Gateway> {
        Ok(Gateway {
            publisher: Publisher::connect_persistent(broker.addr, "replica-gateway").await?,
            areas,
            t0: now_ms() - 60_000,
        })
    }

    /// Publishes readings `range` (the i-th is source i % SOURCES's (i / SOURCES)-th), and
    /// waits for the broker to acknowledge them.
    async fn publish(&mut self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut unacked = 0;
        for i in range {
            if i % 20 == 0 {
                tick.tick().await;
            }
            let s = i % SOURCES;
            let n = i / SOURCES;
            let area = area_of(&self.areas, s);
            let ts = self.t0 + n as i64 * 10;
            let (topic, values) = if s.is_multiple_of(2) {
                (
                    format!("ioc/v1/env/{area}/replica-{s}"),
                    format!(r#"{{"pm25_ugm3":{}.5}}"#, (s * 7 + n * 3) % 150),
                )
            } else {
                (
                    format!("ioc/v1/traffic/{area}/replica-{s}"),
                    format!(r#"{{"speed_kmh":{}.0}}"#, (s * 5 + n) % 60),
                )
            };
            self.publisher
                .publish(
                    &topic,
                    format!(r#"{{"ts":{ts},"seq":{n},"values":{values}}}"#),
                )
                .await?;
            unacked += 1;
            if unacked == 1000 {
                self.publisher
                    .wait_acks(unacked, Duration::from_secs(10))
                    .await?;
                unacked = 0;
            }
        }
        self.publisher
            .wait_acks(unacked, Duration::from_secs(10))
            .await
    }
}

/// Every (source, ts) the store holds, by series.
async fn stored(
    vm: &Victoria,
    at_least: usize,
) -> anyhow::Result<BTreeMap<(String, String), Vec<i64>>> {
    let samples = vm
        .export_until("every reading in the store", Duration::from_secs(30), |s| {
            s.len() >= at_least
        })
        .await?;
    let mut by_series: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for ((name, labels), ts, _) in &samples {
        let source = labels.get("source").cloned().unwrap_or_default();
        by_series
            .entry((name.clone(), source))
            .or_default()
            .push(*ts);
    }
    Ok(by_series)
}

/// Waits for `/readyz` to say 200: a replica is ready once both its connections are
/// subscribed (a message published before would not be queued for a subscription yet to be).
async fn wait_ready(server: &TestServer) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = reqwest::get(server.url("/readyz")).await?;
        if r.status().is_success() {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "replica at {} not ready: {}",
            server.http,
            r.text().await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_store_each_reading_once_and_show_the_same_tiles() -> anyhow::Result<()> {
    let (vm, broker, a, b, areas) = two_replicas().await?;

    let mut gateway = Gateway::connect(&broker, areas.clone()).await?;
    gateway.publish(0..READINGS).await?;

    // Stored once: the replicas' writes add up to exactly what was published, each replica
    // took a share, and the store holds every (series, ts).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (wa, wb) = loop {
        let (wa, wb) = (written(&a).await?, written(&b).await?);
        if wa + wb >= READINGS as f64 || tokio::time::Instant::now() > deadline {
            break (wa, wb);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Anything written twice would show up after the first count is reached.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (wa2, wb2) = (written(&a).await?, written(&b).await?);
    eprintln!("replica a wrote {wa2}, replica b wrote {wb2}, of {READINGS}");
    assert_eq!(
        (wa2, wb2),
        (wa, wb),
        "a replica wrote more after all were written"
    );
    assert_eq!(
        wa + wb,
        READINGS as f64,
        "each reading written by one replica"
    );
    assert!(
        wa > 0.0 && wb > 0.0,
        "both replicas take a share of the writes: {wa} and {wb}"
    );
    let by_series = stored(&vm, READINGS).await?;
    assert_eq!(by_series.len(), SOURCES, "one series per source");
    for ((name, source), ts) in &by_series {
        assert_eq!(
            ts.len(),
            READINGS / SOURCES,
            "{name} of {source}: every reading, once"
        );
    }

    // The same tiles: each replica's live connection saw every reading.
    for s in [&a, &b] {
        let m = s.metrics().await?;
        assert_eq!(
            m.value("ioc_ingest_accepted_total")?,
            READINGS as f64,
            "replica at {} took every reading into its live picture",
            s.http
        );
        assert_eq!(m.value("ioc_ingest_lost_messages")?, 0.0);
    }
    let last_n = READINGS / SOURCES - 1;
    let expected: BTreeMap<(Domain, String), (String, f64)> = (0..SOURCES)
        .map(|s| {
            let area = area_of(&areas, s).to_owned();
            if s.is_multiple_of(2) {
                (
                    (Domain::Env, area),
                    (
                        "pm25_ugm3".to_owned(),
                        ((s * 7 + last_n * 3) % 150) as f64 + 0.5,
                    ),
                )
            } else {
                (
                    (Domain::Traffic, area),
                    ("speed_kmh".to_owned(), ((s * 5 + last_n) % 60) as f64),
                )
            }
        })
        .collect();
    let mut screens = Vec::new();
    for s in [&a, &b] {
        let mut live = LiveClient::connect(s).await?;
        live.wait_for(Duration::from_secs(10), |c| {
            expected.iter().all(|((d, area), (field, v))| {
                c.mean(*d, area, field)
                    .is_some_and(|m| (m - v).abs() < 1e-9)
            })
        })
        .await
        .with_context(|| format!("replica at {} shows the newest readings", s.http))?;
        screens.push(live);
    }
    for area in &areas {
        for (domain, field) in [(Domain::Env, "pm25_ugm3"), (Domain::Traffic, "speed_kmh")] {
            assert_eq!(
                screens[0].mean(domain, area, field),
                screens[1].mean(domain, area, field),
                "{domain:?} {field} in {area}: the replicas agree"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_stream_loses_nothing_once_it_is_back() -> anyhow::Result<()> {
    let (vm, broker, a, b, areas) = two_replicas().await?;
    let mut gateway = Gateway::connect(&broker, areas).await?;

    // Half the readings, then replica a dies (SIGKILL: nothing flushed, nothing acknowledged
    // that was not durable), the other half while it is down, and it comes back.
    gateway.publish(0..READINGS / 2).await?;
    let crashed = a.crash()?;
    gateway.publish(READINGS / 2..READINGS).await?;
    let b_alone = written(&b).await?;
    let a = crashed.restart()?;
    wait_ready(&a).await?;
    // One more reading of every source, now that both are up.
    let total = READINGS + SOURCES;
    gateway.publish(READINGS..total).await?;

    // Every reading in the store: what a had not acknowledged waited in the broker for its
    // persistent session, and what came while it was down went to b or waited for a.
    let by_series = stored(&vm, total).await?;
    assert_eq!(by_series.len(), SOURCES, "one series per source");
    for ((name, source), ts) in &by_series {
        let mut ts = ts.clone();
        ts.dedup();
        assert_eq!(
            ts.len(),
            total / SOURCES,
            "{name} of {source}: every reading"
        );
    }
    eprintln!(
        "while a was down, b had written {b_alone}; after a came back, a wrote {} and b {}",
        written(&a).await?,
        written(&b).await?
    );
    // Both show the newest readings.
    for s in [&a, &b] {
        let mut live = LiveClient::connect(s).await?;
        let (area, field) = (area_of(&live.area_codes(), 0).to_owned(), "pm25_ugm3");
        let last_n = total / SOURCES - 1;
        let want = ((last_n * 3) % 150) as f64 + 0.5;
        live.wait_for(Duration::from_secs(10), |c| {
            c.mean(Domain::Env, &area, field) == Some(want)
        })
        .await
        .with_context(|| format!("replica at {} shows the newest reading", s.http))?;
    }
    Ok(())
}
