//! Citizen complaints to the 1022 hotline and its app, web portal and Zalo channel.
//!
//! Complaints arrive at random (a Poisson process, thinned by the hour of day: few at night,
//! peaks mid-morning and mid-afternoon), about 450 a day for Ho Chi Minh City's 8.8 million
//! people, from each area in proportion to its population. Their categories follow the
//! conditions there: rain brings flooding complaints, an incident on a corridor brings traffic
//! ones. Each complaint's course is planned when it arrives: assigned by the 1022 operators
//! within minutes (next morning for what comes at night, unless urgent), in progress, and
//! resolved before its deadline, or about one in ten after it; a few are rejected. The
//! deadline is 1 to 5 working days by category, 8 hours for urgent cases. While the 1022
//! platform is down (an outage of the day plan), status changes wait, and go out in a burst
//! when it is back. Ids are `PA-{local date}-{n}`, numbered from 1 each day.

use ioc_protocol::preset::{LatLon, Preset};
use rand::rngs::StdRng;

use crate::clock::{
    DAY_MS, DailyIds, HOUR_MS, LocalTime, MINUTE_MS, add_office_minutes, add_working_days,
    daily_curve, day_start, next_office_time,
};
use crate::course::{Step, fix_order};
use crate::rng::{backlog_delay, chance, exponential, log_normal, normal, pick, rng_for, uniform};
use crate::world::World;

/// Complaints per resident per day: about 450 a day for 8.84 million.
const PER_RESIDENT_PER_DAY: f64 = 450.0 / 8_840_000.0;

/// Arrivals by local hour against the day's mean (24 points, at each hour's middle).
const BY_HOUR: [f64; 24] = [
    0.15, 0.1, 0.08, 0.07, 0.1, 0.3, 0.7, 1.2, 1.8, 2.1, 2.0, 1.6, 1.0, 1.2, 1.7, 1.9, 1.6, 1.3,
    1.0, 0.9, 0.8, 0.6, 0.4, 0.25,
];

/// Categories, the share of each, the chance a complaint of it is urgent, and its deadline in
/// working days when it is not.
const CATEGORIES: [(&str, f64, f64, u32); 10] = [
    ("traffic", 0.14, 0.25, 2),
    ("flooding", 0.05, 0.4, 2),
    ("environment", 0.14, 0.05, 5),
    ("urban_order", 0.24, 0.05, 5),
    ("security", 0.08, 0.5, 1),
    ("utilities", 0.12, 0.15, 3),
    ("public_services", 0.10, 0.0, 5),
    ("health", 0.04, 0.3, 3),
    ("education", 0.03, 0.0, 5),
    ("other", 0.06, 0.0, 5),
];

const CHANNELS: [(&str, f64); 4] = [
    ("hotline", 0.42),
    ("app", 0.25),
    ("web", 0.13),
    ("zalo", 0.20),
];

/// The urgent deadline.
const URGENT_DUE_MS: i64 = 8 * HOUR_MS;

/// Share of complaints that go past their deadline before they are resolved.
const LATE: f64 = 0.09;

/// One complaint and what is left of its course.
#[derive(Debug)]
pub(crate) struct Case {
    /// Its area's index in the desk's areas.
    pub(crate) area: usize,
    pub(crate) id: String,
    pub(crate) category: &'static str,
    pub(crate) channel: &'static str,
    pub(crate) due: i64,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) steps: Vec<Step>,
    /// The next step to send.
    pub(crate) next: usize,
}

#[derive(Debug)]
struct DeskArea {
    topic: String,
    centroid: LatLon,
    /// Corridors in the area: an incident there brings traffic complaints.
    corridors: Vec<usize>,
}

/// The 1022 back-office: where complaints arrive and are followed.
#[derive(Debug)]
pub(crate) struct Desk {
    areas: Vec<DeskArea>,
    population: Vec<f64>,
    /// The 1022 platform's index among the preset's platforms: while it is down, changes wait.
    pub(crate) platform: Option<usize>,
    /// Complaints per ms at the busiest hour: the rate the arrivals are thinned from.
    peak_rate_per_ms: f64,
    mean_rate_per_ms: f64,
    rng: StdRng,
    /// The day of the last id, and how many ids it has given.
    ids: DailyIds,
}

impl Desk {
    pub(crate) fn new(preset: &Preset, source: &str, platform: Option<usize>, seed: u64) -> Desk {
        let areas = preset
            .areas
            .iter()
            .map(|a| DeskArea {
                topic: format!("ioc/v1/complaint/{}/{source}", a.code),
                centroid: a.centroid,
                corridors: preset
                    .corridors
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.area == a.code)
                    .map(|(i, _)| i)
                    .collect(),
            })
            .collect();
        let population: Vec<f64> = preset
            .areas
            .iter()
            .map(|a| f64::from(a.population))
            .collect();
        let per_day = population.iter().sum::<f64>() * PER_RESIDENT_PER_DAY;
        let mean_rate_per_ms = per_day / DAY_MS as f64;
        let peak = BY_HOUR.iter().cloned().fold(0.0, f64::max);
        Desk {
            areas,
            population,
            platform,
            peak_rate_per_ms: mean_rate_per_ms * peak,
            mean_rate_per_ms,
            rng: rng_for(seed, "complaint/desk"),
            ids: DailyIds::new("PA", 5),
        }
    }

    pub(crate) fn topic(&self, case: &Case) -> &str {
        &self.areas[case.area].topic
    }

    /// When the next candidate arrival comes, after `t` (to be thinned by [`Desk::arrival`]).
    pub(crate) fn next_candidate(&mut self, t: i64) -> i64 {
        t + 1 + exponential(&mut self.rng, 1.0 / self.peak_rate_per_ms) as i64
    }

    /// A candidate arrival at `t`: a complaint, or nothing (thinned away by the hour).
    pub(crate) fn arrival(&mut self, t: i64, world: &mut World) -> Option<Case> {
        let lt = LocalTime::at(t);
        let by_hour =
            daily_curve(&hour_points(), lt.hour) * if lt.is_weekend() { 0.7 } else { 1.0 };
        if !chance(
            &mut self.rng,
            by_hour * self.mean_rate_per_ms / self.peak_rate_per_ms,
        ) {
            return None;
        }
        let area = pick(&mut self.rng, &self.population);
        let a = &self.areas[area];
        let rain = world.rain_mmh(t, a.centroid);
        let jam = world.incident_on_any(&a.corridors, t);
        let weights: Vec<f64> = CATEGORIES
            .iter()
            .map(|&(name, share, _, _)| match name {
                "flooding" => share * (1.0 + rain / 4.0),
                "traffic" if jam => share * 3.0,
                "environment" if lt.is_dry_season() => share * 1.2,
                _ => share,
            })
            .collect();
        let (category, _, urgent_chance, days) = CATEGORIES[pick(&mut self.rng, &weights)];
        let channel_weights: Vec<f64> = CHANNELS.iter().map(|c| c.1).collect();
        let channel = CHANNELS[pick(&mut self.rng, &channel_weights)].0;
        let (lat, lon) = (
            a.centroid.lat + 1.2 * normal(&mut self.rng) / 111.0,
            a.centroid.lon + 1.2 * normal(&mut self.rng) / 109.0,
        );
        let urgent = chance(&mut self.rng, urgent_chance);
        let (due, steps) = plan(&mut self.rng, t, urgent, days);
        let id = self.ids.next(t);
        Some(Case {
            area,
            id,
            category,
            channel,
            due,
            lat: (lat * 1e5).round() / 1e5,
            lon: (lon * 1e5).round() / 1e5,
            steps,
            next: 0,
        })
    }

    /// A small delay for a change held while the platform was down.
    pub(crate) fn backlog_delay(&mut self) -> i64 {
        backlog_delay(&mut self.rng)
    }
}

fn hour_points() -> [(f64, f64); 24] {
    std::array::from_fn(|h| (h as f64 + 0.5, BY_HOUR[h]))
}

/// When someone at the 1022 center handles a non-urgent complaint: 07:00 to 21:00 every day.
fn staffed(t: i64, rng: &mut StdRng) -> i64 {
    let lt = LocalTime::at(t);
    if (7.0..21.0).contains(&lt.hour) {
        return t;
    }
    let day = if lt.hour >= 21.0 { lt.day + 1 } else { lt.day };
    day_start(day) + 7 * HOUR_MS + (uniform(rng, 0.0, 75.0) * MINUTE_MS as f64) as i64
}

fn minutes(m: f64) -> i64 {
    (m * MINUTE_MS as f64) as i64
}

/// The deadline and the course of a complaint received at `t0`: the status changes, their
/// times rising.
pub(crate) fn plan(rng: &mut StdRng, t0: i64, urgent: bool, days: u32) -> (i64, Vec<Step>) {
    let due = if urgent {
        t0 + URGENT_DUE_MS
    } else {
        add_working_days(t0, days)
    };
    let mut steps: Vec<Step> = vec![(t0, "received")];
    // Out of scope, a duplicate, not enough to act on: rejected by the operators.
    if chance(rng, 0.05) {
        let at = staffed(t0 + minutes(log_normal(rng, 30.0, 0.8)), rng);
        steps.push((at, "rejected"));
        return (due, fix_order(steps));
    }
    let assigned = if urgent {
        t0 + minutes(uniform(rng, 3.0, 20.0))
    } else {
        staffed(t0 + minutes(log_normal(rng, 35.0, 0.7)), rng)
    };
    steps.push((assigned, "assigned"));
    // Not the agency's competence: rejected there.
    if chance(rng, 0.03) {
        steps.push((
            add_office_minutes(assigned, uniform(rng, 30.0, 600.0)),
            "rejected",
        ));
        return (due, fix_order(steps));
    }
    let in_progress = if urgent {
        assigned + minutes(uniform(rng, 10.0, 60.0))
    } else {
        add_office_minutes(assigned, log_normal(rng, 90.0, 0.9).min(900.0))
    };
    steps.push((in_progress, "in_progress"));
    let late = chance(rng, LATE);
    let mut resolved = if late {
        let after = if urgent {
            minutes(uniform(rng, 30.0, 720.0))
        } else {
            minutes(uniform(rng, 60.0, 3.0 * 24.0 * 60.0))
        };
        if urgent {
            due + after
        } else {
            next_office_time(due + after)
        }
    } else if urgent {
        in_progress
            + ((due - in_progress).max(minutes(20.0)) as f64 * uniform(rng, 0.15, 0.9)) as i64
    } else if chance(rng, 0.35) {
        // A quick fix: a pothole filled, a street light repaired the same day.
        add_office_minutes(in_progress, uniform(rng, 30.0, 240.0))
    } else {
        next_office_time(
            in_progress + ((due - in_progress).max(0) as f64 * uniform(rng, 0.1, 0.95)) as i64,
        )
    };
    if !late && resolved > due {
        // Office hours pushed it past the deadline; the agency hurries instead.
        resolved = (due - minutes(uniform(rng, 5.0, 60.0))).max(in_progress + minutes(5.0));
    }
    steps.push((resolved, "resolved"));
    (due, fix_order(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-07 00:00 local, a Friday.
    const FRI: i64 = 1_762_448_400_000;

    #[test]
    fn about_one_in_ten_complaints_goes_past_its_deadline() {
        let mut rng = rng_for(9, "plan");
        let n = 4000;
        let (mut resolved, mut late, mut rejected) = (0, 0, 0);
        for i in 0..n {
            let t0 = FRI + i * 7 * MINUTE_MS;
            let urgent = i % 5 == 0;
            let (due, steps) = plan(&mut rng, t0, urgent, 1 + (i % 5) as u32);
            assert!(due > t0);
            assert_eq!(steps[0], (t0, "received"));
            assert!(steps.windows(2).all(|w| w[0].0 < w[1].0), "{steps:?}");
            let (at, last) = *steps.last().unwrap();
            match last {
                "resolved" => {
                    resolved += 1;
                    if at > due {
                        late += 1;
                    }
                }
                "rejected" => rejected += 1,
                other => panic!("ends {other}"),
            }
        }
        let late_share = late as f64 / resolved as f64;
        assert!((0.06..0.16).contains(&late_share), "{late_share}");
        let rejected_share = rejected as f64 / n as f64;
        assert!((0.04..0.12).contains(&rejected_share), "{rejected_share}");
    }

    #[test]
    fn night_complaints_wait_for_the_morning_unless_urgent() {
        let mut rng = rng_for(2, "night");
        let t0 = FRI + 2 * HOUR_MS;
        for _ in 0..50 {
            let (_, steps) = plan(&mut rng, t0, false, 3);
            if let Some(&(at, "assigned")) = steps.get(1) {
                assert!(LocalTime::at(at).hour >= 7.0);
            }
            let (_, steps) = plan(&mut rng, t0, true, 3);
            if let Some(&(at, "assigned")) = steps.get(1) {
                assert!(at - t0 <= 20 * MINUTE_MS);
            }
        }
    }
}
