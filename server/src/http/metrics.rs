//! `/metrics`: the server's figures in the Prometheus text format (version 0.0.4).
//!
//! Everything here is read from the counters the server keeps anyway (ingest, hub, writer,
//! websockets); the System tile reads the same ones through the hub. Names follow
//! Prometheus' conventions: `_total` for counters, base units (seconds, bytes).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::AppState;
use crate::live::figures::SourceSeen;

/// The latency histogram, kept in [`crate::health`] with the figures it measures.
pub use crate::health::Histogram;

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One metric without labels.
fn single(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    header(out, name, help, kind);
    let _ = writeln!(out, "{name} {value}");
}

/// A gauge per telemetry source, labelled by domain, area and source.
fn per_source(
    out: &mut String,
    name: &str,
    help: &str,
    sources: &[SourceSeen],
    value: impl Fn(&SourceSeen) -> String,
) {
    header(out, name, help, "gauge");
    for s in sources {
        let _ = writeln!(
            out,
            "{name}{{domain=\"{}\",area=\"{}\",source=\"{}\"}} {}",
            s.domain,
            esc(&s.area),
            esc(&s.source),
            value(s)
        );
    }
}

/// A counter with a `reason` label, one line per reason.
fn by_reason<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (&'a str, u64)>,
) {
    header(out, name, help, "counter");
    for (reason, n) in rows {
        let _ = writeln!(out, "{name}{{reason=\"{}\"}} {n}", esc(reason));
    }
}

/// A label value, escaped as the format asks (backslash, double quote, line feed).
fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The whole text of `/metrics`.
pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let o = &mut out;
    let now_ms = chrono::Utc::now().timestamp_millis();

    // Ingest.
    let ingest = &state.ingest;
    // Counts only: the recent rejected messages (`report()`) are not copied for a scrape.
    let rejected = ingest.rejected_by_reason();
    single(
        o,
        "ioc_ingest_accepted_total",
        "Messages accepted (MQTT and HTTP ingest).",
        "counter",
        ingest.accepted.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_ingest_points_total",
        "Data points (fields) of the accepted messages.",
        "counter",
        ingest.points.load(Ordering::Relaxed),
    );
    by_reason(
        o,
        "ioc_ingest_rejected_total",
        "Messages rejected, by reason (CONTRACT.md).",
        rejected.iter().map(|(r, &n)| (r.as_str(), n)),
    );
    single(
        o,
        "ioc_ingest_dropped_qos0_total",
        "QoS 0 messages dropped because the store writer's queue was full.",
        "counter",
        ingest.dropped_qos0.load(Ordering::Relaxed),
    );
    let (lost, restarts, lost_by_topic) = {
        let seqs = ingest.sequences.lock().unwrap_or_else(|e| e.into_inner());
        let by: Vec<(String, u64)> = seqs
            .lost_by_topic()
            .into_iter()
            .map(|(t, n)| (t.to_owned(), n))
            .collect();
        (seqs.lost, seqs.restarts, by)
    };
    single(
        o,
        "ioc_ingest_lost_messages",
        "Messages lost on the way, from gaps in the sources' seq.",
        "gauge",
        lost,
    );
    single(
        o,
        "ioc_ingest_seq_restarts_total",
        "Times a source's seq started again from far below (a gateway restarted).",
        "counter",
        restarts,
    );
    header(
        o,
        "ioc_source_lost_messages",
        "Messages lost per source (topic), from gaps in its seq; only sources that lost any.",
        "gauge",
    );
    for (topic, n) in &lost_by_topic {
        let _ = writeln!(
            o,
            "ioc_source_lost_messages{{topic=\"{}\"}} {n}",
            esc(topic)
        );
    }
    let system = state.hub.system_figures();
    single(
        o,
        "ioc_ingest_readings_per_second",
        "Accepted messages per second over the last 10 s (as on the System tile).",
        "gauge",
        system.readings_per_s,
    );

    // Sources.
    let sources = state.hub.sources(now_ms);
    per_source(
        o,
        "ioc_source_last_seen_timestamp_seconds",
        "Time (ts) of each telemetry source's newest reading.",
        &sources,
        |s| (s.ts as f64 / 1000.0).to_string(),
    );
    per_source(
        o,
        "ioc_source_up",
        "1 if the source reported within its domain's expected interval, else 0 (offline).",
        &sources,
        |s| u8::from(s.online).to_string(),
    );
    single(
        o,
        "ioc_sources_offline",
        "Telemetry sources past their domain's expected interval.",
        "gauge",
        system.sources_offline,
    );

    // Broker.
    single(
        o,
        "ioc_broker_connected",
        "1 while the MQTT subscriber is connected and subscribed.",
        "gauge",
        u8::from(ingest.broker_connected()),
    );
    single(
        o,
        "ioc_broker_connects_total",
        "Connections to the MQTT broker (the first and every reconnection).",
        "counter",
        ingest.broker_connects.load(Ordering::Relaxed),
    );

    if let Some(e) = ingest.endpoint.get() {
        endpoint(o, e);
    }

    // Hub and websockets.
    let hub = state.hub.counters();
    single(
        o,
        "ioc_hub_messages_applied_total",
        "Messages taken into the live picture.",
        "counter",
        hub.applied.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_hub_deltas_total",
        "Deltas published (one per coalescing window at most; applied/deltas is the coalescing).",
        "counter",
        hub.deltas.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_hub_delta_bytes_total",
        "Bytes of the deltas published, each serialised once whatever the fan-out.",
        "counter",
        hub.delta_bytes.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_hub_snapshots_total",
        "Snapshots built (a connect, a resync).",
        "counter",
        hub.snapshots.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_websocket_clients",
        "Websockets connected.",
        "gauge",
        state.hub.clients(),
    );
    single(
        o,
        "ioc_websocket_messages_sent_total",
        "Messages sent to websockets (the fan-out).",
        "counter",
        hub.ws_sent.load(Ordering::Relaxed),
    );
    hub.ws_fanout.render(
        o,
        "ioc_websocket_fanout_seconds",
        "From a delta's making (the end of its coalescing window) to its write on each websocket.",
    );
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    by_reason(
        o,
        "ioc_websocket_resyncs_total",
        "Fresh snapshots sent instead of deltas: the client fell behind (lagged) or asked.",
        [
            ("lagged", load(&hub.ws_lagged)),
            ("requested", load(&hub.ws_requested)),
        ],
    );
    by_reason(
        o,
        "ioc_websocket_dropped_total",
        "Websockets the server closed: it stopped reading (slow) or went silent (dead).",
        [
            ("slow", load(&hub.ws_slow)),
            ("silent", load(&hub.ws_silent)),
        ],
    );

    // Store.
    let w = state.writer.report();
    let ws = state.writer.stats();
    single(
        o,
        "ioc_store_written_total",
        "Messages made durable in the store, directly or from the spool (the embedded store: in its journal).",
        "counter",
        w.written,
    );
    if let (Some(folded), Some(pending), Some(failures)) =
        (w.folded, w.fold_pending, w.fold_failures)
    {
        single(
            o,
            "ioc_store_folded_total",
            "Messages folded from the embedded store's journal into its SQLite file.",
            "counter",
            folded,
        );
        single(
            o,
            "ioc_store_fold_pending",
            "Messages in the embedded store's journal, not yet in its SQLite file.",
            "gauge",
            pending,
        );
        single(
            o,
            "ioc_store_fold_failures_total",
            "Folds of the embedded store's journal into its SQLite file that failed (retried).",
            "counter",
            failures,
        );
    }
    single(
        o,
        "ioc_store_spooled_total",
        "Messages put in the on-disk spool while the store was unavailable.",
        "counter",
        w.spooled,
    );
    by_reason(
        o,
        "ioc_store_dropped_total",
        "Messages the store refused for their content, by reason.",
        w.dropped.iter().map(|(r, &n)| (r.as_str(), n)),
    );
    single(
        o,
        "ioc_store_queue_depth",
        "Messages waiting in the store writer's queue.",
        "gauge",
        w.queue_depth,
    );
    single(
        o,
        "ioc_store_queue_capacity",
        "The store writer's queue capacity.",
        "gauge",
        state.writer.capacity(),
    );
    single(
        o,
        "ioc_store_writable",
        "1 while the store takes writes, 0 while batches go to the spool.",
        "gauge",
        u8::from(ws.writable()),
    );
    ws.write_seconds.render(
        o,
        "ioc_store_write_seconds",
        "Time of each batch written to the store.",
    );
    single(
        o,
        "ioc_spool_batches",
        "Batches in the on-disk spool.",
        "gauge",
        w.spool_batches,
    );
    single(
        o,
        "ioc_spool_bytes",
        "Bytes of the on-disk spool.",
        "gauge",
        w.spool_bytes,
    );

    // Alerts.
    let a = &state.alerts.counters;
    for (name, help, v) in [
        (
            "ioc_alerts_opened_total",
            "Alerts opened (new ones, summaries included).",
            &a.opened,
        ),
        (
            "ioc_alerts_reopened_total",
            "Resolved alerts opened again by their condition.",
            &a.reopened,
        ),
        (
            "ioc_alerts_held_total",
            "New alerts held back by the limit a minute ((rule, source) per minute).",
            &a.held,
        ),
        (
            "ioc_alerts_resolved_by_themselves_total",
            "Alerts resolved because their condition cleared.",
            &a.resolved_by_themselves,
        ),
        (
            "ioc_alerts_anomalies_total",
            "Series that turned anomalous.",
            &a.anomalies,
        ),
        (
            "ioc_alerts_write_errors_total",
            "Failed writes of alerts.sqlite (retried).",
            &a.write_errors,
        ),
    ] {
        single(o, name, help, "counter", v.load(Ordering::Relaxed));
    }
    let f = state.alerts.figure();
    header(o, "ioc_alerts", "Alerts not closed, by state.", "gauge");
    for (label, n) in [
        ("open", f.open),
        ("acknowledged", f.acknowledged),
        ("resolved", f.resolved),
    ] {
        let _ = writeln!(o, "ioc_alerts{{state=\"{label}\"}} {n}");
    }

    // The socio-economic indicators.
    let stats = state.indicators.stats();
    header(
        o,
        "ioc_indicator_values_total",
        "Indicator values stored, by the way they came (mqtt, api, import).",
        "counter",
    );
    for (way, n) in stats.stored_by_way() {
        let _ = writeln!(o, "ioc_indicator_values_total{{way=\"{way}\"}} {n}");
    }
    header(
        o,
        "ioc_indicator_refused_total",
        "Indicator values (or reports, or files) refused, by way and reason (docs/ingest.md).",
        "counter",
    );
    for ((way, reason), n) in stats.refused_by_reason() {
        let _ = writeln!(
            o,
            "ioc_indicator_refused_total{{way=\"{way}\",reason=\"{}\"}} {n}",
            esc(reason)
        );
    }

    // The process.
    if let Some((rss, cpu)) = process_usage() {
        single(
            o,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            rss,
        );
        single(
            o,
            "process_cpu_seconds_total",
            "User and system CPU time spent in seconds.",
            "counter",
            cpu,
        );
    }
    out
}

/// `GET /metrics`: Prometheus' text format.
pub(crate) async fn serve(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&state),
    )
        .into_response()
}

/// Resident memory (bytes) and CPU time (seconds) of this process, from `/proc` (Linux).
pub fn process_usage() -> Option<(u64, f64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name and state.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // Linux reports page sizes of 4 KiB and 100 ticks a second on every platform we run on.
    Some((pages * 4096, ticks as f64 / 100.0))
}

/// The embedded MQTT endpoint's figures.
fn endpoint(o: &mut String, e: &crate::ingest::endpoint::EndpointStats) {
    single(
        o,
        "ioc_mqtt_connections",
        "Clients connected to the embedded MQTT endpoint.",
        "gauge",
        e.connections.load(Ordering::Relaxed),
    );
    let refused = e.refusals();
    header(
        o,
        "ioc_mqtt_connects_refused_total",
        "CONNECTs the embedded MQTT endpoint refused, by reason.",
        "counter",
    );
    for (reason, n) in refused {
        let _ = writeln!(
            o,
            "ioc_mqtt_connects_refused_total{{reason=\"{reason}\"}} {n}"
        );
    }
    single(
        o,
        "ioc_mqtt_protocol_errors_total",
        "Connections closed because the client broke the MQTT protocol.",
        "counter",
        e.protocol_errors.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_mqtt_acks_sent_total",
        "PUBACKs and PUBRECs sent: QoS 1 and 2 messages acknowledged once durable.",
        "counter",
        e.acks_sent.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_mqtt_relayed_total",
        "Messages relayed live (QoS 0) to subscribers of the embedded endpoint.",
        "counter",
        e.relayed.load(Ordering::Relaxed),
    );
    single(
        o,
        "ioc_mqtt_relay_dropped_total",
        "Messages not relayed to a subscriber that read too slowly.",
        "counter",
        e.relay_dropped.load(Ordering::Relaxed),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(esc("a\nb"), "a\\nb");
    }

    #[test]
    fn this_process_has_memory_and_cpu() {
        let (rss, cpu) = process_usage().expect("Linux /proc");
        assert!(rss > 1_000_000, "{rss}");
        assert!(cpu >= 0.0);
    }
}
