//! Anomaly detection on one numeric series: a robust baseline by hour of the day and day
//! type, and a sustained departure from it.
//!
//! The baseline of a series is kept per slot: the hour of the day (local time, UTC+7) on a
//! weekday, a Saturday or a Sunday (72 slots), with the plain hour of the day (24 slots) to
//! fall back on while a day type is still learning. Each slot holds an exponentially weighted
//! mean and mean absolute deviation; a value enters the baseline clipped to the mean ± 4
//! scales once the slot is learned, so an anomaly, however long, barely moves the baseline
//! it is measured against (a robust EWMA).
//!
//! The score of a value is its distance from the slot's mean in robust standard deviations
//! (1.25 × the mean absolute deviation, at least 2 % of the mean). The series turns anomalous
//! when the score stays at or beyond `score_on` for `min_readings` readings in a row spanning
//! at least `window_ms`; it turns normal again when it stays below `score_off` as long.
//! Everything runs on the readings' own time (`ts`), so a replayed day is judged as it happened.

/// A slot's learning rate never falls below 1 / this many readings.
const SLOT_MEMORY: f32 = 500.0;
/// Slots: 3 day types × 24 hours, then 24 hours.
const SLOTS: usize = 96;
/// Normal deviation / mean absolute deviation, for a normal distribution.
const MAD_TO_SIGMA: f64 = 1.2533;
/// The scale is at least this share of the baseline's magnitude: a series that hardly moves
/// (a constant) does not turn every small change into an anomaly.
const MIN_RELATIVE_SCALE: f64 = 0.02;
const MIN_ABSOLUTE_SCALE: f64 = 1e-3;
/// Values enter a learned baseline clipped to this many scales from its mean.
const CLIP: f64 = 4.0;

/// How the detector decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// The departure from the recent course, in robust standard deviations, that starts an
    /// anomaly...
    pub score_on: f64,
    /// ...when the value is also this far from its seasonal baseline, the same way.
    pub seasonal_score: f64,
    pub score_off: f64,
    pub window_ms: i64,
    pub min_readings: u32,
    /// Readings a slot needs before its baseline is used.
    pub min_samples: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    n: u32,
    mean: f32,
    mad: f32,
}

impl Slot {
    fn learn(&mut self, x: f64) {
        self.n = self.n.saturating_add(1);
        let alpha = 1.0 / (self.n as f32).min(SLOT_MEMORY);
        let x = x as f32;
        let dev = (x - self.mean).abs();
        if self.n == 1 {
            self.mean = x;
            self.mad = 0.0;
            return;
        }
        self.mean += alpha * (x - self.mean);
        self.mad += alpha * (dev - self.mad);
    }

    fn scale(&self) -> f64 {
        let mean = f64::from(self.mean);
        (MAD_TO_SIGMA * f64::from(self.mad))
            .max(MIN_RELATIVE_SCALE * mean.abs())
            .max(MIN_ABSOLUTE_SCALE)
    }
}

/// The two slots of a time: (day type × hour, hour).
pub fn slots_of(ts_ms: i64) -> (usize, usize) {
    use ioc_protocol::time::{DAY_MS, LOCAL_OFFSET_MS};
    let local = ts_ms + LOCAL_OFFSET_MS;
    let hour = local.rem_euclid(DAY_MS) / 3_600_000;
    // 1970-01-01 was a Thursday: day 0 -> Thursday (3, counting Monday as 0).
    let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7);
    let day_type = match weekday {
        5 => 1, // Saturday
        6 => 2, // Sunday
        _ => 0,
    };
    ((day_type * 24 + hour) as usize, (72 + hour) as usize)
}

/// What a reading did to a series' anomaly state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// It turned anomalous: the run began at `since`; the value's baseline and score.
    Began {
        since: i64,
        baseline: f64,
        score: f64,
    },
    /// It is still anomalous, now with this score against this predicted value.
    Still { baseline: f64, score: f64 },
    /// It turned normal again.
    Ended,
}

/// The recent course of a series: Holt's level and trend, and the typical size of its
/// one-step errors. It predicts the next reading from the last ones, so a series that moves
/// with the tide or the weather is judged against where it was heading, not only against
/// what its hour usually holds.
#[derive(Debug, Clone, Copy, Default)]
struct Course {
    n: u32,
    level: f64,
    /// Per millisecond.
    trend: f64,
    at: i64,
    mad: f64,
    /// While the series is beyond its course the course is not learned (it would follow the
    /// anomaly); after [`RELEARN_AFTER_MS`] it starts again from where the series is.
    frozen_since: Option<i64>,
}

/// Readings a course needs before it is used.
const COURSE_MIN: u32 = 10;
const LEVEL_ALPHA: f64 = 0.3;
const TREND_BETA: f64 = 0.05;
const ERROR_GAMMA: f64 = 0.05;
/// A departure that lasts this long is the series' new course.
const RELEARN_AFTER_MS: i64 = 2 * 3_600_000;

impl Course {
    fn predict(&self, ts: i64) -> f64 {
        self.level + self.trend * (ts - self.at) as f64
    }

    fn scale(&self) -> f64 {
        (MAD_TO_SIGMA * self.mad)
            .max(MIN_RELATIVE_SCALE * self.level.abs())
            .max(MIN_ABSOLUTE_SCALE)
    }

    /// The score of `x` at `ts` against the course (`None` while it learns).
    fn score(&self, ts: i64, x: f64) -> Option<(f64, f64)> {
        (self.n >= COURSE_MIN).then(|| {
            let predicted = self.predict(ts);
            (predicted, (x - predicted) / self.scale())
        })
    }

    fn learn(&mut self, ts: i64, x: f64, beyond: bool) {
        if self.n == 0 {
            *self = Course {
                n: 1,
                level: x,
                at: ts,
                ..Course::default()
            };
            return;
        }
        if beyond && self.n >= COURSE_MIN {
            let since = *self.frozen_since.get_or_insert(ts);
            if ts - since < RELEARN_AFTER_MS {
                return;
            }
            *self = Course {
                n: COURSE_MIN,
                level: x,
                at: ts,
                mad: self.mad,
                ..Course::default()
            };
            return;
        }
        self.frozen_since = None;
        let dt = (ts - self.at).max(1) as f64;
        let predicted = self.predict(ts);
        let error = x - predicted;
        let level = predicted + LEVEL_ALPHA * error;
        self.trend = (1.0 - TREND_BETA) * self.trend + TREND_BETA * (level - self.level) / dt;
        self.level = level;
        self.at = ts;
        self.mad += ERROR_GAMMA * (error.abs() - self.mad);
        self.n = self.n.saturating_add(1);
    }
}

/// One series: its baseline and where its detector stands.
#[derive(Debug, Clone)]
pub struct Series {
    slots: Box<[Slot; SLOTS]>,
    course: Course,
    anomalous: bool,
    /// The current run of readings on the other side (beyond `score_on` while normal, below
    /// `score_off` while anomalous): its first time and length.
    run_since: i64,
    run_len: u32,
    /// The newest reading's time: an older one (redelivered, late) is not learned twice.
    last_ts: i64,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            slots: Box::new([Slot::default(); SLOTS]),
            course: Course::default(),
            anomalous: false,
            run_since: 0,
            run_len: 0,
            last_ts: i64::MIN,
        }
    }
}

impl Series {
    /// The baseline at `ts`: (mean, scale), from the day type's slot once it has learned
    /// enough, else the hour's, else none.
    pub fn baseline(&self, ts: i64, min_samples: u32) -> Option<(f64, f64)> {
        let (typed, hour) = slots_of(ts);
        [typed, hour]
            .into_iter()
            .map(|i| &self.slots[i])
            .find(|s| s.n >= min_samples)
            .map(|s| (f64::from(s.mean), s.scale()))
    }

    /// The baseline as bytes: each slot's count, mean and mean absolute deviation.
    pub fn baseline_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SLOTS * 12);
        for s in self.slots.iter() {
            out.extend_from_slice(&s.n.to_le_bytes());
            out.extend_from_slice(&s.mean.to_le_bytes());
            out.extend_from_slice(&s.mad.to_le_bytes());
        }
        out
    }

    /// A series with the baseline of [`Series::baseline_bytes`]; `None` if they are not one.
    pub fn from_baseline_bytes(bytes: &[u8]) -> Option<Series> {
        if bytes.len() != SLOTS * 12 {
            return None;
        }
        let mut s = Series::default();
        for (slot, b) in s.slots.iter_mut().zip(bytes.chunks_exact(12)) {
            let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
            slot.n = u32::from_le_bytes(word(0));
            slot.mean = f32::from_le_bytes(word(4));
            slot.mad = f32::from_le_bytes(word(8));
            if !(slot.mean.is_finite() && slot.mad.is_finite()) {
                return None;
            }
        }
        Some(s)
    }

    pub fn is_anomalous(&self) -> bool {
        self.anomalous
    }

    /// Takes the series as anomalous (an anomaly alert still open from before a restart): it
    /// ends when the series is seen back within its baseline.
    pub fn set_anomalous(&mut self) {
        self.anomalous = true;
        self.run_len = 0;
    }

    /// Takes in one reading; says whether the anomaly state changed (or goes on).
    ///
    /// A reading is beyond when it departs from the series' recent course by `score_on` and
    /// from its seasonal baseline by `seasonal_score`, the same way: an abrupt change that the
    /// hour does not explain. Back within `score_off` of the course, or within half of
    /// `seasonal_score` of its baseline, it is normal again.
    pub fn observe(&mut self, ts: i64, x: f64, p: &Params) -> Option<Change> {
        if ts <= self.last_ts {
            return None;
        }
        self.last_ts = ts;
        let base = self.baseline(ts, p.min_samples);
        let (typed, hour) = slots_of(ts);
        let learned = match base {
            Some((mean, scale)) => x.clamp(mean - CLIP * scale, mean + CLIP * scale),
            None => x,
        };
        self.slots[typed].learn(learned);
        self.slots[hour].learn(learned);
        let course = self.course.score(ts, x);
        let judged = base.zip(course).map(|((mean, scale), (predicted, score))| {
            let seasonal = (x - mean) / scale;
            let same_way = seasonal.signum() == score.signum();
            let departs =
                score.abs() >= p.score_on && seasonal.abs() >= p.seasonal_score && same_way;
            // Once anomalous, it stays so while it is past `score_off` of the course and
            // still half as far from its seasonal baseline.
            let stays =
                score.abs() >= p.score_off && seasonal.abs() >= p.seasonal_score / 2.0 && same_way;
            (
                predicted,
                score,
                if self.anomalous { stays } else { departs },
            )
        });
        let beyond = judged.is_some_and(|(_, _, beyond)| beyond);
        self.course.learn(ts, x, beyond);
        let (predicted, score, _) = judged?;
        // The run counts readings on the other side: beyond while normal, back while
        // anomalous.
        let other_side = beyond != self.anomalous;
        if !other_side {
            self.run_len = 0;
            return self.anomalous.then_some(Change::Still {
                baseline: predicted,
                score,
            });
        }
        if self.run_len == 0 {
            self.run_since = ts;
        }
        self.run_len += 1;
        if self.run_len < p.min_readings || ts - self.run_since < p.window_ms {
            return self.anomalous.then_some(Change::Still {
                baseline: predicted,
                score,
            });
        }
        self.run_len = 0;
        self.anomalous = !self.anomalous;
        Some(if self.anomalous {
            Change::Began {
                since: self.run_since,
                baseline: predicted,
                score,
            }
        } else {
            Change::Ended
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        score_on: 6.0,
        seasonal_score: 3.0,
        score_off: 3.0,
        window_ms: 300_000,
        min_readings: 3,
        min_samples: 30,
    };

    /// 2026-11-16 00:00 in Ho Chi Minh City, a Monday.
    const MONDAY: i64 = 1_794_762_000_000;

    /// A daily cycle with noise: 40 by night, 20 at 8:00, a reading a minute.
    fn normal(ts: i64, noise: f64) -> f64 {
        let hour = ((ts + ioc_protocol::time::LOCAL_OFFSET_MS).rem_euclid(86_400_000)) as f64
            / 3_600_000.0;
        let rush = (-((hour - 8.0) / 1.5).powi(2)).exp();
        40.0 - 20.0 * rush + noise
    }

    fn noise(i: i64) -> f64 {
        // Deterministic, spread in [-1.5, 1.5].
        (((i * 7919) % 61) as f64 / 20.0) - 1.5
    }

    #[test]
    fn slots_follow_local_hour_and_day_type() {
        assert_eq!(slots_of(MONDAY), (0, 72));
        assert_eq!(slots_of(MONDAY + 8 * 3_600_000), (8, 80));
        assert_eq!(slots_of(MONDAY + 5 * 86_400_000 + 3_600_000), (25, 73));
        assert_eq!(slots_of(MONDAY + 6 * 86_400_000 + 23 * 3_600_000), (71, 95));
        // 23:59 UTC on a Sunday is Monday morning in the city.
        assert_eq!(slots_of(MONDAY - 60_000), (71, 95));
    }

    /// Three clean days, then a day with a 40-minute drop at 14:00: it is found, it ends, and
    /// the normal rush hour is not an anomaly.
    #[test]
    fn a_sustained_departure_is_found_and_the_daily_cycle_is_not() {
        let mut s = Series::default();
        let mut changes = Vec::new();
        for i in 0..(4 * 1440) {
            let ts = MONDAY + i * 60_000;
            let mut x = normal(ts, noise(i));
            let day3_1400 = MONDAY + 3 * 86_400_000 + 14 * 3_600_000;
            if (day3_1400..day3_1400 + 40 * 60_000).contains(&ts) {
                x *= 0.4;
            }
            if let Some(c) = s.observe(ts, x, &P)
                && !matches!(c, Change::Still { .. })
            {
                changes.push((ts, c));
            }
        }
        assert_eq!(changes.len(), 2, "{changes:?}");
        let day3_1400 = MONDAY + 3 * 86_400_000 + 14 * 3_600_000;
        match changes[0] {
            (
                at,
                Change::Began {
                    since,
                    baseline,
                    score,
                },
            ) => {
                assert_eq!(since, day3_1400);
                assert_eq!(at, day3_1400 + 5 * 60_000, "after the 5-minute window");
                assert!((baseline - 40.0).abs() < 2.0, "{baseline}");
                assert!(score < -6.0, "{score}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(changes[1].1, Change::Ended));
        assert!(changes[1].0 >= day3_1400 + 45 * 60_000);
    }

    #[test]
    fn a_short_spike_is_not_an_anomaly() {
        let mut s = Series::default();
        for i in 0..(3 * 1440) {
            let ts = MONDAY + i * 60_000;
            let spike = (i == 2 * 1440 + 600 || i == 2 * 1440 + 601) as u8 as f64 * 50.0;
            let c = s.observe(ts, normal(ts, noise(i)) + spike, &P);
            assert!(c.is_none(), "{c:?} at reading {i}");
        }
    }

    #[test]
    fn nothing_is_judged_before_the_baseline_has_learned() {
        let mut s = Series::default();
        for i in 0..29 {
            assert!(
                s.observe(MONDAY + i * 60_000, 1000.0 * i as f64, &P)
                    .is_none()
            );
        }
        assert!(s.baseline(MONDAY, 30).is_none());
    }

    #[test]
    fn a_baseline_survives_as_bytes() {
        let mut s = Series::default();
        for i in 0..(2 * 1440) {
            let ts = MONDAY + i * 60_000;
            s.observe(ts, normal(ts, noise(i)), &P);
        }
        let back = Series::from_baseline_bytes(&s.baseline_bytes()).unwrap();
        let at = MONDAY + 2 * 86_400_000 + 8 * 3_600_000;
        assert_eq!(back.baseline(at, 30), s.baseline(at, 30));
        assert!(back.baseline(at, 30).is_some());
        assert!(Series::from_baseline_bytes(&[0; 7]).is_none());
    }

    #[test]
    fn a_late_reading_is_not_learned_twice() {
        let mut s = Series::default();
        for i in 0..40 {
            s.observe(MONDAY + i * 60_000, 10.0, &P);
        }
        let before = s.slots[72].n;
        assert!(s.observe(MONDAY, 99.0, &P).is_none());
        assert_eq!(s.slots[72].n, before);
    }
}
