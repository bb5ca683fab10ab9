//! The time on screen: the clock that ticks every second, and times written in
//! Asia/Ho_Chi_Minh (UTC+7, no daylight saving, [`ioc_protocol::time`]) whatever the
//! browser's own time zone.

use ioc_protocol::time::{DAY_MS, LOCAL_OFFSET_MS};
use leptos::prelude::*;

const MINUTE_MS: i64 = 60_000;

/// The browser's clock (epoch ms), ticking every second; provided by the app. Ages and the
/// header's clock add the server's offset (`LiveState::server_now`).
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub RwSignal<f64>);

pub fn use_clock() -> Clock {
    expect_context::<Clock>()
}

/// `HH:MM:SS` of a time (epoch ms) in Asia/Ho_Chi_Minh.
pub fn hcmc_clock(epoch_ms: f64) -> String {
    let local_s = ((epoch_ms + LOCAL_OFFSET_MS as f64) / 1000.0).floor() as i64;
    let day_s = local_s.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        day_s / 3600,
        (day_s / 60) % 60,
        day_s % 60
    )
}

/// The date in the proleptic Gregorian calendar of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`): (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `22/11`: the day and month of a time in Asia/Ho_Chi_Minh.
pub fn hcmc_date(epoch_ms: i64) -> String {
    let (_, m, d) = civil_from_days((epoch_ms + LOCAL_OFFSET_MS).div_euclid(DAY_MS));
    format!("{d:02}/{m:02}")
}

/// `12/10/2026`: the day, month and year of a time in Asia/Ho_Chi_Minh.
pub fn hcmc_day(epoch_ms: i64) -> String {
    let (y, m, d) = civil_from_days((epoch_ms + LOCAL_OFFSET_MS).div_euclid(DAY_MS));
    format!("{d:02}/{m:02}/{y}")
}

/// `14:30`: the hour and minute of a time in Asia/Ho_Chi_Minh.
pub fn hcmc_hour_minute(epoch_ms: i64) -> String {
    let s = (epoch_ms + LOCAL_OFFSET_MS)
        .div_euclid(MINUTE_MS)
        .rem_euclid(24 * 60);
    format!("{:02}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_in_ho_chi_minh_time() {
        // 2025-11-22T17:30:05Z is 00:30:05 the next day in Ho Chi Minh City.
        assert_eq!(hcmc_clock(1_763_832_605_000.0), "00:30:05");
    }

    #[test]
    fn dates_across_years() {
        // 2024-12-31T17:00:00Z is midnight on 1 January 2025 in Ho Chi Minh City.
        assert_eq!(hcmc_date(1_735_664_400_000), "01/01");
        assert_eq!(hcmc_date(1_735_664_399_999), "31/12");
        assert_eq!(hcmc_day(1_735_664_400_000), "01/01/2025");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
