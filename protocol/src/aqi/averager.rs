//! Hourly averages of one value stream, built from readings as they arrive, with the
//! completeness rule an hour must meet.

/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;
/// Minutes of an hour that must hold a reading for an hourly average (75 %), by default.
pub const DEFAULT_MIN_MINUTES: u32 = 45;

/// Hours an [`HourlyAverager`] keeps: the hour in progress and the 24 before it.
const SLOTS: usize = 25;

/// One clock hour's readings.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The hour, `ts_ms.div_euclid(HOUR_MS)`; meaningful only when `n > 0`.
    hour: i64,
    sum: f64,
    n: u32,
    /// Bit `m` set: a reading fell in minute `m` of the hour.
    minutes: u64,
}

/// Hourly averages of one value stream (one pollutant of one station), built from readings
/// that arrive every minute or so, over the hour in progress and the 24 hours before it:
/// fixed memory (25 buckets), whatever the rate of readings.
///
/// An hour's average is the mean of its readings, and it exists only if readings fell in at
/// least `min_minutes` distinct minutes of the hour (45 by default: 75 %, the usual rule for
/// an hourly average; the decision sets none). A station reporting less often than once a
/// minute needs a smaller `min_minutes`, e.g. 9 for one reading every five minutes.
///
/// Readings may come late and out of order: one within the kept hours joins its hour; one
/// older is refused. A reading with the same timestamp as the previous one (an MQTT QoS 1
/// duplicate) is refused.
#[derive(Debug, Clone)]
pub struct HourlyAverager {
    buckets: [Bucket; SLOTS],
    newest_hour: Option<i64>,
    last_ts: Option<i64>,
    min_minutes: u32,
}

impl Default for HourlyAverager {
    fn default() -> Self {
        HourlyAverager::new()
    }
}

impl HourlyAverager {
    pub fn new() -> Self {
        HourlyAverager::with_min_minutes(DEFAULT_MIN_MINUTES)
    }

    /// With another completeness rule: `min_minutes` in 1..=60 (clamped).
    pub fn with_min_minutes(min_minutes: u32) -> Self {
        HourlyAverager {
            buckets: [Bucket::default(); SLOTS],
            newest_hour: None,
            last_ts: None,
            min_minutes: min_minutes.clamp(1, 60),
        }
    }

    /// Adds a reading (epoch ms, µg/m³). Returns whether it was taken: not a negative or
    /// non-finite value, not older than the kept hours, not a duplicate.
    pub fn push(&mut self, ts_ms: i64, value: f64) -> bool {
        if !value.is_finite() || value < 0.0 || self.last_ts == Some(ts_ms) {
            return false;
        }
        let hour = ts_ms.div_euclid(HOUR_MS);
        if let Some(newest) = self.newest_hour
            && hour <= newest - SLOTS as i64
        {
            return false;
        }
        // Any other hour in this slot is older than the kept ones (hours in a slot differ by
        // a multiple of SLOTS), so it can go.
        let bucket = &mut self.buckets[hour.rem_euclid(SLOTS as i64) as usize];
        if bucket.n == 0 || bucket.hour != hour {
            *bucket = Bucket {
                hour,
                ..Bucket::default()
            };
        }
        let minute = ts_ms.rem_euclid(HOUR_MS) / 60_000;
        bucket.minutes |= 1u64 << minute;
        bucket.sum += value;
        bucket.n += 1;
        self.newest_hour = Some(self.newest_hour.map_or(hour, |n| n.max(hour)));
        self.last_ts = Some(ts_ms);
        true
    }

    /// The bucket of `hour`, if it is one of the kept hours and holds readings.
    fn bucket(&self, hour: i64) -> Option<&Bucket> {
        let newest = self.newest_hour?;
        let b = &self.buckets[hour.rem_euclid(SLOTS as i64) as usize];
        (hour > newest - SLOTS as i64 && b.n > 0 && b.hour == hour).then_some(b)
    }

    /// Minutes of `hour` that hold a reading.
    pub fn coverage(&self, hour: i64) -> u32 {
        self.bucket(hour).map_or(0, |b| b.minutes.count_ones())
    }

    /// The average of `hour` (`ts_ms.div_euclid(HOUR_MS)`), if kept and complete enough.
    pub fn hour_mean(&self, hour: i64) -> Option<f64> {
        self.bucket(hour)
            .filter(|b| b.minutes.count_ones() >= self.min_minutes)
            .map(|b| b.sum / f64::from(b.n))
    }

    /// The hourly averages as of `now_ms`, most recent first, and the hour of the first.
    ///
    /// The first (c1 of the NowCast) is the hour in progress if it is already complete
    /// enough (at least `min_minutes` minutes with readings, so from minute 45 on with a
    /// reading every minute), and the last closed hour otherwise. Hours after `now_ms` are
    /// not looked at.
    pub fn recent(&self, now_ms: i64) -> Recent {
        let now_hour = now_ms.div_euclid(HOUR_MS);
        let first = if self.hour_mean(now_hour).is_some() {
            now_hour
        } else {
            now_hour - 1
        };
        Recent {
            first_hour: first,
            values: std::array::from_fn(|i| self.hour_mean(first - i as i64)),
        }
    }
}

/// Hourly averages of one stream, most recent first, from [`HourlyAverager::recent`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recent {
    /// The hour of `values[0]` (`ts_ms.div_euclid(HOUR_MS)`).
    pub first_hour: i64,
    /// `values[i]` is the average of hour `first_hour - i`.
    pub values: [Option<f64>; 24],
}
