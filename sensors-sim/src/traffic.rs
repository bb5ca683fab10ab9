//! Traffic detectors on the preset's corridors: speed, volume, occupancy and the congestion
//! level, every 30 s.
//!
//! Demand follows the day (the `demand` module: rush hours 7-9 and 16:30-19 on weekdays,
//! lighter and later at weekends); speed falls with the ratio of demand to capacity (a BPR-style curve, steep
//! because Ho Chi Minh City's mixed traffic crawls once it is saturated); incidents and rain
//! cut capacity. The congestion level follows the speed against the corridor's free flow.

use ioc_protocol::preset::{AreaKind, Corridor, LatLon, Preset};
use rand::rngs::StdRng;
use serde_json::{Value as Json, json};

use crate::clock::LocalTime;
use crate::demand::demand_profile;
use crate::rng::{Drift, normal, rng_for, round1, uniform};
use crate::source_id::scaled_id;
use crate::world::World;

pub(crate) const PERIOD_MS: i64 = 30_000;

/// The congestion level (0 free flow .. 5 gridlock) of a speed on a road of the given free
/// flow speed: by their ratio, at 0.8, 0.65, 0.5, 0.35 and 0.2.
pub fn congestion_level(speed_kmh: f64, free_flow_kmh: f64) -> u8 {
    let r = speed_kmh / free_flow_kmh;
    [0.8, 0.65, 0.5, 0.35, 0.2]
        .iter()
        .filter(|&&limit| r < limit)
        .count() as u8
}

/// The share of time a 5.5 m detector zone is occupied, saturating below 100 %, from the
/// vehicles per hour through it, their speed and the lanes: by the density, vehicles per km
/// and lane.
fn occupancy_pct(volume_vph: f64, speed_kmh: f64, lanes: f64) -> f64 {
    let density = volume_vph / speed_kmh / lanes;
    95.0 * (1.0 - (-density * 0.55 / 95.0).exp())
}

/// One detector on a corridor.
#[derive(Debug)]
pub(crate) struct TrafficSensor {
    pub(crate) topic: String,
    /// Its corridor's index in the preset: incidents are per corridor.
    pub(crate) corridor: usize,
    free_flow_kmh: f64,
    lanes: f64,
    capacity_vph: f64,
    /// How busy its corridor is against the city's average: the core more, the outskirts less.
    load: f64,
    /// Where it is, for the rain: its area's centroid.
    position: LatLon,
    /// Slow swings of demand around the day's profile.
    demand_drift: Drift,
    rng: StdRng,
}

impl TrafficSensor {
    /// The `k`-th detector (from 1) on corridor `index`; `k` above 1 only with `--scale`.
    pub(crate) fn new(preset: &Preset, index: usize, k: u32, seed: u64) -> TrafficSensor {
        let c: &Corridor = &preset.corridors[index];
        let id = scaled_id(&c.id, k);
        let area = preset.area(&c.area);
        let mut rng = rng_for(seed, &format!("traffic/{id}"));
        let kind_load = match area.map(|a| a.kind) {
            Some(AreaKind::Urban) => 1.08,
            Some(AreaKind::City) => 1.0,
            Some(AreaKind::Rural) | None => 0.8,
        };
        // The corridor's own character is shared by its detectors; their noise is not.
        let mut corridor_rng = rng_for(seed, &format!("corridor/{}", c.id));
        let load = kind_load * uniform(&mut corridor_rng, 0.88, 1.08);
        let demand_drift = Drift::new(&mut rng, 900.0, 0.06);
        TrafficSensor {
            topic: format!("ioc/v1/traffic/{}/{id}", c.area),
            corridor: index,
            free_flow_kmh: c.free_flow_kmh,
            lanes: f64::from(c.lanes),
            capacity_vph: f64::from(c.capacity_vph),
            load,
            position: area.map_or(LatLon { lat: 0.0, lon: 0.0 }, |a| a.centroid),
            demand_drift,
            rng,
        }
    }

    /// The reading at `t`: the `values` object.
    pub(crate) fn reading(&mut self, t: i64, world: &mut World) -> Json {
        let local = LocalTime::at(t);
        let drift = self
            .demand_drift
            .step(&mut self.rng, PERIOD_MS as f64 / 1000.0);
        let wet = (world.rain_mmh(t, self.position) / 20.0).min(1.0);
        // Rain brings a few more cars (fewer motorbikes) and slower, more careful driving.
        let demand = demand_profile(&local) * self.load * (1.0 + drift) * (1.0 + 0.1 * wet);
        let capacity_factor = world.capacity_factor(self.corridor, t) * (1.0 - 0.1 * wet);
        let free = self.free_flow_kmh * (1.0 - 0.15 * wet);
        // Demand against the capacity left.
        let x = (demand / capacity_factor).max(0.0);
        let speed = (free / (1.0 + 0.9 * x.powf(3.5)) * (1.0 + 0.03 * normal(&mut self.rng)))
            .clamp(2.0, self.free_flow_kmh * 1.1);
        let capacity = self.capacity_vph * capacity_factor;
        // Past saturation, the flow through the detector drops below capacity.
        let flow = if x <= 1.0 {
            x * capacity
        } else {
            capacity * (1.0 - 0.15 * (x - 1.0).min(1.0))
        };
        let volume = (flow * (1.0 + 0.04 * normal(&mut self.rng))).max(0.0);
        let occupancy = occupancy_pct(volume, speed, self.lanes);
        let mut values = json!({
            "speed_kmh": round1(speed),
            "volume_vph": volume.round() as u64,
            "occupancy_pct": round1(occupancy),
            "congestion": congestion_level(speed, self.free_flow_kmh),
        });
        // The corridor's camera reports an open incident by its kind while it lasts.
        if let Some(kind) = world.incident_at(self.corridor, t) {
            values["incident"] = json!(kind);
        }
        values
    }

    /// A reading (from [`TrafficSensor::reading`]) slowed to `factor` of its speed: a jam that
    /// no incident explains (`--inject`). The congestion level and the occupancy follow the new
    /// speed as the model derives them; the volume through the detector stays.
    pub(crate) fn jam(&self, values: &mut Json, factor: f64) {
        let Some(speed) = values["speed_kmh"].as_f64() else {
            return;
        };
        let volume = values["volume_vph"].as_f64().unwrap_or(0.0);
        let slow = round1(speed * factor).max(0.1);
        values["speed_kmh"] = json!(slow);
        values["occupancy_pct"] = json!(round1(occupancy_pct(volume, slow, self.lanes)));
        values["congestion"] = json!(congestion_level(slow, self.free_flow_kmh));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn congestion_levels_follow_the_speed_ratio() {
        assert_eq!(congestion_level(60.0, 60.0), 0);
        assert_eq!(congestion_level(48.0, 60.0), 0);
        assert_eq!(congestion_level(45.0, 60.0), 1);
        assert_eq!(congestion_level(30.0, 60.0), 2);
        assert_eq!(congestion_level(29.0, 60.0), 3);
        assert_eq!(congestion_level(15.0, 60.0), 4);
        assert_eq!(congestion_level(5.0, 60.0), 5);
    }
}
