//! The city's daily rhythm on its roads: how much traffic there is at a moment, by the local
//! hour and the day of the week. Traffic drives its demand by it, the air its exhaust, and the
//! world draws its incidents when there is traffic to have them.

use crate::clock::{LocalTime, daily_curve};

/// Demand against capacity on an average corridor, by local hour: weekdays.
const WEEKDAY: [(f64, f64); 24] = [
    (0.0, 0.12),
    (2.0, 0.06),
    (3.5, 0.05),
    (5.0, 0.25),
    (6.0, 0.6),
    (6.5, 0.8),
    (7.0, 0.95),
    (7.5, 1.05),
    (8.25, 1.07),
    (9.0, 0.82),
    (10.0, 0.7),
    (11.0, 0.72),
    (12.0, 0.66),
    (13.0, 0.65),
    (14.0, 0.7),
    (15.0, 0.76),
    (16.0, 0.86),
    (16.5, 0.96),
    (17.25, 1.08),
    (18.0, 1.1),
    (19.0, 0.92),
    (20.0, 0.72),
    (21.0, 0.55),
    (22.5, 0.3),
];

/// Saturdays: no school run, busy afternoons and evenings out.
const SATURDAY: [(f64, f64); 12] = [
    (0.0, 0.18),
    (3.5, 0.06),
    (6.0, 0.35),
    (8.0, 0.62),
    (10.0, 0.7),
    (12.0, 0.65),
    (15.0, 0.72),
    (17.5, 0.88),
    (19.0, 0.85),
    (20.5, 0.75),
    (22.0, 0.45),
    (23.5, 0.22),
];

/// Sundays: the quietest day.
const SUNDAY: [(f64, f64); 10] = [
    (0.0, 0.18),
    (3.5, 0.05),
    (7.0, 0.35),
    (9.0, 0.55),
    (12.0, 0.55),
    (15.0, 0.6),
    (18.0, 0.78),
    (20.0, 0.68),
    (22.0, 0.4),
    (23.5, 0.2),
];

/// How much traffic there is at a moment: demand against capacity on an average corridor,
/// 0.05 at night to about 1.1 at the evening rush of a weekday.
///
/// The night after a day goes on from that day: over the first hour after midnight the
/// demand moves from where the previous day's curve ended to the new day's curve, so that
/// Friday night does not jump to Saturday's at 00:00.
pub(crate) fn demand_profile(t: &LocalTime) -> f64 {
    let curve = |weekday: u8, hour: f64| match weekday {
        5 => daily_curve(&SATURDAY, hour),
        6 => daily_curve(&SUNDAY, hour),
        _ => daily_curve(&WEEKDAY, hour),
    };
    let today = curve(t.weekday, t.hour);
    if t.hour >= 1.0 {
        return today;
    }
    let yesterday_end = curve((t.weekday + 6) % 7, 24.0);
    yesterday_end + (today - yesterday_end) * t.hour
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_does_not_jump_from_one_day_type_to_the_next() {
        let at = |weekday: u8, hour: f64| {
            demand_profile(&LocalTime {
                weekday,
                hour,
                ..LocalTime::at(0)
            })
        };
        for weekday in 0..7u8 {
            let before = at(weekday, 23.999);
            let after = at((weekday + 1) % 7, 0.0);
            assert!(
                (before - after).abs() < 0.01,
                "{weekday}: {before} then {after}"
            );
        }
    }

    #[test]
    fn weekdays_have_two_rush_hours_and_weekends_are_lighter() {
        let at = |weekday: u8, hour: f64| {
            demand_profile(&LocalTime {
                day: 0,
                hour,
                weekday,
                month: 11,
                day_of_year: 311,
            })
        };
        assert!(at(1, 8.0) > 1.0 && at(1, 17.5) > 1.0);
        assert!(at(1, 3.0) < 0.1 && at(1, 12.0) < 0.75);
        assert!(at(6, 8.0) < 0.6 * at(1, 8.0));
        assert!(at(5, 18.0) < at(1, 18.0));
    }
}
