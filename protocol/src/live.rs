//! Live figures and the websocket messages that carry them (see `docs/websocket.md`).
//!
//! The server sends a [`ServerMsg::Snapshot`] when a browser connects (and whenever that
//! browser fell behind), then [`ServerMsg::Delta`]s holding only the figures that changed.
//! Both carry `seq`, a counter that grows by one with every delta the server publishes: a
//! client applies a delta only when its `seq` is exactly one more than the last it applied,
//! and asks for a fresh snapshot ([`ClientMsg::Resync`]) otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertsFigure;
use crate::topic::Domain;

/// An area of the city as the screens name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaInfo {
    /// The code the ingest contract uses (`q1`, `thu-duc`, ...).
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// One numeric field aggregated over the fresh sources of an area: the latest value of each
/// source that reported within its domain's freshness window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FieldStat {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// How many sources the figure is computed from.
    pub n: u32,
}

/// The live figures of one domain in one area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaStat {
    pub domain: Domain,
    pub area: String,
    /// Numeric fields by name.
    pub fields: BTreeMap<String, FieldStat>,
    /// Sources that have reported in this area and domain since the server started.
    pub sources: u32,
    /// Sources whose newest reading is within the freshness window.
    pub fresh_sources: u32,
    /// Time of the newest reading, epoch ms UTC.
    pub newest_ts: i64,
    /// True when no source of this area reported within the freshness window: the figures
    /// are the last known ones, and the screen must say so.
    pub stale: bool,
}

impl AreaStat {
    pub fn key(&self) -> (Domain, &str) {
        (self.domain, &self.area)
    }
}

/// Whether a figure is current: the time of its newest reading, and whether its sources
/// stopped reporting (then the figure is the last known one, and the screen must say so).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// Epoch ms UTC of the newest reading behind the figure; 0 when none ever came.
    pub newest_ts: i64,
    pub stale: bool,
}

/// One traffic corridor: the mean of its fresh sensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorridorFigure {
    /// The corridor's id in the city preset (also its sensors' source id).
    pub id: String,
    pub area: String,
    pub speed_kmh: Option<f64>,
    /// Level 0 (free flow) to 5 (gridlock), mean of the sensors.
    pub congestion: Option<f64>,
    pub volume_vph: Option<f64>,
    pub free_flow_kmh: f64,
    /// The open incident reported on the corridor, if any (its kind, as sent).
    pub incident: Option<String>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// Traffic over an area (or the whole city): means over its fresh corridors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficArea {
    pub area: String,
    pub speed_kmh: Option<f64>,
    pub congestion: Option<f64>,
    pub corridors: u32,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// An incident open on a corridor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub corridor: String,
    pub area: String,
    pub kind: String,
    /// When the corridor first reported it, epoch ms.
    pub since: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficFigures {
    pub city: Option<TrafficArea>,
    pub areas: Vec<TrafficArea>,
    pub corridors: Vec<CorridorFigure>,
    /// The five worst fresh corridors, worst first: highest congestion, then lowest share of
    /// free-flow speed.
    pub hotspots: Vec<String>,
    pub incidents: Vec<Incident>,
}

/// One air-quality station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationFigure {
    pub id: String,
    pub area: String,
    /// The hourly VN_AQI computed by the server from the concentrations (Decision
    /// 1459/QĐ-TCMT; PM2.5 and PM10 by NowCast). `None` until the station has two of its
    /// three latest hours (45 minutes of readings each).
    pub aqi: Option<u32>,
    /// The pollutant that sets it (`pm25_ugm3`, ...).
    pub dominant: Option<String>,
    /// The `aqi` the station itself reported in its newest reading, if any: not the official
    /// figure, shown only while `aqi` is unknown.
    pub sensor_aqi: Option<u32>,
    /// The newest PM2.5 reading, µg/m³.
    pub pm25_ugm3: Option<f64>,
    /// The PM2.5 NowCast the index uses, µg/m³.
    pub pm25_nowcast: Option<f64>,
    /// PM2.5 NowCast now minus an hour earlier, µg/m³: positive is getting worse.
    pub pm25_trend: Option<f64>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// Air quality over an area (or the city): the worst fresh station, and mean PM2.5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvArea {
    pub area: String,
    pub aqi: Option<u32>,
    pub pm25_ugm3: Option<f64>,
    pub pm25_trend: Option<f64>,
    pub stations: u32,
    #[serde(flatten)]
    pub fresh: Freshness,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvFigures {
    pub city: Option<EnvArea>,
    pub areas: Vec<EnvArea>,
    pub stations: Vec<StationFigure>,
}

/// One flood gauge against its alarm levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeFigure {
    pub id: String,
    pub area: String,
    pub water_level_cm: Option<f64>,
    pub rain_mmh: Option<f64>,
    /// 0 below BĐ1, else 1, 2 or 3.
    pub alarm: u8,
    pub bd1_cm: f64,
    pub bd2_cm: f64,
    pub bd3_cm: f64,
    /// The highest level since local midnight.
    pub peak_today_cm: Option<f64>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FloodFigures {
    pub gauges: Vec<GaugeFigure>,
    /// The highest alarm level of any fresh gauge.
    pub max_alarm: u8,
    /// Fresh gauges at BĐ1 or above.
    pub at_alarm: u32,
    /// The heaviest rain reported by a fresh gauge, mm/h.
    pub max_rain_mmh: Option<f64>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// Counts of complaints (1022) over an area or the city. "Today" is since local midnight,
/// Asia/Ho_Chi_Minh.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplaintCounts {
    pub area: String,
    /// Complaints received today.
    pub received: u32,
    /// Complaints resolved today (whenever received).
    pub resolved: u32,
    /// Open now (received, assigned or in progress; whenever received).
    pub open: u32,
    /// Of the open ones, those an officer works on (`in_progress`).
    pub in_progress: u32,
    /// Of the open ones, those past their deadline.
    pub overdue: u32,
    /// Received today per 10,000 inhabitants (areas only).
    pub per_10k: Option<f64>,
    /// Share of today's resolutions that met their deadline (those with one), 0..1.
    pub on_time_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplaintFigures {
    pub city: ComplaintCounts,
    pub areas: Vec<ComplaintCounts>,
    /// Received today, by category and by channel.
    pub by_category: BTreeMap<String, u32>,
    pub by_channel: BTreeMap<String, u32>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// Counts of online public-service dossiers over an agency, an area or the city.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceCounts {
    /// The agency's code or the area's code (`city` for the whole city).
    pub key: String,
    /// Dossiers received today.
    pub received: u32,
    /// Dossiers done today (whenever received).
    pub done: u32,
    /// Of those done today, on time (no later than their deadline).
    pub done_on_time: u32,
    /// Returned today.
    pub returned: u32,
    /// Share of today's received dossiers filed online, 0..1.
    pub online_share: Option<f64>,
    /// `done_on_time / done`, 0..1.
    pub on_time_rate: Option<f64>,
    /// Open now: received or processing, whenever received.
    pub backlog: u32,
    /// Of the backlog, past their deadline.
    pub overdue: u32,
}

/// A city platform's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformFigure {
    pub id: String,
    pub up: Option<bool>,
    pub latency_ms: Option<f64>,
    pub error_pct: Option<f64>,
    /// Share of today's health readings that said up, 0..1.
    pub availability_today: Option<f64>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    pub city: ServiceCounts,
    pub agencies: Vec<ServiceCounts>,
    pub areas: Vec<ServiceCounts>,
    pub platforms: Vec<PlatformFigure>,
    #[serde(flatten)]
    pub fresh: Freshness,
}

/// The center's own health: its sources and its intake.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemFigures {
    /// Telemetry sources whose newest reading is within their domain's window.
    pub sources_online: u32,
    /// Telemetry sources that reported before but not within their domain's window.
    pub sources_offline: u32,
    /// Offline sources, by domain then area and source (at most 50 listed).
    pub offline: Vec<String>,
    /// Accepted and rejected messages per second, over the last 10 s.
    pub readings_per_s: f64,
    pub rejected_per_s: f64,
    pub websocket_clients: u32,
    /// Messages lost on the way, counted from gaps in each source's `seq` since start.
    #[serde(default)]
    pub lost_messages: u64,
    /// The server's MQTT subscriber is connected and subscribed.
    #[serde(default)]
    pub broker_connected: bool,
    /// The store takes writes (false while they go to the on-disk spool).
    #[serde(default)]
    pub store_writable: bool,
    /// Batches waiting in the spool for the store.
    #[serde(default)]
    pub spool_batches: u64,
}

/// The figures of one domain, sent whole when any of them changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "domain", rename_all = "snake_case")]
pub enum DomainFigures {
    Traffic(TrafficFigures),
    Env(EnvFigures),
    Flood(FloodFigures),
    Complaint(ComplaintFigures),
    Service(ServiceFigures),
    System(SystemFigures),
}

impl DomainFigures {
    pub fn domain(&self) -> Domain {
        match self {
            DomainFigures::Traffic(_) => Domain::Traffic,
            DomainFigures::Env(_) => Domain::Env,
            DomainFigures::Flood(_) => Domain::Flood,
            DomainFigures::Complaint(_) => Domain::Complaint,
            DomainFigures::Service(_) => Domain::Service,
            DomainFigures::System(_) => Domain::System,
        }
    }
}

/// The whole live picture, sent on connect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The `seq` of the last delta included in this snapshot.
    pub seq: u64,
    /// The server's clock when the snapshot was taken, epoch ms; lets a browser whose clock
    /// is off still show correct ages.
    pub server_time: i64,
    /// The city's name, in Vietnamese and English.
    pub city_vi: String,
    pub city_en: String,
    pub areas: Vec<AreaInfo>,
    /// After how many seconds without a reading a domain's figures of an area are stale.
    pub stale_after_s: BTreeMap<Domain, u32>,
    pub stats: Vec<AreaStat>,
    /// Local midnight (Asia/Ho_Chi_Minh) that today's counts start from, epoch ms.
    #[serde(default)]
    pub day_start: i64,
    /// Every domain's figures.
    #[serde(default)]
    pub figures: Vec<DomainFigures>,
    /// The alerts not closed, and their counts.
    #[serde(default)]
    pub alerts: AlertsFigure,
}

/// The figures that changed since the previous delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub seq: u64,
    pub server_time: i64,
    pub stats: Vec<AreaStat>,
    /// The domains whose figures changed, each whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<DomainFigures>,
    /// Set when today's counts restarted (local midnight passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_start: Option<i64>,
    /// The alerts, whole, when any of them changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsFigure>,
}

/// What the server sends over `/ws`, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Snapshot(Snapshot),
    Delta(Delta),
    /// Sent every few seconds when nothing else is: lets the browser tell a quiet city from
    /// a dead connection, and keeps its clock offset fresh.
    Heartbeat {
        server_time: i64,
    },
}

/// What a browser may send over `/ws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Send me a fresh snapshot (after a gap in `seq`).
    Resync,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let d = ServerMsg::Delta(Delta {
            seq: 3,
            server_time: 10,
            stats: vec![AreaStat {
                domain: Domain::Env,
                area: "q1".into(),
                fields: [(
                    "aqi".to_owned(),
                    FieldStat {
                        mean: 80.0,
                        min: 70.0,
                        max: 90.0,
                        n: 2,
                    },
                )]
                .into(),
                sources: 2,
                fresh_sources: 2,
                newest_ts: 9,
                stale: false,
            }],
            figures: vec![DomainFigures::Flood(FloodFigures {
                max_alarm: 2,
                ..FloodFigures::default()
            })],
            day_start: None,
            alerts: None,
        });
        let text = serde_json::to_string(&d).unwrap();
        assert!(text.starts_with(r#"{"type":"delta","seq":3"#), "{text}");
        assert!(text.contains(r#""figures":[{"domain":"flood","#), "{text}");
        assert!(!text.contains("day_start"), "{text}");
        assert_eq!(serde_json::from_str::<ServerMsg>(&text).unwrap(), d);
        assert_eq!(
            serde_json::from_str::<ClientMsg>(r#"{"type":"resync"}"#).unwrap(),
            ClientMsg::Resync
        );
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"drop_tables"}"#).is_err());
    }
}
