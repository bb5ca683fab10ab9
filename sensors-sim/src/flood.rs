//! Water-level gauges on the rivers and canals: the water level and the rain, every 60 s.
//!
//! The rivers are tidal: the level is a sum of the main tidal constituents, M2 (12.42 h) and S2
//! (12 h), whose beat makes the spring and neap tides of each half lunar month, and K1 and O1
//! (about a day), which make one of the two daily high waters higher than the other. The phases
//! are astronomical (spring tides a day and a half after new and full moon, high water at
//! spring tides around 06:00 and 18:00 local), so the tide is the same whatever the seed. On
//! top of the tide: the season (the highest water of the year in October-December, with the
//! monsoon pushing sea water up the rivers) and the rain, which canals collect from the streets
//! and drain only slowly. Saigon River gauges peak at about 140-170 cm in the high-tide months,
//! above BĐ1 (140 cm) most days and BĐ3 (160 cm) at some spring tides; lower the rest of the
//! year. Canals follow the river, damped and late, and rise with rain.

use ioc_protocol::preset::{FloodGauge, LatLon, Preset};
use rand::rngs::StdRng;
use serde_json::{Value as Json, json};

use crate::clock::{HOUR_MS, LocalTime};
use crate::rng::{Drift, normal, rng_for, round1, uniform};
use crate::source_id::scaled_id;
use crate::world::World;

pub(crate) const PERIOD_MS: i64 = 60_000;

/// A spring tide with high water at 18:00 local: 2000-01-08 11:00 UTC, a day and a half after
/// the new moon of 2000-01-06.
const SPRING_EPOCH_MS: i64 = 947_329_200_000;

/// (period in hours, amplitude in cm, phase at the epoch in radians).
const CONSTITUENTS: [(f64, f64, f64); 4] = [
    (12.420_601_2, 84.0, 0.0), // M2, principal lunar
    (12.0, 8.0, 0.0),          // S2, principal solar
    (23.934_469_6, 6.0, 0.6),  // K1, luni-solar diurnal
    (25.819_341_7, 3.0, -0.4), // O1, principal lunar diurnal
];

/// The tide of the river mouth at `t`, cm around its mean.
pub(crate) fn astronomical_tide_cm(t: i64) -> f64 {
    let hours = (t - SPRING_EPOCH_MS) as f64 / HOUR_MS as f64;
    CONSTITUENTS
        .iter()
        .map(|&(period, amp, phase)| amp * (std::f64::consts::TAU * hours / period + phase).cos())
        .sum()
}

/// The mean water level of the season, cm: highest in November, lowest in May.
fn season_cm(day_of_year: u32) -> f64 {
    const MEAN: f64 = 30.0;
    MEAN + 26.0 * (std::f64::consts::TAU * (f64::from(day_of_year) - 325.0) / 365.25).cos()
}

/// One gauge.
#[derive(Debug)]
pub(crate) struct Gauge {
    pub(crate) topic: String,
    position: LatLon,
    /// A canal rather than a river: a damped, later tide, and the rain of its streets.
    canal: bool,
    /// Its tide against the river mouth's: larger downstream, damped in canals.
    amplitude: f64,
    /// How late the tide reaches it.
    lag_ms: i64,
    /// Its datum against the river's, cm.
    offset_cm: f64,
    /// Rain collected and not yet drained, mm.
    storage_mm: f64,
    /// Wind and river flow: slow swings of a few cm.
    drift: Drift,
    rng: StdRng,
}

impl Gauge {
    pub(crate) fn new(preset: &Preset, index: usize, k: u32, seed: u64) -> Gauge {
        let g: &FloodGauge = &preset.flood_gauges[index];
        let id = scaled_id(&g.id, k);
        let mut rng = rng_for(seed, &format!("flood/{id}"));
        let mut site = rng_for(seed, &format!("gauge/{}", g.id));
        let canal = is_canal(g);
        let (amplitude, lag_min, offset_cm) = if canal {
            (
                uniform(&mut site, 0.84, 0.92),
                uniform(&mut site, 25.0, 60.0),
                uniform(&mut site, -8.0, -2.0),
            )
        } else {
            (
                uniform(&mut site, 1.0, 1.06),
                uniform(&mut site, 0.0, 20.0),
                uniform(&mut site, -2.0, 3.0),
            )
        };
        Gauge {
            topic: format!("ioc/v1/flood/{}/{id}", g.area),
            position: preset
                .area(&g.area)
                .map_or(LatLon { lat: 0.0, lon: 0.0 }, |a| a.centroid),
            canal,
            amplitude,
            lag_ms: (lag_min * 60_000.0) as i64,
            offset_cm,
            storage_mm: 0.0,
            drift: Drift::new(&mut rng, 6.0 * 3600.0, 2.0),
            rng,
        }
    }

    pub(crate) fn reading(&mut self, t: i64, world: &mut World) -> Json {
        let dt_h = PERIOD_MS as f64 / HOUR_MS as f64;
        let rain = world.rain_mmh(t, self.position);
        // A linear reservoir: the rain of the streets drains over about two hours.
        let keep = (-dt_h / 2.0).exp();
        self.storage_mm = self.storage_mm * keep + rain * dt_h;
        let lt = LocalTime::at(t);
        let tide = astronomical_tide_cm(t - self.lag_ms) * self.amplitude;
        let rain_rise = self.storage_mm * if self.canal { 0.7 } else { 0.1 };
        let level = season_cm(lt.day_of_year)
            + world.surge_cm(t)
            + tide
            + self.offset_cm
            + rain_rise
            + self.drift.step(&mut self.rng, dt_h * 3600.0)
            + 0.5 * normal(&mut self.rng);
        json!({
            "water_level_cm": level.round() as i64,
            "rain_mmh": round1(rain),
        })
    }
}

/// A reading (from [`Gauge::reading`]) raised by `rise_cm`: a blocked drain or a surge
/// (`--inject`).
pub(crate) fn surge(values: &mut Json, rise_cm: i64) {
    if let Some(level) = values["water_level_cm"].as_i64() {
        values["water_level_cm"] = json!(level + rise_cm);
    }
}

/// A canal or creek (kênh, rạch) rather than a river (sông).
fn is_canal(g: &FloodGauge) -> bool {
    let vi = g.water_body_vi.to_lowercase();
    let en = g.water_body_en.to_lowercase();
    !(vi.starts_with("sông") || en.contains("river"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::day_start;

    #[test]
    fn the_tide_is_semi_diurnal_with_springs_and_neaps() {
        // High waters about 12.4 h apart: count the maxima over 15 days.
        let start = day_start(20_399);
        let step = 10 * 60_000;
        let levels: Vec<f64> = (0..15 * 24 * 6)
            .map(|i| astronomical_tide_cm(start + i * step))
            .collect();
        let highs = levels
            .windows(3)
            .filter(|w| w[1] > w[0] && w[1] >= w[2])
            .count();
        assert!((27..=31).contains(&highs), "{highs} high waters in 15 days");
        // The range of a day swings between springs and neaps.
        let ranges: Vec<f64> = levels
            .chunks(24 * 6)
            .map(|d| {
                d.iter().cloned().fold(f64::MIN, f64::max)
                    - d.iter().cloned().fold(f64::MAX, f64::min)
            })
            .collect();
        let (lo, hi) = ranges
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        assert!(hi - lo > 20.0, "daily ranges {lo:.0}..{hi:.0} cm");
    }

    #[test]
    fn rain_collected_in_the_streets_raises_canals_more_than_rivers() {
        let p = Preset::built_in();
        let mut world = World::new(&p, 1);
        let t = day_start(20_399) + 9 * HOUR_MS;
        let rise = |index: usize, world: &mut World| {
            let mut dry = Gauge::new(&p, index, 1, 1);
            let mut wet = Gauge::new(&p, index, 1, 1);
            wet.storage_mm = 40.0;
            let level = |j: Json| j["water_level_cm"].as_i64().unwrap();
            level(wet.reading(t, world)) - level(dry.reading(t, world))
        };
        let canal = p.flood_gauges.iter().position(is_canal).unwrap();
        let river = p.flood_gauges.iter().position(|g| !is_canal(g)).unwrap();
        let (canal, river) = (rise(canal, &mut world), rise(river, &mut world));
        assert!((26..=30).contains(&canal), "canal +{canal} cm");
        assert!((3..=5).contains(&river), "river +{river} cm");
    }

    #[test]
    fn rivers_and_canals_are_told_apart() {
        let p = Preset::built_in();
        let canals: Vec<&str> = p
            .flood_gauges
            .iter()
            .filter(|g| is_canal(g))
            .map(|g| g.id.as_str())
            .collect();
        assert_eq!(
            canals,
            [
                "fg-nhieu-loc",
                "fg-tau-hu",
                "fg-tham-luong",
                "fg-tan-hoa",
                "fg-kenh-doi"
            ]
        );
    }
}
