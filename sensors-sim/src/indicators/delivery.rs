//! When a unit sends a period's report: on time, in office hours between the day after the
//! period ends and its deadline (most in the last days); late, after the deadline (by a day to
//! a few weeks); or never. Each unit has its own punctuality: most are late now and then, a
//! few often.

use rand::Rng;

use crate::clock::{DAY_MS, HOUR_MS, MINUTE_MS, next_office_time};
use crate::rng::{exponential, rng_for, uniform};

/// The chance that a report is never sent.
pub const MISSING_CHANCE: f64 = 0.004;

/// The longest a late report comes after its deadline.
pub const MAX_LATE_MS: i64 = 45 * DAY_MS;

/// How a report is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Sent at this time, before the deadline.
    OnTime(i64),
    /// Sent at this time, after the deadline.
    Late(i64),
    /// Never sent.
    Missing,
}

/// A unit's chance of sending a report late: 1 to 5 % for four units in five, 12 to 30 % for
/// the others.
pub(super) fn late_chance(seed: u64, unit: &str) -> f64 {
    let mut rng = rng_for(seed, &format!("indicator/unit/{unit}"));
    if rng.random::<f64>() < 0.8 {
        uniform(&mut rng, 0.01, 0.05)
    } else {
        uniform(&mut rng, 0.12, 0.3)
    }
}

/// Moves a time into office hours (a little after opening when it falls outside them).
fn in_office(rng: &mut rand::rngs::StdRng, t: i64) -> i64 {
    let open = next_office_time(t);
    if open == t {
        t
    } else {
        open + (uniform(rng, 0.0, 150.0) * MINUTE_MS as f64) as i64
    }
}

/// When the report `label` (its unit, area, period and deadline) of a period ending at `end_ms`
/// and due before `due_ms` is sent, by a unit late with chance `late_chance`.
pub(super) fn delivery(
    seed: u64,
    label: &str,
    end_ms: i64,
    due_ms: i64,
    late_chance: f64,
) -> Delivery {
    let mut rng = rng_for(seed, &format!("indicator/report/{label}"));
    let (missing, late, when) = (
        rng.random::<f64>(),
        rng.random::<f64>(),
        rng.random::<f64>(),
    );
    let delay = exponential(&mut rng, 5.0 * DAY_MS as f64) as i64;
    if missing < MISSING_CHANCE {
        return Delivery::Missing;
    }
    if late < late_chance {
        let t = due_ms + HOUR_MS + delay;
        return Delivery::Late(in_office(&mut rng, t).clamp(due_ms + 1, due_ms + MAX_LATE_MS));
    }
    // From the day after the period's end to the deadline, most near the deadline.
    let from = (end_ms + DAY_MS).min(due_ms - HOUR_MS);
    let span = (due_ms - HOUR_MS - from).max(0) as f64;
    let t = from + (span * (1.0 - (1.0 - when).powi(2))) as i64;
    let t = match in_office(&mut rng, t) {
        office if office < due_ms => office,
        _ => t,
    };
    Delivery::OnTime(t.max(end_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_time_is_before_the_deadline_and_late_after_it() {
        // October 2026: ends 1 November, due by the end of 10 November (local).
        let end = 1_793_466_000_000;
        let due = end + 10 * DAY_MS;
        let (mut on_time, mut late, mut missing) = (0, 0, 0);
        for i in 0..2000 {
            match delivery(1, &format!("u/a/{i}"), end, due, 0.1) {
                Delivery::OnTime(t) => {
                    assert!(t >= end && t < due, "{t}");
                    on_time += 1;
                }
                Delivery::Late(t) => {
                    assert!(t > due && t <= due + MAX_LATE_MS, "{t}");
                    late += 1;
                }
                Delivery::Missing => missing += 1,
            }
        }
        assert!((150..250).contains(&late), "{late} late of 2000");
        assert!(missing < 30 && on_time > 1700, "{missing} missing");
    }
}
