//! VN_AQI against cases computed by hand (in the comments) and against the worked examples
//! of Decision 1459/QĐ-TCMT (§2.3 and the O₃ table of §2.2.2.a).

use super::index::max_8h_mean;
use super::*;
use crate::ingest::{Reading, Value};

use Averaging::{EightHour, NowCast, OneHour, TwentyFourHour};
use Pollutant::{Co, No2, O3, Pm10, Pm25, So2};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---------- Table 2 and the sub-index ----------

/// Every breakpoint of every column gives exactly its level.
#[test]
fn sub_index_at_every_breakpoint() {
    let columns = [
        (O3, OneHour),
        (O3, EightHour),
        (Co, OneHour),
        (So2, OneHour),
        (No2, OneHour),
        (Pm10, NowCast),
        (Pm10, TwentyFourHour),
        (Pm25, NowCast),
        (Pm25, TwentyFourHour),
    ];
    for (p, a) in columns {
        let bp = breakpoints(p, a).unwrap();
        for (c, level) in bp.iter().zip(AQI_LEVELS) {
            assert_eq!(
                sub_index(p, a, *c),
                Some(level as u32),
                "{p:?} {a:?} at {c}"
            );
        }
    }
}

/// The table as the decision prints it (Table 2, µg/m³).
#[test]
fn table_2_as_printed() {
    let bp = |p, a| breakpoints(p, a).unwrap().to_vec();
    assert_eq!(
        bp(O3, OneHour),
        [0., 160., 200., 300., 400., 800., 1000., 1200.]
    );
    assert_eq!(bp(O3, EightHour), [0., 100., 120., 170., 210., 400.]);
    assert_eq!(
        bp(Co, OneHour),
        [0., 10e3, 30e3, 45e3, 60e3, 90e3, 120e3, 150e3]
    );
    assert_eq!(
        bp(So2, OneHour),
        [0., 125., 350., 550., 800., 1600., 2100., 2630.]
    );
    assert_eq!(
        bp(No2, OneHour),
        [0., 100., 200., 700., 1200., 2350., 3100., 3850.]
    );
    assert_eq!(
        bp(Pm10, TwentyFourHour),
        [0., 50., 150., 250., 350., 420., 500., 600.]
    );
    assert_eq!(
        bp(Pm25, TwentyFourHour),
        [0., 25., 50., 80., 150., 250., 350., 500.]
    );
    assert_eq!(AQI_LEVELS, [0., 50., 100., 150., 200., 300., 400., 500.]);
}

#[test]
fn sub_index_inside_bands() {
    // PM2.5 37.5: 50 + (100-50)/(50-25) * (37.5-25) = 50 + 2 * 12.5 = 75.
    assert_eq!(sub_index(Pm25, NowCast, 37.5), Some(75));
    // CO 20 000: 50 + 50/20 000 * 10 000 = 75.
    assert_eq!(sub_index(Co, OneHour, 20_000.0), Some(75));
    // PM10 385: 200 + 100/70 * 35 = 250.
    assert_eq!(sub_index(Pm10, TwentyFourHour, 385.0), Some(250));
    // NO2 2 725: 300 + 100/750 * 375 = 350.
    assert_eq!(sub_index(No2, OneHour, 2725.0), Some(350));
    // O3 8 h 305: 200 + 100/190 * 95 = 250.
    assert_eq!(sub_index(O3, EightHour, 305.0), Some(250));
    // SO2 450: 100 + 50/200 * 100 = 125.
    assert_eq!(sub_index(So2, OneHour, 450.0), Some(125));
    // PM2.5 425: 400 + 100/150 * 75 = 450.
    assert_eq!(sub_index(Pm25, NowCast, 425.0), Some(450));
    // Zero is level 0.
    assert_eq!(sub_index(Pm25, NowCast, 0.0), Some(0));
}

#[test]
fn sub_index_rounds_half_up() {
    // PM2.5 12.75: 2 * 12.75 = 25.5 -> 26; 12.7: 25.4 -> 25; 12.8: 25.6 -> 26.
    assert_eq!(sub_index(Pm25, NowCast, 12.75), Some(26));
    assert_eq!(sub_index(Pm25, NowCast, 12.7), Some(25));
    assert_eq!(sub_index(Pm25, NowCast, 12.8), Some(26));
    // NO2 101: 50 + 0.5 * 1 = 50.5 -> 51 (and so Moderate, not Good).
    assert_eq!(sub_index(No2, OneHour, 101.0), Some(51));
    // SO2 2 107.95: 400 + 100/530 * 7.95 = 401.5 exactly on paper; in binary the formula
    // gives 401.49999999999994, which must still round up.
    assert_eq!(sub_index(So2, OneHour, 2107.95), Some(402));
}

#[test]
fn sub_index_at_and_above_the_top() {
    // The last row of Table 2 reads "≥": at and above it, 500, and never more.
    assert_eq!(sub_index(Pm25, NowCast, 500.0), Some(500));
    assert_eq!(sub_index(Pm25, NowCast, 750.0), Some(500));
    assert_eq!(sub_index(Pm10, TwentyFourHour, 601.0), Some(500));
    assert_eq!(sub_index(Co, OneHour, 1e6), Some(500));
    assert_eq!(sub_index(O3, OneHour, 1200.0), Some(500));
    assert_eq!(sub_index(So2, OneHour, 2630.0), Some(500));
    assert_eq!(sub_index(No2, OneHour, 5000.0), Some(500));
    // O3 8 h ends at 400 (level 300); above it the decision uses the 1-hour value instead.
    assert_eq!(sub_index(O3, EightHour, 400.0), Some(300));
    assert_eq!(sub_index(O3, EightHour, 400.1), None);
}

#[test]
fn sub_index_refuses_what_the_decision_does_not_define() {
    assert_eq!(sub_index(Pm25, NowCast, -0.1), None);
    assert_eq!(sub_index(Pm25, NowCast, f64::NAN), None);
    assert_eq!(sub_index(Pm25, NowCast, f64::INFINITY), None);
    // No column for PM over one hour, gases over 8 or 24 hours, NowCast of a gas.
    assert_eq!(sub_index(Pm25, OneHour, 10.0), None);
    assert_eq!(sub_index(Pm10, EightHour, 10.0), None);
    assert_eq!(sub_index(Co, EightHour, 10.0), None);
    assert_eq!(sub_index(No2, TwentyFourHour, 10.0), None);
    assert_eq!(sub_index(O3, NowCast, 10.0), None);
    assert_eq!(sub_index(O3, TwentyFourHour, 10.0), None);
}

// ---------- NowCast ----------

/// §2.3.a: PM2.5 from 09:00 (c12) to 20:00 (c1). w* = 16.5 / 26.9 = 0.6134 > 1/2, so
/// w = w*. The decision rounds w to 0.61 and prints 20.3; with w unrounded the NowCast is
/// 20.2658, which prints as 20.3 too.
#[test]
fn nowcast_worked_example() {
    let c = [
        20.6, 19.6, 22.4, 20.3, 16.5, 19.0, 16.5, 19.5, 23.5, 20.5, 24.7, 26.9,
    ]
    .map(Some);
    let n = nowcast(&c).unwrap();
    assert!((n - 20.2658).abs() < 1e-4, "{n}");
    assert_eq!((n * 10.0).round() / 10.0, 20.3);
    // And its sub-index (§2.3.b): 2 * 20.27 = 40.5 -> 41.
    assert_eq!(sub_index(Pm25, NowCast, n), Some(41));
}

#[test]
fn nowcast_w_above_half() {
    // c1 = 100, c2..c12 = 80: w* = 0.8. With S = Σ 0.8^k (k = 0..11) = 5 (1 - 0.8^12),
    // NowCast = (100 + 80 (S - 1)) / S = 80 + 20 / S = 84.29516...
    let mut c = [Some(80.0); 12];
    c[0] = Some(100.0);
    let s = 5.0 * (1.0 - 0.8f64.powi(12));
    let n = nowcast(&c).unwrap();
    assert!((n - (80.0 + 20.0 / s)).abs() < 1e-9, "{n}");
    assert!((n - 84.29516).abs() < 1e-5);
    // Steady air: every hour 30, w* = 1, NowCast = 30.
    assert!(close(nowcast(&[Some(30.0); 12]).unwrap(), 30.0));
}

#[test]
fn nowcast_w_at_or_below_half_uses_the_decisions_sum() {
    // c1 = 100, c2..c12 = 10: w* = 0.1 -> w = 1/2, NowCast = Σ (1/2)^i c_i
    // = 100/2 + 10 (1/4 + ... + 1/4096) = 50 + 10 (1/2 - 1/4096) = 54.99755859375.
    let mut c = [Some(10.0); 12];
    c[0] = Some(100.0);
    assert_eq!(nowcast(&c), Some(54.997_558_593_75));
    // The other way round: c1 = 10, c2..c12 = 100: 5 + 100 (1/2 - 1/4096) = 54.9755859375.
    let mut c = [Some(100.0); 12];
    c[0] = Some(10.0);
    assert_eq!(nowcast(&c), Some(54.975_585_937_5));
    // w* = 20/40 = 1/2 exactly is the w = 1/2 case: 10 + 40 (1/2 - 1/4096) = 29.990234375.
    let mut c = [Some(40.0); 12];
    c[0] = Some(20.0);
    assert_eq!(nowcast(&c), Some(29.990_234_375));
}

#[test]
fn nowcast_with_missing_hours() {
    // c1 = 40, c2 = 30, nothing older: w* = 0.75,
    // NowCast = (40 + 0.75 * 30) / (1 + 0.75) = 62.5 / 1.75 = 35.714285...
    let n = nowcast(&[Some(40.0), Some(30.0)]).unwrap();
    assert!(close(n, 62.5 / 1.75), "{n}");
    // c1 = 100, c2 missing, c3 = 10, nothing older: w* = 0.1 -> w = 1/2; a missing hour
    // weighs 0: (100 * 1 + 10 * 1/4) / (1 + 1/4) = 102.5 / 1.25 = 82.
    let n = nowcast(&[Some(100.0), None, Some(10.0)]).unwrap();
    assert!(close(n, 82.0), "{n}");
    // Eleven hours of 30 and c7 missing: still 30.
    let mut c = [Some(30.0); 12];
    c[6] = None;
    assert!(close(nowcast(&c).unwrap(), 30.0));
}

#[test]
fn nowcast_needs_two_of_the_three_latest_hours() {
    let mut c = [Some(30.0); 12];
    c[1] = None;
    c[2] = None;
    assert_eq!(nowcast(&c), None, "only c1 of c1..c3");
    let mut c = [Some(30.0); 12];
    c[0] = None;
    c[2] = None;
    assert_eq!(nowcast(&c), None, "only c2 of c1..c3");
    let mut c = [Some(30.0); 12];
    c[0] = None;
    assert!(nowcast(&c).is_some(), "c2 and c3");
    assert_eq!(nowcast(&[]), None);
    assert_eq!(nowcast(&[Some(30.0)]), None);
    // A negative or non-finite value is a missing hour.
    assert_eq!(nowcast(&[Some(30.0), Some(-1.0), Some(f64::NAN)]), None);
}

#[test]
fn nowcast_edges() {
    // All zero: 0 (w* would be 0/0).
    assert_eq!(nowcast(&[Some(0.0); 12]), Some(0.0));
    // Only the first twelve hours count.
    let mut c = vec![Some(30.0); 12];
    c.push(Some(1000.0));
    assert!(close(nowcast(&c).unwrap(), 30.0));
}

// ---------- hourly and daily index ----------

fn hourly(pairs: &[(Pollutant, f64)]) -> HourlyConcentrations {
    let mut c = HourlyConcentrations::default();
    for &(p, v) in pairs {
        *c.get_mut(p) = Some(v);
    }
    c
}

/// §2.3.b: O3 136.1, NO2 118.7, NowCast PM2.5 20.3.
/// O3: 50/160 * 136.1 = 42.53 -> 43; PM2.5: 2 * 20.3 = 40.6 -> 41;
/// NO2: 50 + 50/100 * 18.7 = 59.35 -> 59. The decision prints 60 for NO2 and for the index,
/// which no rounding rule reconciles with its other results: the index here is 59.
#[test]
fn worked_example_hourly() {
    let a = hourly_aqi(&hourly(&[(O3, 136.1), (No2, 118.7), (Pm25, 20.3)])).unwrap();
    assert_eq!(a.sub_indices.o3, Some(43));
    assert_eq!(a.sub_indices.pm25, Some(41));
    assert_eq!(a.sub_indices.no2, Some(59));
    assert_eq!(a.sub_indices.pm10, None);
    assert_eq!(a.aqi, 59);
    assert_eq!(a.dominant, No2);
    assert_eq!(a.band, Band::Moderate);
}

#[test]
fn hourly_max_and_dominant() {
    // PM2.5 10 -> 20; PM10 100 -> 50 + 50/100 * 50 = 75; CO 40 000 -> 100 + 50/15 000
    // * 10 000 = 133.33 -> 133; SO2 50 -> 20. Index 133, CO, Poor.
    let a = hourly_aqi(&hourly(&[
        (Pm25, 10.0),
        (Pm10, 100.0),
        (Co, 40_000.0),
        (So2, 50.0),
    ]))
    .unwrap();
    assert_eq!(a.aqi, 133);
    assert_eq!(a.dominant, Co);
    assert_eq!(a.band, Band::Poor);
    assert_eq!(a.sub_indices.pm10, Some(75));
    assert_eq!(a.sub_indices.so2, Some(20));
    // Ties go to the particles first: PM2.5 25, PM10 50 and NO2 100 are all 50.
    let a = hourly_aqi(&hourly(&[(No2, 100.0), (Pm10, 50.0), (Pm25, 25.0)])).unwrap();
    assert_eq!((a.aqi, a.dominant), (50, Pm25));
    let a = hourly_aqi(&hourly(&[(No2, 100.0), (Pm10, 50.0)])).unwrap();
    assert_eq!((a.aqi, a.dominant), (50, Pm10));
}

#[test]
fn hourly_needs_pm() {
    // §2.1.b: no PM2.5 and no PM10, no index, however bad the gases.
    assert_eq!(hourly_aqi(&hourly(&[(O3, 500.0), (No2, 300.0)])), None);
    assert_eq!(hourly_aqi(&HourlyConcentrations::default()), None);
    // PM10 alone is enough: 40 -> 40.
    let a = hourly_aqi(&hourly(&[(Pm10, 40.0)])).unwrap();
    assert_eq!((a.aqi, a.dominant, a.band), (40, Pm10, Band::Good));
}

#[test]
fn hourly_o3_reads_the_one_hour_column() {
    // O3 150 µg/m³ over one hour: 50/160 * 150 = 46.875 -> 47. The 8-hour column would
    // give 100 + 50/50 * 30 = 130; the decision keeps that column for the daily index.
    let a = hourly_aqi(&hourly(&[(O3, 150.0), (Pm25, 5.0)])).unwrap();
    assert_eq!(a.sub_indices.o3, Some(47));
    assert_eq!((a.aqi, a.dominant), (47, O3));
}

/// §2.3.c: O3 largest 8 h 89.3 -> 50/100 * 89.3 = 44.65 -> 45; O3 largest 1 h 114.6 ->
/// 50/160 * 114.6 = 35.81 -> 36; NO2 largest 1 h 130.8 -> 50 + 0.5 * 30.8 = 65.4 -> 65;
/// PM2.5 24 h 55.7 -> 100 + 50/30 * 5.7 = 109.5 -> 110. Index 110, PM2.5.
#[test]
fn worked_example_daily() {
    let d = DailyConcentrations {
        o3_max_8h: Some(89.3),
        o3_max_1h: Some(114.6),
        no2_max_1h: Some(130.8),
        pm25_24h: Some(55.7),
        ..DailyConcentrations::default()
    };
    let a = daily_aqi(&d).unwrap();
    assert_eq!(
        a.sub_indices.o3,
        Some(45),
        "the larger of 45 (8 h) and 36 (1 h)"
    );
    assert_eq!(a.sub_indices.no2, Some(65));
    assert_eq!(a.sub_indices.pm25, Some(110));
    assert_eq!((a.aqi, a.dominant, a.band), (110, Pm25, Band::Poor));
}

#[test]
fn daily_o3_above_400_uses_the_one_hour_value() {
    // 8 h 450 is off the 8-hour column; 1 h 300 -> 150. PM2.5 10 -> 20. Index 150, O3.
    let d = DailyConcentrations {
        o3_max_8h: Some(450.0),
        o3_max_1h: Some(300.0),
        pm25_24h: Some(10.0),
        ..DailyConcentrations::default()
    };
    let a = daily_aqi(&d).unwrap();
    assert_eq!((a.aqi, a.dominant), (150, O3));
    // 8 h 400 exactly is still on it: 300, above the 1-hour 150.
    let d = DailyConcentrations {
        o3_max_8h: Some(400.0),
        ..d
    };
    assert_eq!(daily_aqi(&d).unwrap().aqi, 300);
    // Without PM, no daily index either.
    let d = DailyConcentrations {
        pm25_24h: None,
        ..d
    };
    assert_eq!(daily_aqi(&d), None);
}

/// The O₃ table of §2.2.2.a: hourly averages from 18:00 the day before to 00:00 at the end of
/// the day (31 hours). The 8-hour mean ending 01:00 is the mean of 18:00..01:00 = 17.975
/// (printed 18.0); the largest, ending 17:00, is (49.2 + 55.8 + 69.6 + 78.3 + 91.5 + 97.7 +
/// 81.2 + 71.8) / 8 = 595.1 / 8 = 74.3875 (printed 74.4); the largest 1-hour is 97.7.
/// (The decision prints 44.7 for the mean ending 12:00, which is 357.1 / 8 = 44.64.)
#[test]
fn worked_example_o3_eight_hour() {
    let oldest_first = [
        15.7, 14.2, 17.7, 18.9, 19.3, 15.7, 19.7, // 18:00 .. 00:00, the day before
        22.6, 27.1, 29.0, 31.9, 25.3, 34.7, 35.2, 41.6, 45.7, 49.2, 55.8, 69.6, // 01..12
        78.3, 91.5, 97.7, 81.2, 71.8, 43.5, 34.3, 21.5, 20.5, 19.4, 20.4, 21.3, // 13..00
    ];
    let o3: Vec<Option<f64>> = oldest_first.iter().rev().copied().map(Some).collect();
    let pm: Vec<Option<f64>> = vec![Some(20.0); 24];
    let hours = PerPollutant {
        pm25: pm.as_slice(),
        pm10: &[],
        o3: o3.as_slice(),
        no2: &[],
        so2: &[],
        co: &[],
    };
    let d = DailyConcentrations::from_hourly(&hours);
    assert!(close(d.o3_max_8h.unwrap(), 74.3875), "{:?}", d.o3_max_8h);
    assert_eq!(d.o3_max_1h, Some(97.7));
    assert!(close(d.pm25_24h.unwrap(), 20.0));
    assert_eq!(d.pm10_24h, None);
    assert_eq!(d.no2_max_1h, None);
    // 8 h 74.3875 -> 37; 1 h 97.7 -> 30.53 -> 31; PM2.5 20 -> 40.
    let a = daily_aqi(&d).unwrap();
    assert_eq!(a.sub_indices.o3, Some(37));
    assert_eq!((a.aqi, a.dominant), (40, Pm25));
}

#[test]
fn daily_completeness() {
    // 12 hours of 10 and 12 of 30: mean 20, max 30.
    let mut h: Vec<Option<f64>> = [Some(10.0); 12].into_iter().collect();
    h.extend([Some(30.0); 12]);
    let hours = |s: &[Option<f64>]| {
        let d = DailyConcentrations::from_hourly(&PerPollutant {
            pm25: s,
            pm10: &[],
            o3: &[],
            no2: s,
            so2: &[],
            co: &[],
        });
        (d.pm25_24h, d.no2_max_1h)
    };
    let (mean, max) = hours(&h);
    assert!(close(mean.unwrap(), 20.0));
    assert_eq!(max, Some(30.0));
    // 18 hours present of 24 is enough, 17 is not.
    let mut h = vec![Some(20.0); 24];
    h[..6].fill(None);
    assert!(hours(&h).0.is_some());
    h[6] = None;
    assert_eq!(hours(&h), (None, None));
    // Hours past the 24th do not count for the 24-hour mean.
    let mut h = vec![Some(20.0); 24];
    h.push(Some(1000.0));
    assert!(close(hours(&h).0.unwrap(), 20.0));
}

#[test]
fn eight_hour_mean_needs_six_of_eight() {
    // 31 hours of O3 = 50 except two gaps: every window keeps 6 of 8, the max is 50.
    let mut o3 = vec![Some(50.0); 31];
    o3[3] = None;
    o3[7] = None;
    assert!(close(max_8h_mean(&o3).unwrap(), 50.0));
    // Every third hour missing (0, 3, ..., 30): the window k..k+8 misses k, k+3, k+6 when
    // k % 3 == 0 (5 of 8 left), k+2, k+5 when k % 3 == 1 (6 left), k+1, k+4, k+7 when
    // k % 3 == 2 (5 left). So 8 of the day's 24 windows have a mean: fewer than 18, none.
    let o3: Vec<Option<f64>> = (0..31).map(|i| (i % 3 != 0).then_some(50.0)).collect();
    assert_eq!(max_8h_mean(&o3), None);
}

// ---------- bands ----------

#[test]
fn band_edges() {
    let cases = [
        (0, Band::Good),
        (50, Band::Good),
        (51, Band::Moderate),
        (100, Band::Moderate),
        (101, Band::Poor),
        (150, Band::Poor),
        (151, Band::Bad),
        (200, Band::Bad),
        (201, Band::VeryBad),
        (300, Band::VeryBad),
        (301, Band::Hazardous),
        (500, Band::Hazardous),
        (501, Band::Hazardous),
    ];
    for (aqi, band) in cases {
        assert_eq!(Band::from_aqi(aqi), band, "{aqi}");
    }
    for b in Band::ALL {
        let (lo, hi) = b.range();
        assert_eq!((Band::from_aqi(lo), Band::from_aqi(hi)), (b, b));
    }
}

#[test]
fn band_names_and_colours() {
    let names: Vec<_> = Band::ALL
        .iter()
        .map(|b| (b.name_vi(), b.name_en()))
        .collect();
    assert_eq!(
        names,
        [
            ("Tốt", "Good"),
            ("Trung bình", "Moderate"),
            ("Kém", "Poor"),
            ("Xấu", "Bad"),
            ("Rất xấu", "Very bad"),
            ("Nguy hại", "Hazardous"),
        ]
    );
    // Table 1's RGB codes.
    let rgb: Vec<_> = Band::ALL.iter().map(|b| b.rgb()).collect();
    assert_eq!(
        rgb,
        [
            (0, 228, 0),
            (255, 255, 0),
            (255, 126, 0),
            (255, 0, 0),
            (143, 63, 151),
            (126, 0, 35),
        ]
    );
    for b in Band::ALL {
        let (r, g, bl) = b.rgb();
        assert_eq!(b.color_hex(), format!("#{r:02x}{g:02x}{bl:02x}"));
    }
    assert_eq!(Band::Hazardous.color_hex(), "#7e0023");
    assert_eq!(Band::VeryBad.color_name_vi(), "Tím");
}

// ---------- names and serde ----------

#[test]
fn pollutant_fields() {
    for p in Pollutant::ALL {
        assert_eq!(Pollutant::from_field(p.field()), Some(p));
        assert!(crate::ingest::is_field_name(p.field()));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            format!("\"{}\"", p.field())
        );
    }
    assert_eq!(Pollutant::from_field("pm25_ugm3"), Some(Pm25));
    assert_eq!(Pollutant::from_field("co_ugm3"), Some(Co));
    assert_eq!(Pollutant::from_field("aqi"), None);
    assert_eq!(Pollutant::from_field("pm25"), None);
    assert_eq!(O3.to_string(), "O₃");
}

#[test]
fn aqi_serde_round_trip() {
    let a = hourly_aqi(&hourly(&[(Pm25, 100.0), (No2, 150.0)])).unwrap();
    // PM2.5 100: 150 + 50/70 * 20 = 164.29 -> 164, Bad.
    assert_eq!((a.aqi, a.band), (164, Band::Bad));
    let json = serde_json::to_value(a).unwrap();
    assert_eq!(json["band"], "bad");
    assert_eq!(json["dominant"], "pm25_ugm3");
    assert_eq!(json["sub_indices"]["no2"], 75);
    assert_eq!(json["sub_indices"]["co"], serde_json::Value::Null);
    assert_eq!(serde_json::from_value::<Aqi>(json).unwrap(), a);
    assert_eq!(
        serde_json::to_string(&Band::VeryBad).unwrap(),
        "\"very_bad\""
    );
}

// ---------- hourly averages ----------

/// 2025-11-22T08:00:00Z, 15:00 in Hồ Chí Minh City: the start of an hour.
const T0: i64 = 1_763_798_400_000;
const MIN: i64 = 60_000;
const H0: i64 = T0 / HOUR_MS;

#[test]
fn hour_mean_of_minute_readings() {
    let mut a = HourlyAverager::new();
    // One reading a minute, value = the minute: mean (0 + ... + 59) / 60 = 29.5.
    for m in 0..60 {
        assert!(a.push(T0 + m * MIN + 5_000, m as f64));
    }
    assert_eq!(a.coverage(H0), 60);
    assert_eq!(a.hour_mean(H0), Some(29.5));
    assert_eq!(a.hour_mean(H0 + 1), None);
    assert_eq!(a.hour_mean(H0 - 1), None);
}

#[test]
fn hour_mean_needs_45_minutes() {
    let mut a = HourlyAverager::new();
    for m in 0..44 {
        a.push(T0 + m * MIN, 10.0);
    }
    // Several readings in one minute count once for coverage.
    a.push(T0 + 43 * MIN + 30_000, 10.0);
    assert_eq!(a.coverage(H0), 44);
    assert_eq!(a.hour_mean(H0), None);
    a.push(T0 + 44 * MIN, 10.0);
    assert_eq!(a.hour_mean(H0), Some(10.0));
    // A station reporting every five minutes: 12 minutes at most, 9 are 75 %.
    let mut a = HourlyAverager::with_min_minutes(9);
    for k in 0..9 {
        a.push(T0 + k * 5 * MIN, 20.0);
    }
    assert_eq!(a.hour_mean(H0), Some(20.0));
}

#[test]
fn averager_refuses_bad_old_and_duplicate_readings() {
    let mut a = HourlyAverager::new();
    assert!(!a.push(T0, -1.0));
    assert!(!a.push(T0, f64::NAN));
    assert!(a.push(T0, 10.0));
    assert!(!a.push(T0, 10.0), "a duplicate (same ts)");
    // A reading 30 hours later; the hour 25 hours before it is out of reach, 24 is not.
    assert!(a.push(T0 + 30 * HOUR_MS, 10.0));
    assert!(!a.push(T0 + 5 * HOUR_MS, 10.0));
    assert!(a.push(T0 + 6 * HOUR_MS, 10.0));
    // The first hour's bucket is long gone.
    assert_eq!(a.coverage(H0), 0);
}

#[test]
fn late_readings_join_their_hour() {
    let mut a = HourlyAverager::new();
    for m in 0..60 {
        a.push(T0 + HOUR_MS + m * MIN, 40.0);
    }
    // Readings of the hour before arrive late: that hour gets its mean.
    for m in 0..60 {
        a.push(T0 + m * MIN, 20.0);
    }
    assert_eq!(a.hour_mean(H0), Some(20.0));
    assert_eq!(a.hour_mean(H0 + 1), Some(40.0));
}

#[test]
fn memory_is_bounded_to_25_hours() {
    let mut a = HourlyAverager::new();
    for h in 0..100 {
        for m in 0..60 {
            a.push(T0 + h * HOUR_MS + m * MIN, h as f64);
        }
    }
    // As of minute 10 of hour 100 the hour in progress is empty: c1 = hour 99.
    let r = a.recent(T0 + 100 * HOUR_MS + 10 * MIN);
    assert_eq!(r.first_hour, H0 + 99);
    assert_eq!(r.values[0], Some(99.0));
    assert_eq!(r.values[23], Some(76.0));
    // Kept: hour 99 (the newest) and the 24 before it, 75 to 99.
    assert_eq!(a.hour_mean(H0 + 75), Some(75.0));
    assert_eq!(a.hour_mean(H0 + 74), None);
    assert_eq!(a.coverage(H0), 0);
}

#[test]
fn recent_switches_to_the_hour_in_progress_at_minute_45() {
    // A full first hour of 10, then the second hour of 30 up to `minutes`.
    let with = |minutes: i64| {
        let mut a = HourlyAverager::new();
        for m in 0..60 {
            a.push(T0 + m * MIN, 10.0);
        }
        for m in 0..minutes {
            a.push(T0 + HOUR_MS + m * MIN, 30.0);
        }
        a
    };
    // At minute 44 of the second hour it holds 44 minutes: c1 is still the first hour.
    let r = with(44).recent(T0 + HOUR_MS + 44 * MIN);
    assert_eq!((r.first_hour, r.values[0]), (H0, Some(10.0)));
    // At minute 45 it holds 45: c1 is the hour in progress, c2 the first hour.
    let r = with(45).recent(T0 + HOUR_MS + 45 * MIN);
    assert_eq!(r.first_hour, H0 + 1);
    assert_eq!(r.values[..2], [Some(30.0), Some(10.0)]);
    // Hours after `now` are not looked at.
    let r = with(60).recent(T0 + 30 * MIN);
    assert_eq!((r.first_hour, r.values[0]), (H0, Some(10.0)));
}

// ---------- a station ----------

fn feed(s: &mut StationAqi, from_hour: i64, hours: i64, minutes: i64, values: &[(&str, f64)]) {
    for h in from_hour..from_hour + hours {
        for m in 0..minutes {
            let ts = T0 + h * HOUR_MS + m * MIN;
            for &(field, v) in values {
                s.push(ts, field, v);
            }
        }
    }
}

#[test]
fn station_hourly_from_minute_readings() {
    let mut s = StationAqi::new();
    // Twelve full hours of PM2.5 30 and NO2 150, then ten minutes of the thirteenth.
    let values = [("pm25_ugm3", 30.0), ("no2_ugm3", 150.0)];
    feed(&mut s, 0, 12, 60, &values);
    feed(&mut s, 12, 1, 10, &values);
    let now = T0 + 12 * HOUR_MS + 10 * MIN;
    let h = s.hourly(now);
    // NowCast of twelve hours of 30 is 30: 50 + 50/25 * 5 = 60. NO2 150: 50 + 0.5 * 50 = 75.
    assert!(close(h.concentrations.pm25.unwrap(), 30.0));
    assert_eq!(h.concentrations.no2, Some(150.0));
    assert_eq!(h.latest_hour_means.pm25, Some(30.0));
    let a = h.aqi.unwrap();
    assert_eq!((a.aqi, a.dominant, a.band), (75, No2, Band::Moderate));
    assert_eq!(a.sub_indices.pm25, Some(60));
    // The index stands for the hour that closed at T0 + 12 h, and is final.
    assert_eq!(h.as_of_ms, Some(T0 + 12 * HOUR_MS));
    assert!(!h.provisional);
}

#[test]
fn station_uses_the_hour_in_progress_from_minute_45() {
    let mut s = StationAqi::new();
    feed(&mut s, 0, 12, 60, &[("pm25_ugm3", 30.0)]);
    // The thirteenth hour is dirtier: PM2.5 90 for 50 minutes.
    feed(&mut s, 12, 1, 50, &[("pm25_ugm3", 90.0)]);
    let h = s.hourly(T0 + 12 * HOUR_MS + 50 * MIN);
    assert!(h.provisional);
    assert_eq!(h.as_of_ms, Some(T0 + 13 * HOUR_MS));
    // c1 = 90, c2..c12 = 30: w* = 1/3 -> 1/2, 45 + 30 (1/2 - 1/4096) = 59.99267578125.
    assert_eq!(h.concentrations.pm25, Some(59.992_675_781_25));
    assert_eq!(h.latest_hour_means.pm25, Some(90.0));
    // 100 + 50/30 * 9.99 = 116.65 -> 117.
    assert_eq!(h.aqi.unwrap().aqi, 117);
    // At minute 40 of that hour it was not yet counted: c1 = 30, index 60.
    let mut early = StationAqi::new();
    feed(&mut early, 0, 12, 60, &[("pm25_ugm3", 30.0)]);
    feed(&mut early, 12, 1, 40, &[("pm25_ugm3", 90.0)]);
    let h = early.hourly(T0 + 12 * HOUR_MS + 40 * MIN);
    assert!(!h.provisional);
    assert_eq!(h.aqi.unwrap().aqi, 60);
}

#[test]
fn station_goes_blank_when_readings_stop() {
    let mut s = StationAqi::new();
    feed(&mut s, 0, 12, 60, &[("pm25_ugm3", 30.0)]);
    // One hour later: c1 (hour 12) missing, c2 and c3 present: still a NowCast.
    assert!(s.hourly(T0 + 13 * HOUR_MS + 5 * MIN).aqi.is_some());
    // Two hours later: only c3 of c1..c3: no NowCast, no index.
    let h = s.hourly(T0 + 14 * HOUR_MS + 5 * MIN);
    assert_eq!(h.aqi, None);
    assert_eq!(h.concentrations.pm25, None);
    assert_eq!(h.as_of_ms, None);
}

#[test]
fn station_without_pm_has_no_index() {
    let mut s = StationAqi::new();
    feed(&mut s, 0, 3, 60, &[("no2_ugm3", 150.0), ("o3_ugm3", 100.0)]);
    let h = s.hourly(T0 + 3 * HOUR_MS);
    assert_eq!(h.aqi, None);
    assert_eq!(h.concentrations.no2, Some(150.0));
    assert_eq!(h.concentrations.o3, Some(100.0));
}

#[test]
fn station_takes_ingest_readings() {
    let mut s = StationAqi::new();
    let reading: Reading = [
        ("aqi".to_owned(), Value::Number(87.0)),
        ("pm25_ugm3".to_owned(), Value::Number(31.5)),
        ("pm10_ugm3".to_owned(), Value::Number(52.0)),
        ("temp_c".to_owned(), Value::Number(31.2)),
        ("co_ugm3".to_owned(), Value::Text("n/a".to_owned())),
    ]
    .into();
    assert_eq!(s.push_reading(T0, &reading), 2);
    assert_eq!(s.averager(Pm25).coverage(H0), 1);
    assert_eq!(s.averager(Pm10).coverage(H0), 1);
    assert_eq!(s.averager(Co).coverage(H0), 0);
    assert!(!s.push(T0, "temp_c", 30.0));
}
