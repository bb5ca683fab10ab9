//! Seeded abnormal values, the ground truth of the server's abnormal signs: in a small share of
//! series, one period's value multiplied by 1.3 to 1.8 or by 0.3 to 0.7 (a rate in % shifted
//! by 15 to 35 % of its range's width instead), only once a series has three years of history
//! (from January 2024), never two in a series within two years, and never one that would leave
//! the plausible range (that draw is skipped).

use std::collections::HashMap;

use ioc_protocol::indicator::Period;
use rand::Rng;

use super::series::Traits;
use crate::rng::{rng_for, uniform};

/// The first year a value may be abnormal: 2021 to 2023 are the history it departs from.
pub const ABNORMAL_FROM_YEAR: i32 = 2024;

/// The chance that a period's value is abnormal, where the two years' gap allows one: about
/// 1.5 % of the values from 2024 on.
pub const ABNORMAL_CHANCE: f64 = 0.02;

/// The least time between two abnormal values of a series.
pub const ABNORMAL_GAP_YEARS: i32 = 2;

/// How an abnormal value departs from the value the series would have had.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AbnormalChange {
    /// Multiplied by a factor (1.3 to 1.8, or 0.3 to 0.7).
    Factor(f64),
    /// A rate in % shifted by points (15 to 35 % of the range's width, up or down).
    Points(f64),
}

/// Which series had an abnormal value last, and when.
#[derive(Debug, Default)]
pub(super) struct AbnormalSeeds {
    last: HashMap<(String, String), Period>,
}

impl AbnormalSeeds {
    /// Whether the value of `traits`' indicator for `area` in `period` is seeded abnormal: its
    /// new value (rounded, inside the range) and the change. Periods of a series must be asked
    /// in order.
    pub(super) fn seed(
        &mut self,
        traits: &Traits,
        area: &str,
        period: Period,
        value: f64,
    ) -> Option<(f64, AbnormalChange)> {
        if period.year() < ABNORMAL_FROM_YEAR {
            return None;
        }
        let key = (traits.code.clone(), area.to_owned());
        if let Some(last) = self.last.get(&key) {
            let allowed = Period::new(
                last.periodicity(),
                last.year() + ABNORMAL_GAP_YEARS,
                last.index_in_year(),
            )
            .ok()?;
            if period < allowed {
                return None;
            }
        }
        let mut rng = rng_for(
            traits.seed,
            &format!("indicator/{}/{area}/{period}/abnormal", traits.code),
        );
        if rng.random::<f64>() >= ABNORMAL_CHANCE {
            return None;
        }
        let up: bool = rng.random();
        let (raw, change) = if traits.percent {
            let width = traits.range.max - traits.range.min;
            let points = uniform(&mut rng, 0.15, 0.35) * width * if up { 1.0 } else { -1.0 };
            (value + points, AbnormalChange::Points(points))
        } else {
            let factor = if up {
                uniform(&mut rng, 1.3, 1.8)
            } else {
                uniform(&mut rng, 0.3, 0.7)
            };
            if value <= 0.0 {
                return None;
            }
            (value * factor, AbnormalChange::Factor(factor))
        };
        if !traits.range.contains(raw) {
            return None;
        }
        self.last.insert(key, period);
        Some((traits.finish(raw), change))
    }
}
