//! Live figures and the websocket messages that carry them (see `docs/websocket.md`).
//!
//! The server sends a [`ServerMsg::Snapshot`] when a browser connects (and whenever that
//! browser fell behind), then [`ServerMsg::Delta`]s holding only the figures that changed.
//! Both carry `seq`, a counter that grows by one with every delta the server publishes: a
//! client applies a delta only when its `seq` is exactly one more than the last it applied,
//! and asks for a fresh snapshot ([`ClientMsg::Resync`]) otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
}

/// The figures that changed since the previous delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub seq: u64,
    pub server_time: i64,
    pub stats: Vec<AreaStat>,
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
        });
        let text = serde_json::to_string(&d).unwrap();
        assert!(text.starts_with(r#"{"type":"delta","seq":3"#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMsg>(&text).unwrap(), d);
        assert_eq!(
            serde_json::from_str::<ClientMsg>(r#"{"type":"resync"}"#).unwrap(),
            ClientMsg::Resync
        );
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"drop_tables"}"#).is_err());
    }
}
