//! The city platforms' health, every 15 s: up, latency, requests, errors, CPU and memory.
//!
//! Each platform has the daily cycle of its users: the public-service portal is busy in office
//! hours on working days and in the evening, the 1022 platform from morning to late evening,
//! the data-sharing platform in office hours with nightly batch transfers. A couple of times a
//! day one of them goes down for a few minutes (decided by the city's day plan): it struggles
//! first (latency and errors climb), reports `up: false` while down, and comes back restarted
//! (its memory low again).

use ioc_protocol::Domain;
use ioc_protocol::preset::Platform;
use rand::rngs::StdRng;
use serde_json::{Value as Json, json};

use crate::clock::{HOUR_MS, LocalTime, daily_curve, day_start};
use crate::rng::{Drift, normal, rng_for, round1, round2, uniform};
use crate::world::World;

pub(crate) const PERIOD_MS: i64 = 15_000;

/// Whose users a platform serves, which sets its daily cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Users {
    /// Citizens and businesses filing dossiers.
    Citizens,
    /// Callers and app users of the 1022 hotline.
    Callers,
    /// Other systems: office hours and nightly batches.
    Systems,
}

/// The share of its peak load a platform carries at a moment.
fn load(users: Users, t: &LocalTime) -> f64 {
    let weekend = t.is_weekend();
    match users {
        Users::Citizens => {
            let office = daily_curve(
                &[
                    (0.0, 0.08),
                    (5.0, 0.04),
                    (7.0, 0.3),
                    (9.0, 1.0),
                    (11.0, 0.95),
                    (12.0, 0.55),
                    (14.0, 0.9),
                    (16.0, 0.85),
                    (18.0, 0.4),
                    (20.5, 0.5),
                    (23.0, 0.2),
                ],
                t.hour,
            );
            if weekend { office * 0.3 } else { office }
        }
        Users::Callers => {
            let day = daily_curve(
                &[
                    (0.0, 0.1),
                    (4.0, 0.06),
                    (7.0, 0.5),
                    (9.5, 1.0),
                    (12.0, 0.7),
                    (15.0, 0.95),
                    (19.0, 0.6),
                    (22.0, 0.3),
                ],
                t.hour,
            );
            if weekend { day * 0.7 } else { day }
        }
        Users::Systems => {
            let day = daily_curve(
                &[
                    (0.0, 0.3),
                    (1.0, 0.75),
                    (3.0, 0.7),
                    (4.0, 0.2),
                    (7.0, 0.3),
                    (9.0, 0.9),
                    (11.5, 0.85),
                    (12.5, 0.5),
                    (14.0, 0.9),
                    (17.0, 0.6),
                    (19.0, 0.25),
                ],
                t.hour,
            );
            if weekend { 0.2 + 0.4 * day } else { day }
        }
    }
}

/// One platform's health reporter.
#[derive(Debug)]
pub(crate) struct PlatformHealth {
    pub(crate) topic: String,
    /// Its index in the preset: outages are per platform.
    pub(crate) index: usize,
    users: Users,
    peak_rps: f64,
    base_latency_ms: f64,
    latency_drift: Drift,
    cpu_drift: Drift,
    rng: StdRng,
}

impl PlatformHealth {
    pub(crate) fn new(platform: &Platform, index: usize, seed: u64) -> PlatformHealth {
        let mut rng = rng_for(seed, &format!("system/{}", platform.id));
        let (users, peak_rps) = if platform.domains.contains(&Domain::Service) {
            (Users::Citizens, 180.0)
        } else if platform.domains.contains(&Domain::Complaint) {
            (Users::Callers, 35.0)
        } else {
            (Users::Systems, uniform(&mut rng, 150.0, 400.0))
        };
        PlatformHealth {
            topic: format!("ioc/v1/system/city/{}", platform.id),
            index,
            users,
            peak_rps,
            base_latency_ms: uniform(&mut rng, 60.0, 160.0),
            latency_drift: Drift::new(&mut rng, 600.0, 0.12),
            cpu_drift: Drift::new(&mut rng, 300.0, 3.0),
            rng,
        }
    }

    pub(crate) fn reading(&mut self, t: i64, world: &mut World) -> Json {
        let dt_s = PERIOD_MS as f64 / 1000.0;
        let latency_drift = self.latency_drift.step(&mut self.rng, dt_s);
        let cpu_drift = self.cpu_drift.step(&mut self.rng, dt_s);
        if world.outage(self.index, t).is_some() {
            // Down: nothing answers. Latency, CPU and memory are unknown, so not sent.
            return json!({ "up": false, "requests_per_s": 0, "error_pct": 100.0 });
        }
        let lt = LocalTime::at(t);
        let load = load(self.users, &lt);
        let (stress, recovered) = world.platform_stress(self.index, t);
        let rps = self.peak_rps * load * (1.0 + 0.05 * normal(&mut self.rng)).max(0.0);
        let latency = self.base_latency_ms
            * (1.0 + 1.5 * load * load)
            * (1.0 + 8.0 * stress * stress)
            * latency_drift.exp();
        let errors = 0.15 + 0.4 * load * load + 12.0 * stress + 0.05 * normal(&mut self.rng).abs();
        let cpu = 8.0 + 55.0 * load + 30.0 * stress + cpu_drift;
        // Memory grows from a restart: the nightly one at 02:00, or the last outage.
        let nightly = {
            let today = day_start(lt.day) + 2 * HOUR_MS;
            if t >= today {
                today
            } else {
                today - 24 * HOUR_MS
            }
        };
        let since = recovered.map_or(nightly, |r| r.max(nightly));
        let hours_up = (t - since) as f64 / HOUR_MS as f64;
        let mem = 32.0 + 1.6 * hours_up + 8.0 * load + 0.5 * normal(&mut self.rng);
        json!({
            "up": true,
            "latency_ms": round1(latency),
            "requests_per_s": round1(rps),
            "error_pct": round2(errors.clamp(0.0, 100.0)),
            "cpu_pct": round1(cpu.clamp(1.0, 100.0)),
            "mem_pct": round1(mem.clamp(5.0, 97.0)),
        })
    }
}

/// A reading (from [`PlatformHealth::reading`]) of a platform that is up but slow
/// (`--inject`): latency times `latency_factor`, errors up by `error_points` (at most 100 %).
/// A reading of a platform down is left as it is.
pub(crate) fn slow(values: &mut Json, latency_factor: f64, error_points: f64) {
    if values["up"] != Json::Bool(true) {
        return;
    }
    if let Some(latency) = values["latency_ms"].as_f64() {
        values["latency_ms"] = json!(round1(latency * latency_factor));
    }
    if let Some(errors) = values["error_pct"].as_f64() {
        values["error_pct"] = json!(round2((errors + error_points).min(100.0)));
    }
}
