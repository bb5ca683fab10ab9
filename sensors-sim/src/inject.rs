//! Anomalies injected into the telemetry (`--inject N`), with their ground truth, so that the
//! server's anomaly detection can be scored: precision and recall against a known list.
//!
//! Each local day from `--inject-from` gets `N` anomalies (a share of `N` on a day the run
//! covers in part), drawn from a generator of the day's own (`inject/{day}`): so the same seed
//! gives the same anomalies, and every model's stream stays as it was. An anomaly is one
//! telemetry source, a window `[from, to)` of 20 to 60 minutes starting at a random moment of
//! the day, and a change applied to every reading of that source in the window; the source is
//! drawn by domain (each telemetry domain present equally often), then within it. No two
//! anomalies of a source come within 30 minutes of each other, none falls on a platform while
//! it is down (or within 30 minutes of it), and none on a corridor with an incident reported
//! (a jam no incident explains). When no source fits after a few draws, the anomaly is skipped.
//!
//! | domain | kind | change | fields |
//! |---|---|---|---|
//! | traffic | `jam` | speed to 25-45 % of the model's; congestion and occupancy follow | `speed_kmh`, `congestion`, `occupancy_pct` |
//! | env | `pollution` | PM2.5 and PM10 × 3-5, + 40 µg/m³; the AQI follows | `pm25_ugm3`, `pm10_ugm3`, `aqi` |
//! | flood | `surge` | water level + 50-90 cm | `water_level_cm` |
//! | system | `slow_platform` | latency × 5-10, errors + 5-15 points (at most 100 %), still up | `latency_ms`, `error_pct` |
//!
//! The truth log gets one line per anomaly when it starts ([`Anomaly::truth_line`]).

use ioc_protocol::Domain;
use rand::rngs::StdRng;
use serde_json::{Value as Json, json};

use crate::clock::{DAY_MS, MINUTE_MS, day_start, local_day};
use crate::rng::{chance, rng_for, round2, uniform};
use crate::world::World;

/// The gap kept between two anomalies of a source, and between an anomaly of a platform and an
/// outage of it (or of a corridor and an incident on it).
pub(crate) const GAP_MS: i64 = 30 * MINUTE_MS;
/// The shortest and longest anomaly, minutes.
const MINUTES: (f64, f64) = (20.0, 60.0);
/// Draws of a source before an anomaly is skipped.
const ATTEMPTS: usize = 12;

/// A telemetry source of the simulation: its domain and index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Src {
    Traffic(usize),
    Air(usize),
    Flood(usize),
    Health(usize),
}

impl Src {
    fn domain(self) -> Domain {
        match self {
            Src::Traffic(_) => Domain::Traffic,
            Src::Air(_) => Domain::Env,
            Src::Flood(_) => Domain::Flood,
            Src::Health(_) => Domain::System,
        }
    }
}

/// What an anomaly does to the readings of its source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Traffic: the speed falls to `speed_factor` (0.25-0.45) of the model's; the congestion
    /// level and the occupancy follow it.
    Jam { speed_factor: f64 },
    /// Env: PM2.5 and PM10 × `multiplier` (3-5) + 40 µg/m³; the AQI follows the PM2.5.
    Pollution { multiplier: f64 },
    /// Flood: the water level `rise_cm` (50-90) higher.
    Surge { rise_cm: i64 },
    /// System: latency × `latency_factor` (5-10), errors + `error_points` (5-15, at most
    /// 100 %); the platform stays up.
    SlowPlatform {
        latency_factor: f64,
        error_points: f64,
    },
}

impl Change {
    /// Its name in the truth log: `jam`, `pollution`, `surge`, `slow_platform`.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Jam { .. } => "jam",
            Change::Pollution { .. } => "pollution",
            Change::Surge { .. } => "surge",
            Change::SlowPlatform { .. } => "slow_platform",
        }
    }

    /// The fields of the readings it changes.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Change::Jam { .. } => &["speed_kmh", "congestion", "occupancy_pct"],
            Change::Pollution { .. } => &["pm25_ugm3", "pm10_ugm3", "aqi"],
            Change::Surge { .. } => &["water_level_cm"],
            Change::SlowPlatform { .. } => &["latency_ms", "error_pct"],
        }
    }

    /// How much, for the log: `speed x0.31`, `+64 cm`.
    pub fn magnitude(&self) -> String {
        match self {
            Change::Jam { speed_factor } => format!("speed x{speed_factor}"),
            Change::Pollution { multiplier } => format!("PM x{multiplier} +40"),
            Change::Surge { rise_cm } => format!("+{rise_cm} cm"),
            Change::SlowPlatform {
                latency_factor,
                error_points,
            } => format!("latency x{latency_factor}, errors +{error_points} points"),
        }
    }

    /// A change of a source of `domain`, drawn.
    fn draw(domain: Domain, rng: &mut StdRng) -> Change {
        match domain {
            Domain::Traffic => Change::Jam {
                speed_factor: round2(uniform(rng, 0.25, 0.45)),
            },
            Domain::Env => Change::Pollution {
                multiplier: round2(uniform(rng, 3.0, 5.0)),
            },
            Domain::Flood => Change::Surge {
                rise_cm: uniform(rng, 50.0, 91.0).floor() as i64,
            },
            _ => Change::SlowPlatform {
                latency_factor: round2(uniform(rng, 5.0, 10.0)),
                error_points: round2(uniform(rng, 5.0, 15.0)),
            },
        }
    }
}

/// An anomaly injected into one source's readings: those with `ts` in `[from_ms, to_ms)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The source's topic.
    pub topic: String,
    pub change: Change,
    pub from_ms: i64,
    /// The end, excluded.
    pub to_ms: i64,
    pub(crate) src: Src,
}

impl Anomaly {
    pub fn domain(&self) -> Domain {
        self.src.domain()
    }

    /// `jam`, `pollution`, `surge` or `slow_platform`.
    pub fn kind(&self) -> &'static str {
        self.change.kind()
    }

    /// The fields it changes.
    pub fn fields(&self) -> &'static [&'static str] {
        self.change.fields()
    }

    /// Whether it changes a reading of its source at `ts`.
    pub fn covers(&self, ts: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&ts)
    }

    /// Its line in the truth log, without the newline:
    /// `{"anomaly":{"topic":..,"fields":[..],"from":..,"to":..,"kind":..}}`.
    pub fn truth_line(&self) -> String {
        format!(
            "{{\"anomaly\":{{\"topic\":{},\"fields\":{},\"from\":{},\"to\":{},\"kind\":{}}}}}",
            Json::String(self.topic.clone()),
            json!(self.fields()),
            self.from_ms,
            self.to_ms,
            Json::String(self.kind().to_owned()),
        )
    }
}

/// What keeps an anomaly off a source for a while.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Blocker {
    /// Incidents on this corridor.
    Corridor(usize),
    /// Outages of this platform.
    Platform(usize),
    None,
}

/// A source anomalies may be injected into.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) src: Src,
    pub(crate) topic: String,
    pub(crate) blocker: Blocker,
}

/// Plans the anomalies day by day, as the simulation reaches them, and keeps those under way.
#[derive(Debug)]
pub(crate) struct Injector {
    seed: u64,
    per_day: u32,
    /// No anomaly starts before it.
    from_ms: i64,
    /// Nor ends after it.
    until_ms: Option<i64>,
    /// The sources, by domain (only domains with sources); set before the first plan.
    pub(crate) groups: Option<Vec<Vec<Candidate>>>,
    /// The first local day not planned yet.
    next_day: i64,
    /// When each source's last anomaly ends.
    busy_until: std::collections::BTreeMap<Src, i64>,
    /// Planned, not started, by start time.
    pending: std::collections::VecDeque<Anomaly>,
    /// Started, not over.
    active: Vec<Anomaly>,
    /// Started since the simulation's user last took them.
    pub(crate) started: Vec<Anomaly>,
}

impl Injector {
    pub(crate) fn new(seed: u64, per_day: u32, from_ms: i64, until_ms: Option<i64>) -> Injector {
        Injector {
            seed,
            per_day,
            from_ms,
            until_ms,
            groups: None,
            next_day: local_day(from_ms),
            busy_until: Default::default(),
            pending: Default::default(),
            active: Vec::new(),
            started: Vec::new(),
        }
    }

    /// Moves the clock to `t`: plans up to the day after `t`'s, starts the anomalies due by
    /// `t` and ends those over.
    pub(crate) fn advance(&mut self, t: i64, world: &mut World) {
        while self.next_day <= local_day(t) + 1 {
            let day = self.next_day;
            self.plan_day(day, world);
            self.next_day += 1;
        }
        self.active.retain(|a| a.to_ms > t);
        while self.pending.front().is_some_and(|a| a.from_ms <= t) {
            let a = self.pending.pop_front().expect("a pending anomaly");
            if a.to_ms > t {
                self.active.push(a.clone());
            }
            self.started.push(a);
        }
    }

    /// The change under way on `src` at `t`.
    pub(crate) fn change_at(&self, src: Src, t: i64) -> Option<Change> {
        self.active
            .iter()
            .find(|a| a.src == src && a.covers(t))
            .map(|a| a.change)
    }

    fn plan_day(&mut self, day: i64, world: &mut World) {
        let lo = day_start(day).max(self.from_ms);
        let hi = day_start(day + 1).min(self.until_ms.unwrap_or(i64::MAX));
        let Some(groups) = self.groups.as_ref().filter(|g| !g.is_empty()) else {
            return;
        };
        if hi <= lo {
            return;
        }
        let mut rng = rng_for(self.seed, &format!("inject/{day}"));
        // A share of N on a day covered in part, rounded up or down at random.
        let expected = f64::from(self.per_day) * (hi - lo) as f64 / DAY_MS as f64;
        let n = expected.floor() as u64 + u64::from(chance(&mut rng, expected.fract()));
        let mut windows: Vec<(i64, i64)> = (0..n)
            .filter_map(|_| {
                let minutes = uniform(&mut rng, MINUTES.0, MINUTES.1 + 1.0).floor() as i64;
                let length = minutes * MINUTE_MS;
                let u = uniform(&mut rng, 0.0, 1.0);
                // Within the run when its end is known.
                let latest = self.until_ms.map_or(hi, |end| hi.min(end - length));
                (latest > lo).then(|| {
                    let from = lo + ((latest - lo) as f64 * u) as i64;
                    (from, from + length)
                })
            })
            .collect();
        windows.sort_unstable();
        for (from, to) in windows {
            let mut chosen = None;
            for _ in 0..ATTEMPTS {
                let group = &groups
                    [(uniform(&mut rng, 0.0, groups.len() as f64) as usize).min(groups.len() - 1)];
                let c = &group
                    [(uniform(&mut rng, 0.0, group.len() as f64) as usize).min(group.len() - 1)];
                let free = self
                    .busy_until
                    .get(&c.src)
                    .is_none_or(|&end| end + GAP_MS <= from);
                let clear = match c.blocker {
                    Blocker::Corridor(i) => !world.incident_between(i, from - GAP_MS, to + GAP_MS),
                    Blocker::Platform(i) => !world.outage_between(i, from - GAP_MS, to + GAP_MS),
                    Blocker::None => true,
                };
                if free && clear {
                    chosen = Some(c);
                    break;
                }
            }
            let Some(c) = chosen else {
                tracing::debug!(from, "no source free for an anomaly: skipped");
                continue;
            };
            let change = Change::draw(c.src.domain(), &mut rng);
            self.busy_until.insert(c.src, to);
            self.pending.push_back(Anomaly {
                topic: c.topic.clone(),
                change,
                from_ms: from,
                to_ms: to,
                src: c.src,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_lines_name_the_topic_fields_window_and_kind() {
        let a = Anomaly {
            topic: "ioc/v1/flood/q8/fg-kenh-doi".into(),
            change: Change::Surge { rise_cm: 64 },
            from_ms: 1_762_189_200_000,
            to_ms: 1_762_191_000_000,
            src: Src::Flood(3),
        };
        assert_eq!(
            a.truth_line(),
            r#"{"anomaly":{"topic":"ioc/v1/flood/q8/fg-kenh-doi","fields":["water_level_cm"],"from":1762189200000,"to":1762191000000,"kind":"surge"}}"#
        );
        let v: Json = serde_json::from_str(&a.truth_line()).unwrap();
        assert!(v.get("topic").is_none());
        assert_eq!(a.domain(), Domain::Flood);
        assert!(a.covers(a.from_ms) && !a.covers(a.to_ms));
    }
}
