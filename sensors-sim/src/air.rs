//! Air-quality stations: PM2.5, PM10, NO2, O3, CO, temperature, humidity, noise and the
//! station's own VN_AQI, every 60 s.
//!
//! PM2.5 follows the traffic and the height of the mixing layer: it peaks at the morning rush
//! (traffic under a low, still-shallow layer), dips in the afternoon (the layer is high), rises
//! again in the evening; the dry season (December-April) is worse, and rain washes the air.
//! NO2, CO and noise follow the traffic; O3 is made by sunlight, with its peak after noon.
//! Temperature and humidity follow the day and the season, and rain cools and wets the air.

use ioc_protocol::preset::{AreaKind, Preset};
use rand::rngs::StdRng;
use serde_json::{Value as Json, json};

use crate::clock::{LocalTime, daily_curve};
use crate::demand::demand_profile;
use crate::rng::{Drift, normal, rng_for, round1, uniform};
use crate::source_id::scaled_id;
use crate::world::World;

pub(crate) const PERIOD_MS: i64 = 60_000;

/// PM2.5 of the season against the year's mean, January to December.
const PM_SEASON: [f64; 12] = [
    1.45, 1.5, 1.35, 1.15, 0.95, 0.8, 0.75, 0.75, 0.8, 0.9, 1.1, 1.35,
];

/// Daily minimum and maximum temperature by month, °C (Tân Sơn Hòa normals, rounded).
const TEMP: [(f64, f64); 12] = [
    (21.5, 32.0),
    (22.5, 33.0),
    (24.0, 34.3),
    (25.5, 35.0),
    (25.5, 34.0),
    (25.0, 32.5),
    (24.8, 32.0),
    (24.8, 31.8),
    (24.5, 31.6),
    (24.2, 31.4),
    (23.5, 31.2),
    (22.0, 31.0),
];

/// The height of the mixing layer, inverted: 1 when pollution is held near the ground (night,
/// early morning), low in the afternoon.
const HELD: [(f64, f64); 11] = [
    (0.0, 0.8),
    (3.0, 0.9),
    (6.0, 1.0),
    (8.0, 0.9),
    (10.0, 0.5),
    (12.0, 0.3),
    (14.0, 0.2),
    (16.0, 0.3),
    (18.0, 0.6),
    (20.0, 0.75),
    (22.0, 0.8),
];

/// The VN_AQI sub-index of a PM2.5 concentration (µg/m³), by the breakpoints of Decision
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

/// One monitoring station.
#[derive(Debug)]
pub(crate) struct AirSensor {
    pub(crate) topic: String,
    position: ioc_protocol::preset::LatLon,
    /// How polluted its area is: the urban core more than the rural districts.
    area_factor: f64,
    /// How near the traffic it stands: a kerbside station sees more of the rush hours.
    roadside: f64,
    /// Its calibration: stations do not agree exactly.
    bias: f64,
    urban: bool,
    /// Rain of the last hours, mm/h with a memory of about 3 h: washed air stays cleaner.
    recent_rain: f64,
    pm_drift: Drift,
    temp_drift: Drift,
    rng: StdRng,
}

impl AirSensor {
    pub(crate) fn new(preset: &Preset, index: usize, k: u32, seed: u64) -> AirSensor {
        let s = &preset.air_stations[index];
        let id = scaled_id(&s.id, k);
        let area = preset.area(&s.area);
        let mut rng = rng_for(seed, &format!("env/{id}"));
        let kind = area.map_or(AreaKind::Rural, |a| a.kind);
        let area_factor = match kind {
            AreaKind::Urban => 1.0,
            AreaKind::City => 0.9,
            AreaKind::Rural => 0.7,
        };
        AirSensor {
            topic: format!("ioc/v1/env/{}/{id}", s.area),
            position: area.map_or(ioc_protocol::preset::LatLon { lat: 0.0, lon: 0.0 }, |a| {
                a.centroid
            }),
            area_factor,
            roadside: uniform(&mut rng, 0.8, 1.25),
            bias: uniform(&mut rng, 0.9, 1.1),
            urban: kind != AreaKind::Rural,
            recent_rain: 0.0,
            pm_drift: Drift::new(&mut rng, 1800.0, 0.12),
            temp_drift: Drift::new(&mut rng, 3600.0, 0.3),
            rng,
        }
    }

    pub(crate) fn reading(&mut self, t: i64, world: &mut World) -> Json {
        let lt = LocalTime::at(t);
        let dt_s = PERIOD_MS as f64 / 1000.0;
        let rain = world.rain_mmh(t, self.position);
        let keep = (-dt_s / (3.0 * 3600.0)).exp();
        self.recent_rain = self.recent_rain * keep + rain * (1.0 - keep);
        let washed = (self.recent_rain / 3.0).min(1.0);
        let wet_now = (rain / 10.0).min(1.0);
        let activity = demand_profile(&lt);
        let held = daily_curve(&HELD, lt.hour);
        let dry = lt.is_dry_season();
        let month = lt.month as usize - 1;
        let rng = &mut self.rng;

        let pm_drift = self.pm_drift.step(rng, dt_s);
        let pm25 = 22.0
            * PM_SEASON[month]
            * world.air_factor(t)
            * self.area_factor
            * self.bias
            * (0.55 + 0.35 * activity * self.roadside + 0.35 * held)
            * (1.0 - 0.5 * washed)
            * pm_drift.exp()
            * (1.0 + 0.03 * normal(rng));
        let pm25 = pm25.max(1.0);
        let pm10 = pm25 * (1.45 + 0.3 * activity * self.roadside) * (1.0 + 0.04 * normal(rng));
        let no2 = (12.0 + 45.0 * activity * self.roadside * self.area_factor)
            * (0.8 + 0.4 * held)
            * (1.0 + 0.06 * normal(rng));
        // Sunlight from 07:00 to 19:00, strongest at 13:00; clouds and rain cut it.
        let sun = (std::f64::consts::PI * (lt.hour - 7.0) / 12.0)
            .sin()
            .max(0.0);
        let o3 = (12.0
            + 95.0 * sun.powf(1.5) * if dry { 1.2 } else { 0.85 } * (1.0 - 0.7 * wet_now)
            - 0.12 * no2)
            * (1.0 + 0.05 * normal(rng));
        let co = (400.0 + 1800.0 * activity * self.roadside * self.area_factor)
            * (0.7 + 0.5 * held)
            * (1.0 + 0.06 * normal(rng));

        let (t_min, t_max) = TEMP[month];
        // Coolest at 05:30, warmest at 14:00.
        let warmth = 0.5 - 0.5 * (std::f64::consts::PI * day_phase(lt.hour)).cos();
        let temp = t_min
            + (t_max - t_min) * warmth
            + world.temp_offset(t)
            + if self.urban { 0.5 } else { 0.0 }
            - 4.0 * washed.max(wet_now)
            + self.temp_drift.step(rng, dt_s);
        let (rh_day, rh_night) = if dry { (52.0, 86.0) } else { (66.0, 92.0) };
        let humidity = (rh_night - (rh_night - rh_day) * warmth + 25.0 * washed.max(wet_now))
            .min(98.0)
            + 1.5 * normal(rng);
        let noise = 48.0
            + 22.0 * activity.powf(0.7) * self.roadside
            + if self.urban { 3.0 } else { -4.0 }
            + 1.2 * normal(rng);
        json!({
            "aqi": vn_aqi_pm25(pm25).round() as u64,
            "pm25_ugm3": round1(pm25),
            "pm10_ugm3": round1(pm10.max(1.0)),
            "no2_ugm3": round1(no2.max(1.0)),
            "o3_ugm3": round1(o3.max(2.0)),
            "co_ugm3": co.max(100.0).round() as u64,
            "temp_c": round1(temp),
            "humidity_pct": round1(humidity.clamp(20.0, 100.0)),
            "noise_dba": round1(noise.clamp(30.0, 110.0)),
        })
    }
}

/// A reading (from [`AirSensor::reading`]) in a pollution episode (`--inject`): PM2.5 and PM10
/// times `multiplier`, plus 40 µg/m³, and the station's AQI recomputed from the new PM2.5.
pub(crate) fn pollute(values: &mut Json, multiplier: f64) {
    for field in ["pm25_ugm3", "pm10_ugm3"] {
        if let Some(x) = values[field].as_f64() {
            values[field] = json!(round1(x * multiplier + 40.0));
        }
    }
    if let Some(pm25) = values["pm25_ugm3"].as_f64() {
        values["aqi"] = json!(vn_aqi_pm25(pm25).round() as u64);
    }
}

/// Where the day is between its coolest (05:30, 0) and warmest (14:00, 1) moments, as a phase
/// of a half cycle: rising over 8.5 h, falling over 15.5 h.
fn day_phase(hour: f64) -> f64 {
    let h = (hour - 5.5).rem_euclid(24.0);
    if h <= 8.5 {
        h / 8.5
    } else {
        1.0 + (h - 8.5) / 15.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aqi_breakpoints() {
        assert_eq!(vn_aqi_pm25(25.0), 50.0);
        assert_eq!(vn_aqi_pm25(65.0), 125.0);
        assert_eq!(vn_aqi_pm25(1000.0), 500.0);
        assert_eq!(vn_aqi_pm25(-3.0), 0.0);
    }

    #[test]
    fn the_day_is_coolest_at_dawn_and_warmest_after_noon() {
        let warmth = |h: f64| 0.5 - 0.5 * (std::f64::consts::PI * day_phase(h)).cos();
        assert!(warmth(5.5) < 1e-9);
        assert!((warmth(14.0) - 1.0).abs() < 1e-9);
        assert!(warmth(9.0) > 0.3 && warmth(22.0) < 0.5);
    }
}
