//! The city's shared conditions, decided day by day: rain cells, traffic incidents, platform
//! outages, and the day-to-day swings of air quality, temperature and the river's surge.
//!
//! Each local day's plan is drawn from a generator of its own (`world/rain/{day}`, ...), the
//! first time any source asks about that day. So the plan of a day depends only on the seed,
//! the preset and the day, never on which source asked first, and every source sees the same
//! rain, the same incidents and the same outages.

use std::collections::BTreeMap;

use ioc_protocol::preset::{LatLon, Preset};
use rand::rngs::StdRng;

use crate::clock::{DAY_MS, HOUR_MS, LocalTime, MINUTE_MS, day_start, local_day};
use crate::demand::demand_profile;
use crate::rng::{chance, exponential, log_normal, normal, pick, poisson, rng_for, uniform};

/// A convective rain cell: a burst of rain over part of the city.
#[derive(Debug, Clone)]
struct RainCell {
    start_ms: i64,
    end_ms: i64,
    peak_mmh: f64,
    center: LatLon,
    radius_km: f64,
}

/// Something that blocks part of a corridor for a while: a crash, a broken-down bus.
#[derive(Debug, Clone)]
pub(crate) struct Incident {
    pub(crate) corridor: usize,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    /// The share of its capacity the corridor keeps.
    pub(crate) capacity_factor: f64,
}

impl Incident {
    /// What happened, as a traffic centre would log it. Taken from the start time rather than
    /// drawn, so that naming incidents leaves every random stream as it was.
    pub(crate) fn kind(&self) -> &'static str {
        const KINDS: [&str; 4] = ["accident", "breakdown", "accident", "fallen_tree"];
        KINDS[(self.start_ms / 1000).rem_euclid(KINDS.len() as i64) as usize]
    }
}

/// A platform down: it answers nothing from `start_ms` to `end_ms`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outage {
    pub(crate) platform: usize,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

#[derive(Debug)]
struct DayPlan {
    rain: Vec<RainCell>,
    incidents: Vec<Incident>,
    outages: Vec<Outage>,
    /// The day's air: a stagnant day holds more PM2.5 (log-normal around 1).
    air_factor: f64,
    /// The day's temperature against the season's, °C.
    temp_offset: f64,
    /// Water pushed up the river by the monsoon wind, cm.
    surge_cm: f64,
}

/// The conditions of the whole city, day by day.
#[derive(Debug)]
pub(crate) struct World {
    seed: u64,
    /// Where rain cells may form: the areas' centroids.
    centroids: Vec<LatLon>,
    /// The capacity of each corridor: busier roads see more incidents.
    corridor_capacity: Vec<f64>,
    platforms: usize,
    days: BTreeMap<i64, DayPlan>,
}

/// How an incident builds up and clears: the queue forms in minutes, dissolves more slowly.
const INCIDENT_RAMP_IN_MS: i64 = 5 * MINUTE_MS;
const INCIDENT_RAMP_OUT_MS: i64 = 15 * MINUTE_MS;

/// How long a platform struggles before it goes down.
pub(crate) const DEGRADED_BEFORE_MS: i64 = 4 * MINUTE_MS;

impl World {
    pub(crate) fn new(preset: &Preset, seed: u64) -> World {
        World {
            seed,
            centroids: preset.areas.iter().map(|a| a.centroid).collect(),
            corridor_capacity: preset
                .corridors
                .iter()
                .map(|c| f64::from(c.capacity_vph))
                .collect(),
            platforms: preset.platforms.len(),
            days: BTreeMap::new(),
        }
    }

    fn plan(&mut self, day: i64) -> &DayPlan {
        if !self.days.contains_key(&day) {
            let plan = self.draw_day(day);
            self.days.insert(day, plan);
        }
        &self.days[&day]
    }

    /// Forgets the days before `day`, which no source will ask about again.
    pub(crate) fn forget_before(&mut self, day: i64) {
        self.days = self.days.split_off(&day);
    }

    /// The days whose plans can reach `t`: events of the day before may run past midnight.
    fn around(&mut self, t: i64) -> [&DayPlan; 2] {
        let day = local_day(t);
        self.plan(day - 1);
        self.plan(day);
        [&self.days[&(day - 1)], &self.days[&day]]
    }

    /// Rain intensity at a place, mm/h.
    pub(crate) fn rain_mmh(&mut self, t: i64, at: LatLon) -> f64 {
        self.around(t)
            .iter()
            .flat_map(|d| d.rain.iter())
            .filter(|c| c.start_ms <= t && t < c.end_ms)
            .map(|c| {
                let u = (t - c.start_ms) as f64 / (c.end_ms - c.start_ms) as f64;
                // A quick rise and a slower tail: the peak at a third of the burst.
                let shape = (std::f64::consts::PI * u.powf(0.6)).sin().powi(2);
                let d = at.distance_km(c.center) / c.radius_km;
                c.peak_mmh * shape * (-d * d).exp()
            })
            .fold(0.0, |sum, r| sum + r)
    }

    /// The kind of the incident open on a corridor at `t` (from its start to its end; the
    /// queue it left may take longer to dissolve).
    pub(crate) fn incident_at(&mut self, corridor: usize, t: i64) -> Option<&'static str> {
        self.around(t)
            .iter()
            .flat_map(|d| d.incidents.iter())
            .find(|i| i.corridor == corridor && i.start_ms <= t && t <= i.end_ms)
            .map(Incident::kind)
    }

    /// The share of its capacity a corridor keeps at `t` (1 without an incident).
    pub(crate) fn capacity_factor(&mut self, corridor: usize, t: i64) -> f64 {
        self.around(t)
            .iter()
            .flat_map(|d| d.incidents.iter())
            .filter(|i| i.corridor == corridor)
            .map(|i| {
                let weight = if t < i.start_ms || t > i.end_ms + INCIDENT_RAMP_OUT_MS {
                    0.0
                } else if t < i.start_ms + INCIDENT_RAMP_IN_MS {
                    (t - i.start_ms) as f64 / INCIDENT_RAMP_IN_MS as f64
                } else if t > i.end_ms {
                    1.0 - (t - i.end_ms) as f64 / INCIDENT_RAMP_OUT_MS as f64
                } else {
                    1.0
                };
                1.0 - weight * (1.0 - i.capacity_factor)
            })
            .fold(1.0, f64::min)
    }

    /// The incidents that start on a local day.
    #[cfg(test)]
    pub(crate) fn incidents(&mut self, day: i64) -> Vec<Incident> {
        self.plan(day).incidents.clone()
    }

    /// Whether one of `corridors` has an incident at `t`.
    pub(crate) fn incident_on_any(&mut self, corridors: &[usize], t: i64) -> bool {
        self.around(t)
            .iter()
            .flat_map(|d| d.incidents.iter())
            .any(|i| corridors.contains(&i.corridor) && i.start_ms <= t && t <= i.end_ms)
    }

    /// The outage a platform is in at `t`, if any.
    pub(crate) fn outage(&mut self, platform: usize, t: i64) -> Option<Outage> {
        self.around(t)
            .iter()
            .flat_map(|d| d.outages.iter())
            .find(|o| o.platform == platform && o.start_ms <= t && t < o.end_ms)
            .copied()
    }

    /// Whether a platform is down at any moment of `[from, to)`.
    pub(crate) fn outage_between(&mut self, platform: usize, from: i64, to: i64) -> bool {
        // Outages last minutes: one that reaches `from` started the day before at the earliest.
        (local_day(from) - 1..=local_day(to)).any(|day| {
            self.plan(day)
                .outages
                .iter()
                .any(|o| o.platform == platform && o.start_ms < to && from < o.end_ms)
        })
    }

    /// Whether an incident on a corridor (or the queue it leaves) reaches into `[from, to)`.
    pub(crate) fn incident_between(&mut self, corridor: usize, from: i64, to: i64) -> bool {
        (local_day(from) - 1..=local_day(to)).any(|day| {
            self.plan(day).incidents.iter().any(|i| {
                i.corridor == corridor && i.start_ms < to && from < i.end_ms + INCIDENT_RAMP_OUT_MS
            })
        })
    }

    /// How close a platform is to its next outage, 0 (fine) to 1 (about to fail), and when it
    /// last came back from one.
    pub(crate) fn platform_stress(&mut self, platform: usize, t: i64) -> (f64, Option<i64>) {
        let day = local_day(t);
        // An outage that starts just after midnight is degraded before it.
        self.plan(day + 1);
        let mut stress: f64 = 0.0;
        let mut recovered = None;
        for d in [day - 1, day, day + 1] {
            for o in self.days[&d]
                .outages
                .iter()
                .filter(|o| o.platform == platform)
            {
                if o.start_ms > t && o.start_ms - t <= DEGRADED_BEFORE_MS {
                    let s = 1.0 - (o.start_ms - t) as f64 / DEGRADED_BEFORE_MS as f64;
                    stress = stress.max(s);
                }
                if o.end_ms <= t {
                    recovered = Some(recovered.map_or(o.end_ms, |r: i64| r.max(o.end_ms)));
                }
            }
        }
        (stress, recovered)
    }

    /// The day's air factor, moving smoothly from one day's to the next (through local noon).
    pub(crate) fn air_factor(&mut self, t: i64) -> f64 {
        self.smooth(t, |d| d.air_factor)
    }

    pub(crate) fn temp_offset(&mut self, t: i64) -> f64 {
        self.smooth(t, |d| d.temp_offset)
    }

    pub(crate) fn surge_cm(&mut self, t: i64) -> f64 {
        self.smooth(t, |d| d.surge_cm)
    }

    fn smooth(&mut self, t: i64, f: impl Fn(&DayPlan) -> f64) -> f64 {
        // Between the noon before `t` and the noon after it.
        let shifted = t - 12 * HOUR_MS;
        let day = local_day(shifted);
        let u = (shifted - day_start(day)) as f64 / DAY_MS as f64;
        let a = f(self.plan(day));
        let b = f(self.plan(day + 1));
        a + (b - a) * u
    }

    fn draw_day(&self, day: i64) -> DayPlan {
        let noon = LocalTime::at(day_start(day) + 12 * HOUR_MS);
        let mut rng = rng_for(self.seed, &format!("world/rain/{day}"));
        let rain = self.draw_rain(&mut rng, day, &noon);
        let rainy_day = !rain.is_empty();
        let mut rng = rng_for(self.seed, &format!("world/incidents/{day}"));
        let incidents = self.draw_incidents(&mut rng, day, rainy_day);
        let mut rng = rng_for(self.seed, &format!("world/outages/{day}"));
        let outages = self.draw_outages(&mut rng, day);
        let mut rng = rng_for(self.seed, &format!("world/day/{day}"));
        let dry = noon.is_dry_season();
        let air_factor = log_normal(&mut rng, 1.0, if dry { 0.25 } else { 0.18 })
            * if rainy_day { 0.85 } else { 1.0 };
        let temp_offset = 0.8 * normal(&mut rng) - if rainy_day { 0.8 } else { 0.0 };
        // The north-east monsoon (October to January) pushes sea water up the rivers.
        let surge_cm = if matches!(noon.month, 10..=12 | 1) {
            uniform(&mut rng, 2.0, 9.0)
        } else {
            uniform(&mut rng, -4.0, 4.0)
        };
        DayPlan {
            rain,
            incidents,
            outages,
            air_factor,
            temp_offset,
            surge_cm,
        }
    }

    fn draw_rain(&self, rng: &mut StdRng, day: i64, noon: &LocalTime) -> Vec<RainCell> {
        // Chance of a rainy day by month: the rainy season is May to November.
        const RAIN_DAY: [f64; 12] = [
            0.03, 0.02, 0.05, 0.15, 0.5, 0.7, 0.7, 0.75, 0.8, 0.7, 0.4, 0.1,
        ];
        let p = RAIN_DAY[noon.month as usize - 1];
        if self.centroids.is_empty() || !chance(rng, p) {
            return Vec::new();
        }
        let cells = 1 + poisson(rng, 1.6 * p);
        (0..cells)
            .map(|_| {
                // Convective showers in the afternoon and early evening, some at night.
                let hour = if chance(rng, 0.85) {
                    (15.5 + 2.0 * normal(rng)).clamp(11.0, 22.0)
                } else {
                    uniform(rng, 0.0, 24.0)
                };
                let start_ms = day_start(day) + (hour * HOUR_MS as f64) as i64;
                let minutes = uniform(rng, 25.0, 120.0);
                let origin = self.centroids[pick(rng, &vec![1.0; self.centroids.len()])];
                RainCell {
                    start_ms,
                    end_ms: start_ms + (minutes * MINUTE_MS as f64) as i64,
                    peak_mmh: log_normal(rng, 28.0, 0.5).min(120.0),
                    center: LatLon {
                        lat: origin.lat + 4.0 * normal(rng) / 111.0,
                        lon: origin.lon + 4.0 * normal(rng) / 109.0,
                    },
                    radius_km: uniform(rng, 6.0, 16.0),
                }
            })
            .collect()
    }

    fn draw_incidents(&self, rng: &mut StdRng, day: i64, rainy: bool) -> Vec<Incident> {
        let n = self.corridor_capacity.len();
        if n == 0 {
            return Vec::new();
        }
        // About one incident per corridor a week; more on wet roads.
        let mean = 0.15 * n as f64 * if rainy { 1.4 } else { 1.0 };
        let count = poisson(rng, mean);
        (0..count)
            .map(|_| {
                // When there is traffic to have an incident: by the day's demand profile.
                let start_ms = loop {
                    let t = day_start(day) + (uniform(rng, 0.0, 24.0) * HOUR_MS as f64) as i64;
                    if chance(rng, demand_profile(&LocalTime::at(t)) / 1.15) {
                        break t;
                    }
                };
                let minutes = uniform(rng, 20.0, 90.0);
                Incident {
                    corridor: pick(rng, &self.corridor_capacity),
                    start_ms,
                    end_ms: start_ms + (minutes * MINUTE_MS as f64) as i64,
                    capacity_factor: uniform(rng, 0.25, 0.6),
                }
            })
            .collect()
    }

    fn draw_outages(&self, rng: &mut StdRng, day: i64) -> Vec<Outage> {
        if self.platforms == 0 {
            return Vec::new();
        }
        // A couple a day across the platforms, at least one.
        let count = 1 + poisson(rng, 1.0);
        (0..count)
            .map(|_| {
                let start_ms = day_start(day) + (uniform(rng, 0.0, 24.0) * HOUR_MS as f64) as i64;
                let minutes = 2.0 + exponential(rng, 5.0).min(20.0);
                Outage {
                    platform: pick(rng, &vec![1.0; self.platforms]),
                    start_ms,
                    end_ms: start_ms + (minutes * MINUTE_MS as f64) as i64,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::day_start;

    fn world(seed: u64) -> World {
        World::new(&Preset::built_in(), seed)
    }

    /// 2025-11-07, local.
    const DAY: i64 = 20_399;

    #[test]
    fn a_day_is_the_same_whoever_asks_first() {
        let mut a = world(3);
        let mut b = world(3);
        let t = day_start(DAY) + 16 * HOUR_MS;
        let p = Preset::built_in().areas[1].centroid;
        let _ = a.outage(0, t);
        let rain_a = a.rain_mmh(t, p);
        let rain_b = b.rain_mmh(t, p);
        assert_eq!(rain_a, rain_b);
        assert_eq!(a.air_factor(t), b.air_factor(t));
    }

    #[test]
    fn the_rainy_season_rains_and_the_dry_season_mostly_does_not() {
        let mut w = world(1);
        let p = Preset::built_in().area("q1").unwrap().centroid;
        let rain_days = |w: &mut World, first_day: i64| {
            (first_day..first_day + 30)
                .filter(|&d| {
                    (0..24 * 4).any(|q| w.rain_mmh(day_start(d) + q * 15 * MINUTE_MS, p) > 1.0)
                })
                .count()
        };
        // August 2025 and February 2025.
        let august = rain_days(&mut w, 20_301);
        let february = rain_days(&mut w, 20_120);
        assert!(august >= 8, "{august} rainy days in August");
        assert!(february <= 3, "{february} rainy days in February");
    }

    #[test]
    fn incidents_cut_capacity_for_a_while() {
        let mut w = world(5);
        let plan = w.plan(DAY);
        assert!(!plan.incidents.is_empty());
        let i = plan.incidents[0].clone();
        let mid = (i.start_ms + i.end_ms) / 2;
        assert!(w.capacity_factor(i.corridor, mid) <= i.capacity_factor + 1e-9);
        assert_eq!(w.capacity_factor(i.corridor, i.start_ms - MINUTE_MS), 1.0);
        assert_eq!(
            w.capacity_factor(i.corridor, i.end_ms + INCIDENT_RAMP_OUT_MS + MINUTE_MS),
            1.0
        );
        for i in &w.plan(DAY).incidents {
            let minutes = (i.end_ms - i.start_ms) / MINUTE_MS;
            assert!((20..=90).contains(&minutes), "{minutes} min");
        }
    }
}
