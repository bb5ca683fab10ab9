//! Local time: Asia/Ho_Chi_Minh, UTC+7 all year (Vietnam has no daylight saving).
//!
//! Every time on a wire is epoch ms UTC. What is local is where a day starts: today's counts
//! (complaints, dossiers, a gauge's peak) run from local midnight, and the screens show
//! clocks and chart ticks in local time, whatever the zone of the machine, and the calendar
//! (an indicator's month, quarter or year, its reporting deadline) is the local calendar.

use chrono::{DateTime, NaiveDate};

/// The IANA name of the city's time zone.
pub const LOCAL_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

/// Local time minus UTC, ms: UTC+7.
pub const LOCAL_OFFSET_MS: i64 = 7 * 3_600_000;

/// One day, ms.
pub const DAY_MS: i64 = 86_400_000;

/// Local midnight (Asia/Ho_Chi_Minh) at or before `epoch_ms`, epoch ms.
pub const fn local_midnight_ms(epoch_ms: i64) -> i64 {
    (epoch_ms + LOCAL_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - LOCAL_OFFSET_MS
}

/// The local calendar date (Asia/Ho_Chi_Minh) of an instant, epoch ms. Instants beyond
/// chrono's calendar (about 262,000 years away) give its first or last date.
pub fn local_date(epoch_ms: i64) -> NaiveDate {
    match DateTime::from_timestamp_millis(epoch_ms.saturating_add(LOCAL_OFFSET_MS)) {
        Some(t) => t.date_naive(),
        None if epoch_ms < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

/// Local midnight (Asia/Ho_Chi_Minh) at the start of a date, epoch ms.
pub fn local_midnight_of(date: NaiveDate) -> i64 {
    date.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
        - LOCAL_OFFSET_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_starts_at_midnight_in_ho_chi_minh_city() {
        // 2026-11-22 00:30 local is 2026-11-21 17:30 UTC.
        let t = 1_795_282_200_000;
        assert_eq!(local_midnight_ms(t), 1_795_280_400_000);
        assert_eq!(local_midnight_ms(1_795_280_400_000), 1_795_280_400_000);
        assert_eq!(
            local_midnight_ms(1_795_280_399_999),
            1_795_280_400_000 - 86_400_000
        );
    }

    #[test]
    fn the_local_date_turns_at_local_midnight() {
        // 2026-11-22 00:00 local is 2026-11-21 17:00 UTC.
        let midnight = 1_795_280_400_000;
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(local_date(midnight), day);
        assert_eq!(local_date(midnight - 1), day.pred_opt().unwrap());
        assert_eq!(local_midnight_of(day), midnight);
        assert_eq!(local_date(local_midnight_of(day) + DAY_MS - 1), day);
    }

    #[test]
    fn days_before_1970_start_at_local_midnight_too() {
        // 1969-12-31 17:00 UTC is 1970-01-01 00:00 local.
        assert_eq!(local_midnight_ms(0), -LOCAL_OFFSET_MS);
        assert_eq!(
            local_midnight_ms(-LOCAL_OFFSET_MS - 1),
            -LOCAL_OFFSET_MS - DAY_MS
        );
    }
}
