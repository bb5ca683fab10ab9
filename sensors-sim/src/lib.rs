//! A simulated Ho Chi Minh City: air-quality stations and traffic sensors in each of its
//! district-level areas, producing plausible readings per the ingest contract.
//!
//! [`City::next`] gives the next message (topic and JSON payload) in a fixed round over the
//! sources, with values that follow the time of day in Asia/Ho_Chi_Minh: rush hours slow the
//! traffic and raise PM2.5. The same seed gives the same values.

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The 22 district-level areas of 2022 and how central each is (0 rural .. 1 core): the core
/// is slower and more polluted.
pub const AREAS: [(&str, f64); 22] = [
    ("q1", 1.0),
    ("q3", 0.95),
    ("q4", 0.8),
    ("q5", 0.9),
    ("q6", 0.7),
    ("q7", 0.6),
    ("q8", 0.6),
    ("q10", 0.9),
    ("q11", 0.8),
    ("q12", 0.5),
    ("thu-duc", 0.5),
    ("binh-tan", 0.6),
    ("binh-thanh", 0.85),
    ("go-vap", 0.7),
    ("phu-nhuan", 0.85),
    ("tan-binh", 0.85),
    ("tan-phu", 0.7),
    ("binh-chanh", 0.3),
    ("can-gio", 0.05),
    ("cu-chi", 0.15),
    ("hoc-mon", 0.3),
    ("nha-be", 0.25),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Air,
    Traffic,
}

#[derive(Debug)]
struct Source {
    kind: Kind,
    area: &'static str,
    id: String,
    centrality: f64,
    seq: u64,
    /// A slow random walk around the daily pattern, so sources differ and drift.
    drift: f64,
}

/// The simulated city.
#[derive(Debug)]
pub struct City {
    sources: Vec<Source>,
    next: usize,
    rng: SmallRng,
}

/// Ho Chi Minh City's time zone: UTC+7 all year (no daylight saving).
pub fn hcmc_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// How busy the roads are at a local hour (0 night .. 1 peak): peaks 7-8 and 17-18.
fn rush(hour: f64) -> f64 {
    let peak = |center: f64, width: f64| (-((hour - center) / width).powi(2)).exp();
    (0.15 + peak(7.5, 1.3) + peak(17.5, 1.6) + 0.35 * peak(12.0, 3.0)).min(1.0)
}

impl City {
    /// `air` stations and `traffic` sensors in each area.
    pub fn new(seed: u64, air: usize, traffic: usize) -> City {
        let mut sources = Vec::new();
        for (area, centrality) in AREAS {
            for n in 1..=air {
                sources.push(Source {
                    kind: Kind::Air,
                    area,
                    id: format!("aqs-{area}-{n:02}"),
                    centrality,
                    seq: 0,
                    drift: 0.0,
                });
            }
            for n in 1..=traffic {
                sources.push(Source {
                    kind: Kind::Traffic,
                    area,
                    id: format!("tfc-{area}-{n:02}"),
                    centrality,
                    seq: 0,
                    drift: 0.0,
                });
            }
        }
        City {
            sources,
            next: 0,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// The next message: its topic and its JSON payload, measured at `now`.
    pub fn next(&mut self, now: DateTime<Utc>) -> (String, String) {
        let i = self.next;
        self.next = (self.next + 1) % self.sources.len();
        let local = now.with_timezone(&hcmc_offset());
        let hour = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
        let busy = rush(hour);
        let rng = &mut self.rng;
        let s = &mut self.sources[i];
        s.seq += 1;
        s.drift = (s.drift + rng.random_range(-0.05..0.05)).clamp(-0.5, 0.5);
        let (domain, values) = match s.kind {
            Kind::Air => {
                // PM2.5 in µg/m³: 15-25 at night in the suburbs, 40-70 at rush hour downtown.
                let pm25 = (12.0 + 45.0 * busy * (0.4 + 0.6 * s.centrality))
                    * (1.0 + s.drift)
                    * rng.random_range(0.9..1.1);
                let pm10 = pm25 * rng.random_range(1.4..1.8);
                let values = json!({
                    "aqi": vn_aqi_pm25(pm25).round(),
                    "pm25_ugm3": round1(pm25),
                    "pm10_ugm3": round1(pm10),
                    "no2_ugm3": round1(20.0 + 40.0 * busy * s.centrality * rng.random_range(0.8..1.2)),
                    "temp_c": round1(26.0 + 6.0 * (-((hour - 14.0) / 5.0).powi(2)).exp() + rng.random_range(-0.5..0.5)),
                    "humidity_pct": round1((80.0 - 15.0 * (-((hour - 14.0) / 5.0).powi(2)).exp() + rng.random_range(-3.0..3.0)).clamp(0.0, 100.0)),
                    "noise_dba": round1(50.0 + 25.0 * busy * s.centrality + rng.random_range(-2.0..2.0)),
                });
                ("env", values)
            }
            Kind::Traffic => {
                // Free flow 45 km/h in the suburbs, 30 downtown; down to a third at the peak.
                let free = 45.0 - 15.0 * s.centrality;
                let load = (busy * (0.3 + 0.55 * s.centrality) * (1.0 + s.drift)).clamp(0.0, 1.0);
                let speed = (free * (1.0 - 0.7 * load) * rng.random_range(0.9..1.1)).max(2.0);
                let congestion = (load * 5.0).round().clamp(0.0, 5.0);
                let values = json!({
                    "speed_kmh": round1(speed),
                    "volume_vph": (400.0 + 2600.0 * load * rng.random_range(0.9..1.1)).round(),
                    "occupancy_pct": round1((10.0 + 80.0 * load).min(100.0)),
                    "congestion": congestion,
                });
                ("traffic", values)
            }
        };
        let topic = format!("ioc/v1/{domain}/{}/{}", s.area, s.id);
        let payload = json!({
            "ts": now.timestamp_millis(),
            "seq": s.seq,
            "values": values,
        });
        (topic, payload.to_string())
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// VN_AQI sub-index of a PM2.5 concentration (µg/m³), by the breakpoints of Decision
/// 1459/QĐ-TCMT: linear between (concentration, index) points.
pub fn vn_aqi_pm25(c: f64) -> f64 {
    const BP: [(f64, f64); 8] = [
        (0.0, 0.0),
        (25.0, 50.0),
        (50.0, 100.0),
        (80.0, 150.0),
        (150.0, 200.0),
        (250.0, 300.0),
        (350.0, 400.0),
        (500.0, 500.0),
    ];
    if c <= 0.0 {
        return 0.0;
    }
    for w in BP.windows(2) {
        let ((c0, i0), (c1, i1)) = (w[0], w[1]);
        if c <= c1 {
            return i0 + (i1 - i0) * (c - c0) / (c1 - c0);
        }
    }
    500.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_valid_under_the_contract() {
        let mut city = City::new(7, 2, 3);
        assert_eq!(city.sources(), 22 * 5);
        let now = Utc::now();
        for _ in 0..city.sources() * 3 {
            let (topic, payload) = city.next(now);
            let m = ioc_protocol::decode(&topic, payload.as_bytes(), now.timestamp_millis(), |a| {
                AREAS.iter().any(|(code, _)| *code == a)
            });
            assert!(m.is_ok(), "{topic} {payload}: {m:?}");
        }
    }

    #[test]
    fn same_seed_same_readings() {
        let now = Utc::now();
        let mut a = City::new(42, 1, 1);
        let mut b = City::new(42, 1, 1);
        for _ in 0..100 {
            assert_eq!(a.next(now), b.next(now));
        }
    }

    #[test]
    fn rush_hour_is_slower_than_night() {
        assert!(rush(7.5) > 0.9 && rush(17.5) > 0.9 && rush(3.0) < 0.2);
    }

    #[test]
    fn aqi_breakpoints() {
        assert_eq!(vn_aqi_pm25(25.0), 50.0);
        assert_eq!(vn_aqi_pm25(65.0), 125.0);
        assert_eq!(vn_aqi_pm25(1000.0), 500.0);
    }
}
