//! Time in the simulated city: local time in Asia/Ho_Chi_Minh, working days and office hours,
//! the `--start`, `--duration` and `--until` arguments, and the pacing of the simulated clock
//! against the wall clock.
//!
//! Inside, times are epoch milliseconds UTC, as in the payloads. Times of day (rush hours,
//! office hours, arrivals by hour) are local: UTC+7 all year, no daylight saving.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate};

pub const SECOND_MS: i64 = 1000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = ioc_protocol::time::DAY_MS;

/// Ho Chi Minh City's offset from UTC: +7 h all year (the wire's, `ioc_protocol::time`).
pub const UTC_OFFSET_MS: i64 = ioc_protocol::time::LOCAL_OFFSET_MS;

/// The contract's limits (`shared/CONTRACT.md`): the server rejects a `ts` more than 1 hour
/// ahead of its clock or more than 7 days behind it.
pub const MAX_AHEAD_MS: i64 = 5 * MINUTE_MS;
/// How far in the past `--start` may be: 7 days less an hour of margin.
pub const MAX_BEHIND_MS: i64 = 7 * DAY_MS - HOUR_MS;

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_CE: i64 = 719_163;

/// A moment in local time, with what the models need to know about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalTime {
    /// Local days since 1970-01-01.
    pub day: i64,
    /// Hour of the day, with its fraction: 7.5 is 07:30.
    pub hour: f64,
    /// 0 Monday .. 6 Sunday.
    pub weekday: u8,
    /// 1 January .. 12 December.
    pub month: u32,
    /// 1 .. 366.
    pub day_of_year: u32,
}

impl LocalTime {
    pub fn at(ms: i64) -> LocalTime {
        let local = ms + UTC_OFFSET_MS;
        let day = local.div_euclid(DAY_MS);
        let hour = local.rem_euclid(DAY_MS) as f64 / HOUR_MS as f64;
        // 1970-01-01 was a Thursday.
        let weekday = (day + 3).rem_euclid(7) as u8;
        let date = date_of_day(day);
        LocalTime {
            day,
            hour,
            weekday,
            month: date.month(),
            day_of_year: date.ordinal(),
        }
    }

    /// Saturday or Sunday.
    pub fn is_weekend(&self) -> bool {
        self.weekday >= 5
    }

    /// The dry season, December to April: worse air, little rain.
    pub fn is_dry_season(&self) -> bool {
        matches!(self.month, 12 | 1..=4)
    }
}

fn date_of_day(day: i64) -> NaiveDate {
    i32::try_from(day + UNIX_EPOCH_DAYS_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or_default()
}

/// The local day of a moment (days since 1970-01-01).
pub fn local_day(ms: i64) -> i64 {
    (ms + UTC_OFFSET_MS).div_euclid(DAY_MS)
}

/// The moment a local day starts (its local midnight), epoch ms.
pub fn day_start(day: i64) -> i64 {
    day * DAY_MS - UTC_OFFSET_MS
}

/// The local date of a moment as `YYYYMMDD`, for ids.
pub fn date_code(ms: i64) -> String {
    date_of_day(local_day(ms)).format("%Y%m%d").to_string()
}

/// Numbers case ids per local day: `{prefix}-{YYYYMMDD}-{n}`, `n` from 1 each day.
#[derive(Debug, Clone)]
pub struct DailyIds {
    prefix: &'static str,
    digits: usize,
    day: i64,
    n: u32,
}

impl DailyIds {
    pub fn new(prefix: &'static str, digits: usize) -> DailyIds {
        DailyIds {
            prefix,
            digits,
            day: i64::MIN,
            n: 0,
        }
    }

    /// The next id for a case opened at `t`.
    pub fn next(&mut self, t: i64) -> String {
        let day = local_day(t);
        if self.day != day {
            (self.day, self.n) = (day, 0);
        }
        self.n += 1;
        format!(
            "{}-{}-{:0w$}",
            self.prefix,
            date_code(t),
            self.n,
            w = self.digits
        )
    }
}

/// A moment as local RFC 3339, to the second: `2025-11-07T08:30:00+07:00`.
pub fn format_local(ms: i64) -> String {
    let offset = chrono::FixedOffset::east_opt((UTC_OFFSET_MS / SECOND_MS) as i32)
        .expect("UTC+7 is a valid offset");
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Whether a local day is a working day (Monday to Friday; public holidays are not modelled).
pub fn is_working_day(day: i64) -> bool {
    (day + 3).rem_euclid(7) < 5
}

/// `n` working days after `ms`, at the same time of day: a deadline.
pub fn add_working_days(ms: i64, n: u32) -> i64 {
    let mut day = local_day(ms);
    let in_day = ms - day_start(day);
    let mut left = n;
    while left > 0 {
        day += 1;
        if is_working_day(day) {
            left -= 1;
        }
    }
    day_start(day) + in_day
}

/// Office hours of the city's agencies, local hours: 07:30-11:30 and 13:00-17:00 on working
/// days.
const OFFICE_BLOCKS: [(f64, f64); 2] = [(7.5, 11.5), (13.0, 17.0)];

/// The first moment at or after `ms` within office hours.
pub fn next_office_time(ms: i64) -> i64 {
    let mut day = local_day(ms);
    loop {
        if is_working_day(day) {
            for (open, close) in OFFICE_BLOCKS {
                let (open, close) = (at_hour(day, open), at_hour(day, close));
                if ms < close {
                    return ms.max(open);
                }
            }
        }
        day += 1;
        if day_start(day) > ms {
            // From here on, any opening time is after `ms`.
            return first_opening_from(day);
        }
    }
}

fn first_opening_from(mut day: i64) -> i64 {
    while !is_working_day(day) {
        day += 1;
    }
    at_hour(day, OFFICE_BLOCKS[0].0)
}

fn at_hour(day: i64, hour: f64) -> i64 {
    day_start(day) + (hour * HOUR_MS as f64) as i64
}

/// `minutes` of office time after `ms`: when a task of that much work, started at `ms`, is
/// done by an office that works only in office hours.
pub fn add_office_minutes(ms: i64, minutes: f64) -> i64 {
    let mut t = next_office_time(ms);
    let mut left = (minutes.max(0.0) * MINUTE_MS as f64) as i64;
    loop {
        let day = local_day(t);
        let close = OFFICE_BLOCKS
            .iter()
            .map(|&(_, close)| at_hour(day, close))
            .find(|&close| close > t)
            .unwrap_or(t);
        if t + left <= close {
            return t + left;
        }
        left -= close - t;
        t = next_office_time(close);
    }
}

/// A value of the day, linearly interpolated between `(hour, value)` points that go round the
/// clock (the last point joins the first one on the next day). The hours rise.
pub(crate) fn daily_curve(points: &[(f64, f64)], hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    let n = points.len();
    for i in 0..n {
        let (h0, v0) = points[i];
        let (mut h1, v1) = points[(i + 1) % n];
        if i + 1 == n {
            h1 += 24.0;
        }
        let h = if h < h0 { h + 24.0 } else { h };
        if h >= h0 && h <= h1 {
            return v0 + (v1 - v0) * (h - h0) / (h1 - h0);
        }
    }
    points[0].1
}

/// A bad `--start`, `--duration`, `--until` or `--speed`, or a combination that would make the
/// server reject what the simulator sends.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockError {
    #[error(
        "{0:?} is not a time: use `now`, `today` (local midnight), a date `2025-11-07` (its local midnight), RFC 3339 `2025-11-07T08:00:00+07:00`, or epoch milliseconds"
    )]
    BadTime(String),
    #[error("{0:?} is not a duration: use a number and a unit, `24h`, `90m`, `1h30m`, `45s`, `2d`")]
    BadDuration(String),
    #[error("--speed {0} must be a number above 0 (simulated seconds per real second)")]
    BadSpeed(f64),
    #[error(
        "--start is {ahead_s} s ahead of the wall clock: the server rejects readings from the future, and the simulator never runs ahead of the wall clock"
    )]
    StartInFuture { ahead_s: i64 },
    #[error(
        "--start is {behind_h} h in the past: the server rejects readings more than 7 days old (at most {} h)",
        MAX_BEHIND_MS / HOUR_MS
    )]
    StartTooOld { behind_h: i64 },
    #[error("the end of the run is not after --start")]
    EndBeforeStart,
}

/// Parses a `--start` or `--until`: `now`, `today` (local midnight of today), a local date
/// `YYYY-MM-DD` (its local midnight), an RFC 3339 time, or integer epoch milliseconds.
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, ClockError> {
    let s = s.trim();
    let bad = || ClockError::BadTime(s.to_owned());
    match s {
        "now" => return Ok(now_ms),
        "today" => return Ok(day_start(local_day(now_ms))),
        _ => {}
    }
    if let Ok(ms) = s.parse::<i64>() {
        // Epoch seconds look like 1.7e9; milliseconds like 1.7e12. Refuse the ambiguity.
        return if ms >= 100_000_000_000 {
            Ok(ms)
        } else {
            Err(bad())
        };
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(day_start(
            i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAYS_CE,
        ));
    }
    Err(bad())
}

/// Parses a `--duration`: numbers with units `d`, `h`, `m`, `s`, `ms`, one after the other
/// (`24h`, `90m`, `1h30m`, `1.5h`). Gives milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, ClockError> {
    let bad = || ClockError::BadDuration(s.to_owned());
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "d" => DAY_MS,
            "h" => HOUR_MS,
            "m" | "min" => MINUTE_MS,
            "s" => SECOND_MS,
            "ms" => 1,
            _ => return Err(bad()),
        };
        rest = &rest[unit_end..];
        total += number * unit as f64;
    }
    if total.is_finite() && total > 0.0 && total < 1e15 {
        Ok(total.round() as i64)
    } else {
        Err(bad())
    }
}

/// How the simulated clock runs against the wall clock: from `start_ms`, `speed` simulated
/// seconds per real second, until `end_ms` if there is one, and never ahead of the wall clock
/// (by more than `max_lead_ms`): a simulation that catches up with the present goes on in real
/// time, so every `ts` it sends is one the server accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    pub start_ms: i64,
    pub speed: f64,
    pub end_ms: Option<i64>,
    pub max_lead_ms: i64,
}

impl Pacing {
    pub fn new(start_ms: i64, speed: f64, end_ms: Option<i64>) -> Pacing {
        Pacing {
            start_ms,
            speed,
            end_ms,
            max_lead_ms: 0,
        }
    }

    /// Refuses a pacing the server would reject the readings of.
    pub fn validate(&self, wall_now_ms: i64) -> Result<(), ClockError> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(ClockError::BadSpeed(self.speed));
        }
        if self.start_ms > wall_now_ms + MAX_AHEAD_MS {
            return Err(ClockError::StartInFuture {
                ahead_s: (self.start_ms - wall_now_ms) / SECOND_MS,
            });
        }
        if self.start_ms < wall_now_ms - MAX_BEHIND_MS {
            return Err(ClockError::StartTooOld {
                behind_h: (wall_now_ms - self.start_ms) / HOUR_MS,
            });
        }
        if self.end_ms.is_some_and(|end| end <= self.start_ms) {
            return Err(ClockError::EndBeforeStart);
        }
        Ok(())
    }

    /// Where the simulated clock should be, `elapsed` after the run started, with the wall
    /// clock at `wall_now_ms`.
    pub fn target_ms(&self, elapsed: Duration, wall_now_ms: i64) -> i64 {
        let by_speed = self.start_ms + (elapsed.as_secs_f64() * 1000.0 * self.speed) as i64;
        let t = by_speed.min(wall_now_ms + self.max_lead_ms);
        self.end_ms.map_or(t, |end| t.min(end))
    }

    /// Whether the wall clock, not the speed, holds the simulated clock back.
    pub fn held_by_wall_clock(&self, elapsed: Duration, wall_now_ms: i64) -> bool {
        let by_speed = self.start_ms + (elapsed.as_secs_f64() * 1000.0 * self.speed) as i64;
        by_speed > wall_now_ms + self.max_lead_ms
    }

    /// How long to wait until the simulated clock may reach `sim_ms`.
    pub fn wait_for(&self, sim_ms: i64, elapsed: Duration, wall_now_ms: i64) -> Duration {
        let by_speed_s = (sim_ms - self.start_ms) as f64 / 1000.0 / self.speed;
        let speed_wait = (by_speed_s - elapsed.as_secs_f64()).max(0.0);
        let wall_wait = (sim_ms - self.max_lead_ms - wall_now_ms).max(0) as f64 / 1000.0;
        Duration::from_secs_f64(speed_wait.max(wall_wait))
    }

    /// Whether the run is over at simulated time `sim_ms`.
    pub fn finished(&self, sim_ms: i64) -> bool {
        self.end_ms.is_some_and(|end| sim_ms >= end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-11-07 00:00 local (a Friday).
    const FRI: i64 = 1_762_448_400_000;

    #[test]
    fn local_time_is_utc_plus_7() {
        let t = LocalTime::at(FRI + 8 * HOUR_MS + 30 * MINUTE_MS);
        assert_eq!((t.hour, t.weekday, t.month), (8.5, 4, 11));
        assert_eq!(date_code(FRI), "20251107");
        assert_eq!(date_code(FRI - 1), "20251106");
        assert_eq!(format_local(FRI + 8 * HOUR_MS), "2025-11-07T08:00:00+07:00");
        assert_eq!(day_start(local_day(FRI + 5 * HOUR_MS)), FRI);
        assert_eq!(parse_time("2025-11-07", 0), Ok(FRI));
        assert_eq!(parse_time("2025-11-07T00:00:00+07:00", 0), Ok(FRI));
        assert_eq!(parse_time("today", FRI + 23 * HOUR_MS), Ok(FRI));
        assert_eq!(parse_time("1762448400000", 0), Ok(FRI));
        assert!(parse_time("1762448400", 0).is_err());
        assert!(parse_time("tomorrow", 0).is_err());
    }

    #[test]
    fn deadlines_skip_weekends() {
        let fri_10 = FRI + 10 * HOUR_MS;
        assert_eq!(add_working_days(fri_10, 1), fri_10 + 3 * DAY_MS);
        assert_eq!(add_working_days(fri_10, 5), fri_10 + 7 * DAY_MS);
        let sat = FRI + DAY_MS + 9 * HOUR_MS;
        assert_eq!(add_working_days(sat, 1), sat + 2 * DAY_MS);
    }

    #[test]
    fn office_hours() {
        // Friday 12:00 is lunch: 13:00. Friday 18:00: Monday 07:30.
        assert_eq!(next_office_time(FRI + 12 * HOUR_MS), FRI + 13 * HOUR_MS);
        let monday_open = FRI + 3 * DAY_MS + 7 * HOUR_MS + 30 * MINUTE_MS;
        assert_eq!(next_office_time(FRI + 18 * HOUR_MS), monday_open);
        assert_eq!(next_office_time(FRI + 9 * HOUR_MS), FRI + 9 * HOUR_MS);
        // Friday 16:00 + 2 h of work: 1 h on Friday, 1 h on Monday morning.
        assert_eq!(
            add_office_minutes(FRI + 16 * HOUR_MS, 120.0),
            monday_open + HOUR_MS
        );
        // 11:00 + 1 h: 11:30, lunch, 13:30.
        assert_eq!(
            add_office_minutes(FRI + 11 * HOUR_MS, 60.0),
            FRI + 13 * HOUR_MS + 30 * MINUTE_MS
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(DAY_MS));
        assert_eq!(parse_duration("90m"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("1h30m"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("1.5h"), Ok(90 * MINUTE_MS));
        assert_eq!(parse_duration("2d"), Ok(2 * DAY_MS));
        for bad in ["", "12", "h", "3x", "0s", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn curves_wrap_round_midnight() {
        let pts = [(6.0, 1.0), (18.0, 3.0)];
        assert_eq!(daily_curve(&pts, 12.0), 2.0);
        assert_eq!(daily_curve(&pts, 0.0), 2.0);
        assert_eq!(daily_curve(&pts, 21.0), 2.5);
        assert_eq!(daily_curve(&pts, 3.0), 1.5);
    }

    #[test]
    fn the_simulated_clock_never_runs_ahead_of_the_wall_clock() {
        let now = FRI + 10 * HOUR_MS;
        let p = Pacing::new(FRI, 600.0, None);
        assert_eq!(p.validate(now), Ok(()));
        // 10 real seconds at 600x: 100 simulated minutes after midnight.
        let ten = Duration::from_secs(10);
        assert_eq!(p.target_ms(ten, now), FRI + 100 * MINUTE_MS);
        assert!(!p.held_by_wall_clock(ten, now));
        // Two minutes at 600x would be 20 h: held at the wall clock.
        let minute = Duration::from_secs(120);
        assert_eq!(p.target_ms(minute, now), now);
        assert!(p.held_by_wall_clock(minute, now));
        assert_eq!(
            p.wait_for(now + 2 * SECOND_MS, minute, now),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.wait_for(FRI + 101 * MINUTE_MS, ten, now),
            Duration::from_millis(100)
        );
        let ended = Pacing::new(FRI, 600.0, Some(FRI + HOUR_MS));
        assert_eq!(ended.target_ms(minute, now), FRI + HOUR_MS);
        assert!(ended.finished(FRI + HOUR_MS));
    }

    #[test]
    fn pacings_the_server_would_reject_are_refused() {
        let now = FRI;
        let future = Pacing::new(now + HOUR_MS, 1.0, None);
        assert!(matches!(
            future.validate(now),
            Err(ClockError::StartInFuture { ahead_s: 3600 })
        ));
        let old = Pacing::new(now - 7 * DAY_MS, 600.0, None);
        assert!(matches!(
            old.validate(now),
            Err(ClockError::StartTooOld { .. })
        ));
        assert!(Pacing::new(now, 0.0, None).validate(now).is_err());
        assert!(Pacing::new(now, f64::NAN, None).validate(now).is_err());
        assert_eq!(
            Pacing::new(now, 1.0, Some(now)).validate(now),
            Err(ClockError::EndBeforeStart)
        );
    }
}
