//! Online public-service dossiers of the city's agencies, through the public-service portal.
//!
//! Each agency offers its `online_services` (ids `{agency}-dv-{n}`, the first ones far more
//! used than the last); dossiers arrive online (about 80 %: most in office hours, some in the
//! evening, few at weekends) or at the counter (office hours on working days only), about three
//! a working day per service. Each dossier's course is planned when it arrives: taken into
//! processing in office hours, then done (a quarter the same day; most before the deadline of
//! `processing_days` working days; about 7 % late) or returned for missing papers (about 6 %).
//! While the portal is down, status changes wait for it. Ids are `HS-{local date}-{n}`.

use ioc_protocol::preset::{AgencyKind, Preset};
use rand::Rng;
use rand::rngs::StdRng;

use crate::clock::{
    DAY_MS, DailyIds, LocalTime, MINUTE_MS, add_office_minutes, add_working_days, daily_curve,
    next_office_time,
};
use crate::course::{Step, fix_order};
use crate::rng::{backlog_delay, chance, exponential, pick, rng_for, uniform};

/// Dossiers per online service per working day.
const PER_SERVICE_PER_DAY: f64 = 3.0;
/// The share of dossiers filed online on a working day.
const ONLINE_SHARE: f64 = 0.8;

/// Online filings by local hour against the working day's mean.
const ONLINE_BY_HOUR: [(f64, f64); 12] = [
    (0.0, 0.15),
    (5.0, 0.05),
    (7.0, 0.6),
    (9.0, 2.2),
    (11.0, 2.0),
    (12.0, 1.0),
    (14.0, 2.0),
    (16.0, 1.8),
    (18.0, 0.8),
    (20.5, 1.0),
    (22.5, 0.5),
    (23.5, 0.2),
];

/// One dossier and what is left of its course.
#[derive(Debug)]
pub(crate) struct Dossier {
    /// Its agency's index in the portal's agencies.
    pub(crate) agency: usize,
    pub(crate) id: String,
    pub(crate) service: String,
    pub(crate) online: bool,
    pub(crate) due: i64,
    pub(crate) steps: Vec<Step>,
    pub(crate) next: usize,
}

#[derive(Debug)]
struct PortalAgency {
    code: String,
    topic: String,
    /// How much its services are used, from the first (most) to the last.
    service_weights: Vec<f64>,
    processing_days: f64,
}

/// The public-service portal: where dossiers arrive and are followed.
#[derive(Debug)]
pub(crate) struct Portal {
    agencies: Vec<PortalAgency>,
    /// Dossiers a working day at each agency.
    weights: Vec<f64>,
    /// The portal's index among the platforms, for its outages.
    pub(crate) platform: Option<usize>,
    online_peak_per_ms: f64,
    online_mean_per_ms: f64,
    counter_per_ms: f64,
    rng: StdRng,
    ids: DailyIds,
}

impl Portal {
    pub(crate) fn new(preset: &Preset, source: &str, platform: Option<usize>, seed: u64) -> Portal {
        let agencies: Vec<PortalAgency> = preset
            .agencies
            .iter()
            .filter(|a| a.online_services > 0)
            .map(|a| {
                let area = match (a.kind, &a.area) {
                    (AgencyKind::District, Some(area)) => area.as_str(),
                    _ => "city",
                };
                PortalAgency {
                    code: a.code.clone(),
                    topic: format!("ioc/v1/service/{area}/{source}"),
                    service_weights: (1..=a.online_services)
                        .map(|n| 1.0 / f64::from(n))
                        .collect(),
                    processing_days: a.processing_days,
                }
            })
            .collect();
        // A district's committee serves residents directly: more dossiers per service.
        let weights: Vec<f64> = preset
            .agencies
            .iter()
            .filter(|a| a.online_services > 0)
            .map(|a| {
                let per_service = match a.kind {
                    AgencyKind::District => 1.4,
                    AgencyKind::Department => 1.0,
                };
                f64::from(a.online_services) * per_service * PER_SERVICE_PER_DAY
            })
            .collect();
        let per_day: f64 = weights.iter().sum();
        let online_mean_per_ms = ONLINE_SHARE * per_day / DAY_MS as f64;
        let online_peak = ONLINE_BY_HOUR.iter().map(|p| p.1).fold(0.0, f64::max);
        // Counter filings: the rest of the working day's dossiers, within its 8 office hours.
        let counter_per_ms = (1.0 - ONLINE_SHARE) * per_day / (8.0 * 3_600_000.0);
        Portal {
            agencies,
            weights,
            platform,
            online_peak_per_ms: online_mean_per_ms * online_peak,
            online_mean_per_ms,
            counter_per_ms,
            rng: rng_for(seed, "service/portal"),
            ids: DailyIds::new("HS", 6),
        }
    }

    pub(crate) fn has_agencies(&self) -> bool {
        !self.agencies.is_empty()
    }

    pub(crate) fn topic(&self, d: &Dossier) -> &str {
        &self.agencies[d.agency].topic
    }

    pub(crate) fn agency_code(&self, d: &Dossier) -> &str {
        &self.agencies[d.agency].code
    }

    /// When the next candidate filing comes, online or at a counter.
    pub(crate) fn next_candidate(&mut self, t: i64, online: bool) -> i64 {
        let rate = if online {
            self.online_peak_per_ms
        } else {
            self.counter_per_ms
        };
        t + 1 + exponential(&mut self.rng, 1.0 / rate) as i64
    }

    /// A candidate filing at `t`: a dossier, or nothing (thinned by the hour).
    pub(crate) fn arrival(&mut self, t: i64, online: bool) -> Option<Dossier> {
        let lt = LocalTime::at(t);
        let keep = if online {
            let by_hour =
                daily_curve(&ONLINE_BY_HOUR, lt.hour) * if lt.is_weekend() { 0.25 } else { 1.0 };
            by_hour * self.online_mean_per_ms / self.online_peak_per_ms
        } else if next_office_time(t) == t {
            1.0
        } else {
            0.0
        };
        if !chance(&mut self.rng, keep) {
            return None;
        }
        let agency = pick(&mut self.rng, &self.weights);
        let a = &self.agencies[agency];
        let n = pick(&mut self.rng, &a.service_weights) + 1;
        let service = format!("{}-dv-{n}", a.code);
        let (due, steps) = plan(&mut self.rng, t, a.processing_days);
        Some(Dossier {
            agency,
            id: self.ids.next(t),
            service,
            online,
            due,
            steps,
            next: 0,
        })
    }

    /// A small delay for a change held while the platform was down.
    pub(crate) fn backlog_delay(&mut self) -> i64 {
        backlog_delay(&mut self.rng)
    }
}

fn minutes(m: f64) -> i64 {
    (m * MINUTE_MS as f64) as i64
}

/// The deadline and the course of a dossier received at `t0`.
pub(crate) fn plan(rng: &mut StdRng, t0: i64, processing_days: f64) -> (i64, Vec<Step>) {
    let days = processing_days.ceil().max(1.0) as u32;
    let due = add_working_days(t0, days);
    let mut steps: Vec<Step> = vec![(t0, "received")];
    let processing = add_office_minutes(t0, uniform(rng, 10.0, 240.0));
    steps.push((processing, "processing"));
    if chance(rng, 0.06) {
        // Papers missing: returned to the applicant.
        steps.push((
            add_office_minutes(processing, uniform(rng, 60.0, 1440.0)),
            "returned",
        ));
        return (due, fix_order(steps));
    }
    let roll: f64 = rng.random();
    let done = if roll < 0.25 {
        add_office_minutes(processing, uniform(rng, 30.0, 360.0))
    } else if roll < 0.32 {
        // Late: up to four working days past the deadline.
        add_office_minutes(due, uniform(rng, 30.0, 4.0 * 480.0))
    } else {
        let at = next_office_time(
            processing + ((due - processing).max(0) as f64 * uniform(rng, 0.3, 0.97)) as i64,
        );
        if at > due {
            (due - minutes(uniform(rng, 10.0, 120.0))).max(processing + minutes(10.0))
        } else {
            at
        }
    };
    steps.push((done, "done"));
    (due, fix_order(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRI: i64 = 1_762_448_400_000;

    #[test]
    fn dossiers_are_mostly_done_on_time() {
        let mut rng = rng_for(4, "plan");
        let n = 4000;
        let (mut done, mut late, mut returned) = (0, 0, 0);
        for i in 0..n {
            let t0 = FRI + i * 5 * MINUTE_MS;
            let (due, steps) = plan(&mut rng, t0, [3.0, 5.0, 7.0, 15.0][i as usize % 4]);
            assert!(steps.windows(2).all(|w| w[0].0 < w[1].0), "{steps:?}");
            assert_eq!(steps[1].1, "processing");
            match *steps.last().unwrap() {
                (at, "done") => {
                    done += 1;
                    if at > due {
                        late += 1;
                    }
                }
                (_, "returned") => returned += 1,
                other => panic!("ends {other:?}"),
            }
        }
        let late_share = late as f64 / done as f64;
        assert!((0.04..0.12).contains(&late_share), "{late_share}");
        assert!((0.03..0.09).contains(&(returned as f64 / n as f64)));
    }
}
