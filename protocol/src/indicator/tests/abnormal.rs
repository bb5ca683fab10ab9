//! Abnormal signs: hand-computed cases of each rule, and the precision and recall on several
//! hundred synthetic series shaped like the city's (trends, Tết months, a few % of noise, the
//! 2021 dip and the 2022 rebound) with seeded abnormal values.

use super::small::catalogue;
use super::*;
use crate::indicator::abnormal::{self, HISTORY_YEARS, RATE_FLOOR, SCALE_FLOOR, YEARLY_RATE_FLOOR};

fn indicator(code: &str) -> Indicator {
    catalogue().indicator(code).unwrap().clone()
}

/// A series from its first period and values, one period after the other.
fn series(first: &str, values: &[f64]) -> Vec<Observation> {
    let mut period = p(first);
    values
        .iter()
        .map(|&v| {
            let o = small::on_time(&period.to_string(), v);
            period = period.next().unwrap();
            o
        })
        .collect()
}

/// Monthly values from January 2021: 100 growing 1 % a month, times a fixed seasonal shape.
fn smooth_months(n: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let season = [
                1.2, 0.8, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95, 1.0, 1.0, 1.05, 1.1,
            ][t % 12];
            100.0 * 1.01f64.powi(t as i32) * season
        })
        .collect()
}

fn score_at(code: &str, s: &[Observation], period: &str) -> Option<AbnormalSign> {
    let i = s.iter().position(|o| o.period == p(period)).unwrap();
    abnormal::score(&indicator(code), s, i, &[])
}

#[test]
fn a_period_is_scored_only_with_three_years_of_history_before_it() {
    let s = series("2021-01", &smooth_months(48));
    assert_eq!(HISTORY_YEARS, 3);
    assert_eq!(score_at("revenue", &s, "2023-12"), None);
    let sign = score_at("revenue", &s, "2024-01").unwrap();
    // A smooth series: the value is what its history leads to expect.
    assert!(sign.score.abs() < 1e-6, "{sign:?}");
    assert!(!sign.flagged);
    assert_eq!(sign.scale, Scale::Ratio);
    assert!((sign.expected - s[36].value).abs() < 1e-6 * s[36].value);
    // Every period from January 2024, and none before.
    let all = abnormal::signs(&indicator("revenue"), &s, &[]);
    assert_eq!(all.len(), 12);
    assert_eq!(all[0].period, p("2024-01"));
}

#[test]
fn a_value_half_again_above_the_expected_scores_its_log_ratio_over_the_floor() {
    // Growth is exactly 12.68 % a year and there is no noise, so the scale is the floor
    // (0.05) and the expected is last year's value times the growth: the score of a value 1.5
    // times the expected is ln(1.5) / 0.05 = 8.109.
    let mut v = smooth_months(48);
    let expected = v[40];
    v[40] *= 1.5;
    let s = series("2021-01", &v);
    let sign = score_at("revenue", &s, "2024-05").unwrap();
    assert!(
        (sign.score - 1.5f64.ln() / SCALE_FLOOR).abs() < 1e-6,
        "{sign:?}"
    );
    assert!(sign.flagged);
    assert!((sign.expected - expected).abs() < 1e-6 * expected);
    // A value 0.8 times the expected: ln(0.8) / 0.05 = −4.46, flagged below.
    let mut v = smooth_months(48);
    v[40] *= 0.8;
    let sign = score_at("revenue", &series("2021-01", &v), "2024-05").unwrap();
    assert!((sign.score - 0.8f64.ln() / SCALE_FLOOR).abs() < 1e-6);
    assert!(sign.flagged && sign.score < -ABNORMAL_SCORE);
    // 0.9 times: −2.1, not flagged.
    let mut v = smooth_months(48);
    v[40] *= 0.9;
    let sign = score_at("revenue", &series("2021-01", &v), "2024-05").unwrap();
    assert!(!sign.flagged, "{sign:?}");
}

#[test]
fn a_spike_in_one_year_does_not_make_the_same_period_a_year_later_abnormal() {
    let mut v = smooth_months(60);
    v[40] *= 1.6; // May 2024
    let s = series("2021-01", &v);
    assert!(score_at("revenue", &s, "2024-05").unwrap().flagged);
    // May 2025 is compared with May 2023 grown two years, not with the spike.
    let next = score_at("revenue", &s, "2025-05").unwrap();
    assert!(next.score.abs() < 1e-6, "{next:?}");
    // Nor does a spike in a year that could not be scored itself (May 2023).
    let mut v = smooth_months(60);
    v[28] *= 0.5;
    let s = series("2021-01", &v);
    assert_eq!(score_at("revenue", &s, "2023-05"), None);
    let next = score_at("revenue", &s, "2024-05").unwrap();
    assert!(!next.flagged, "{next:?}");
}

/// The 2021 dip: a tenth lower all year, strongest (40 % lower) from July to September, with
/// shoulders in May, June and October; 2022 back on the trend.
fn with_dip(mut v: Vec<f64>) -> Vec<f64> {
    let dip = [0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.25, 0.15, 0.1];
    for (m, d) in dip.iter().enumerate() {
        v[m] *= 1.0 - d;
    }
    v
}

#[test]
fn the_2021_dip_and_2022_rebound_neither_raise_signs_nor_hide_later_ones() {
    let v = with_dip(smooth_months(72));
    let s = series("2021-01", &v);
    let signs = abnormal::signs(&indicator("revenue"), &s, &[]);
    assert_eq!(signs.len(), 36);
    assert!(signs.iter().all(|a| !a.flagged), "{signs:?}");
    // A value 1.3 times the expected in August 2024, whose base years include the dip.
    let mut v = with_dip(smooth_months(72));
    v[43] *= 1.3;
    // And a value in May 2023 halved, before scoring starts.
    v[28] *= 0.5;
    let s = series("2021-01", &v);
    let flagged: Vec<Period> = abnormal::signs(&indicator("revenue"), &s, &[])
        .into_iter()
        .filter(|a| a.flagged)
        .map(|a| a.period)
        .collect();
    assert_eq!(flagged, [p("2024-08")]);
}

/// Six districts of one indicator: each the smooth series times its own size, with `change`
/// applied to the months given of every district, and `own` times the value of district 0 in
/// August 2024.
fn districts(common: &[(usize, f64)], own: f64) -> Vec<Vec<Observation>> {
    (0..6)
        .map(|d| {
            let mut v: Vec<f64> = smooth_months(48)
                .into_iter()
                .map(|x| x * (1.0 + d as f64))
                .collect();
            for &(m, f) in common {
                v[m] *= f;
            }
            if d == 0 {
                v[43] *= own;
            }
            series("2021-01", &v)
        })
        .collect()
}

#[test]
fn a_district_is_scored_against_the_other_districts_common_movement() {
    assert_eq!(abnormal::MIN_OTHERS, 4);
    let revenue = indicator("revenue");
    let score = |all: &[Vec<Observation>], others: usize, period: &str| {
        let s = &all[0];
        let i = s.iter().position(|o| o.period == p(period)).unwrap();
        let others: Vec<&[Observation]> = all[1..=others].iter().map(Vec::as_slice).collect();
        abnormal::score(&revenue, s, i, &others).unwrap()
    };
    // Every district 1.4 times its normal in May 2024 (a city-wide move): alone, district 0
    // scores ln 1.4 / 0.05 = 6.73; against the five others, 0.
    let all = districts(&[(40, 1.4)], 1.0);
    let alone = score(&all, 0, "2024-05");
    assert!(
        (alone.score - 1.4f64.ln() / SCALE_FLOOR).abs() < 1e-6,
        "{alone:?}"
    );
    let against = score(&all, 5, "2024-05");
    assert!(
        against.score.abs() < 1e-6 && !against.flagged,
        "{against:?}"
    );
    assert!((against.expected - all[0][40].value).abs() < 1e-6 * all[0][40].value);
    // With three others, fewer than MIN_OTHERS: scored alone.
    assert_eq!(score(&all, 3, "2024-05"), alone);
    // District 0 alone 1.3 times its normal in August 2024: ln 1.3 / 0.05 = 5.25 against the
    // others, flagged, and the expected is its normal value.
    let all = districts(&[], 1.3);
    let own = score(&all, 5, "2024-08");
    assert!(
        (own.score - 1.3f64.ln() / SCALE_FLOOR).abs() < 1e-6,
        "{own:?}"
    );
    assert!(own.flagged);
    let normal = all[0][43].value / 1.3;
    assert!((own.expected - normal).abs() < 1e-6 * normal, "{own:?}");
    // Every district's growth cut by a fifth from 2024 (a new plan): no sign against the
    // others in 2024, where alone the months of 2024 are flagged.
    let cut: Vec<(usize, f64)> = (36..48).map(|m| (m, 0.8)).collect();
    let all = districts(&cut, 1.0);
    let others: Vec<&[Observation]> = all[1..].iter().map(Vec::as_slice).collect();
    let signs = abnormal::signs(&revenue, &all[0], &others);
    assert_eq!(signs.len(), 12);
    assert!(signs.iter().all(|a| !a.flagged), "{signs:?}");
    assert!(abnormal::signs(&revenue, &all[0], &[])[0].flagged);
}

#[test]
fn a_month_that_swings_every_year_is_measured_against_its_own_swings() {
    // January a third up or down on the year before, every year (1, 1.35, 1, 1.35 times the
    // trend from 2021 to 2024, as Tết falls in one month or the other), then 2025 a third up
    // again (1.8): the middle of the earlier Januaries expects 1, but each of the last three
    // Januaries moved by as much. Measured against those swings (0.30 × 1.4826), its score is
    // ln(1.8) / 0.445 = 1.3: not abnormal.
    let mut v = smooth_months(60);
    for (year, factor) in [(1, 1.35), (3, 1.35), (4, 1.8)] {
        v[12 * year] *= factor;
    }
    let sign = score_at("revenue", &series("2021-01", &v), "2025-01").unwrap();
    let swing = 1.35f64.ln() * 1.482_6;
    assert!((sign.score - 1.8f64.ln() / swing).abs() < 1e-6, "{sign:?}");
    assert!(!sign.flagged);
    // The same January in a series whose Januaries are steady is abnormal.
    let mut v = smooth_months(60);
    v[48] *= 1.8;
    let sign = score_at("revenue", &series("2021-01", &v), "2025-01").unwrap();
    assert!(sign.flagged, "{sign:?}");
}

#[test]
fn a_rate_in_percent_is_scored_on_differences_in_points() {
    // Unemployment, quarterly: 3 % with a quarter's pattern (3.1, 2.9, 3.0, 3.0), then 2025-Q2
    // at 1.5 times its 2.9 %: 4.35 %, 1.45 points above. No noise: the scale is the floor, 1.5
    // % of its plausible range's width (0 to 20 %) = 0.3 point, and the score 1.45 / 0.3 = 4.83.
    let mut v: Vec<f64> = (0..20).map(|t| [3.1, 2.9, 3.0, 3.0][t % 4]).collect();
    v[17] = 2.9 * 1.5;
    let s = series("2021-Q1", &v);
    let sign = score_at("unemployment", &s, "2025-Q2").unwrap();
    assert_eq!(sign.scale, Scale::Difference);
    assert!((sign.expected - 2.9).abs() < 1e-9, "{sign:?}");
    assert!(
        (sign.score - 1.45 / (RATE_FLOOR * 20.0)).abs() < 1e-9,
        "{sign:?}"
    );
    assert!(sign.flagged);
}

#[test]
fn zeros_in_a_series_are_scored_on_differences_without_dividing_by_zero() {
    // Accidents: none for three years, then 4 in a month. No ratio can be taken: differences,
    // with a floor that is not zero, and a finite score at the cap.
    let mut v = vec![0.0; 48];
    v[40] = 4.0;
    let s = series("2021-01", &v);
    let sign = score_at("accidents", &s, "2024-05").unwrap();
    assert_eq!(sign.scale, Scale::Difference);
    assert!(
        sign.flagged && sign.score.is_finite() && sign.score > 0.0,
        "{sign:?}"
    );
    let quiet = score_at("accidents", &s, "2024-04").unwrap();
    assert_eq!(quiet.score, 0.0);
    assert!(!quiet.flagged);
    // A value of zero after positive ones: also differences, no logarithm of zero.
    let mut v = smooth_months(48);
    v[40] = 0.0;
    let sign = score_at("revenue", &series("2021-01", &v), "2024-05").unwrap();
    assert_eq!(sign.scale, Scale::Difference);
    assert!(sign.flagged && sign.score.is_finite(), "{sign:?}");
}

#[test]
fn a_yearly_value_is_flagged_only_when_it_departs_from_every_reading_of_its_history() {
    // The online share, yearly, in %: 60, 66, 72, 78, then 84 in 2025, on the line through
    // 2023 and 2024: score 0.
    let mut v = vec![60.0, 66.0, 72.0, 78.0, 84.0];
    let sign = score_at("online_share", &series("2021", &v), "2025").unwrap();
    assert_eq!(sign.scale, Scale::Difference);
    assert!(sign.score.abs() < 1e-9, "{sign:?}");
    // 126 (1.5 times): 42 points above the nearest reading (84), over the floor of a yearly
    // rate, 3 % of the range's width (0 to 100 %) = 3 points: 14.
    v[4] = 126.0;
    let sign = score_at("online_share", &series("2021", &v), "2025").unwrap();
    assert!(
        (sign.score - 42.0 / (YEARLY_RATE_FLOOR * 100.0)).abs() < 1e-9 && sign.flagged,
        "{sign:?}"
    );
    // 87 (3 points above): 1, not flagged; 97 (13 points above): 4.33, flagged.
    v[4] = 87.0;
    let sign = score_at("online_share", &series("2021", &v), "2025").unwrap();
    assert!((sign.score - 1.0).abs() < 1e-9 && !sign.flagged, "{sign:?}");
    v[4] = 97.0;
    let sign = score_at("online_share", &series("2021", &v), "2025").unwrap();
    assert!(
        (sign.score - 13.0 / 3.0).abs() < 1e-9 && sign.flagged,
        "{sign:?}"
    );
    // 2024 after a halved 2023 (33) is read against the line through 2021 and 2022 (78): not
    // abnormal, although it is far from 2023.
    let v = vec![60.0, 66.0, 33.0, 78.0];
    let sign = score_at("online_share", &series("2021", &v), "2024").unwrap();
    assert!(sign.score.abs() < 1e-9, "{sign:?}");
}

/// A small deterministic generator (SplitMix64): the same series on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One synthetic series, the indicator it is of, and which of its periods were seeded abnormal.
struct Synthetic {
    indicator: Indicator,
    series: Vec<Observation>,
    seeded: Vec<bool>,
}

/// A series like the city's, from January 2021 to November 2026: a trend of −3 % to +15 % a
/// year, a seasonal wave of up to 10 %, the Tết months (January up or down by up to 25 %,
/// February the other way by half), the 2021 dip (a tenth of its depth all year, its full depth
/// of 20 % to 50 % from July to September), a small catch-up in early 2022, lognormal noise of
/// 1 % to 4 %; then summed (a flow) or averaged (a level) into quarters or years (about 44 % of
/// series monthly, 16 % quarterly, 40 % yearly, as in the catalogue), and 3 % of the periods
/// seeded abnormal, in any year but never two in a series within two years: multiplied by 1.3
/// to 1.8 or by 0.3 to 0.7. A rate in % grows by −3 % to +8 % a year and has a plausible range
/// from 0 to 2 to 5 times its level (at most 100 %).
fn synthetic(rng: &mut Rng) -> Synthetic {
    let r = rng.unit();
    let per_year = if r < 0.44 {
        12
    } else if r < 0.60 {
        4
    } else {
        1
    };
    let percent = rng.unit() < 0.38;
    let level = if percent {
        rng.uniform(2f64.ln(), 95f64.ln()).exp()
    } else {
        rng.uniform(10f64.ln(), 1e5f64.ln()).exp()
    };
    let growth = rng.uniform(-0.03, if percent { 0.08 } else { 0.15 });
    // A rate's plausible range, as the catalogue's: from 0 to 2 to 5 times its level, at
    // most 100 %.
    let width = (level * rng.uniform(2.0, 5.0)).min(100.0);
    let noise = rng.uniform(0.01, 0.04);
    let tet = rng.uniform(-0.25, 0.25);
    let (wave, phase) = (rng.uniform(0.0, 0.1), rng.uniform(0.0, 6.3));
    let depth = rng.uniform(0.2, 0.5);
    let flow = !percent && rng.unit() < 0.5;
    let dip = [0.1, 0.1, 0.1, 0.1, 0.3, 0.6, 1.0, 1.0, 1.0, 0.5, 0.2, 0.1];
    let months: Vec<f64> = (0..71)
        .map(|t| {
            let (year, m) = (2021 + t / 12, t % 12);
            let mut v = level * (growth * t as f64 / 12.0).exp();
            v *= 1.0 + wave * (std::f64::consts::TAU * (m + 1) as f64 / 12.0 + phase).sin();
            if m == 0 {
                v *= 1.0 + tet;
            }
            if m == 1 {
                v *= 1.0 - tet / 2.0;
            }
            if year == 2021 {
                v *= 1.0 - depth * dip[m];
            }
            if year == 2022 && m < 3 {
                v *= 1.03;
            }
            v
        })
        .collect();
    let months_per = 12 / per_year;
    let indicator = Indicator {
        unit: if percent { "%" } else { "tỷ đồng" }.into(),
        periodicity: match per_year {
            12 => Periodicity::Month,
            4 => Periodicity::Quarter,
            _ => Periodicity::Year,
        },
        range: if percent {
            ValueRange {
                min: 0.0,
                max: width,
            }
        } else {
            ValueRange { min: 0.0, max: 1e9 }
        },
        ..catalogue().indicator("revenue").unwrap().clone()
    };
    let first = match per_year {
        12 => "2021-01",
        4 => "2021-Q1",
        _ => "2021",
    };
    let mut values = Vec::new();
    let mut seeded = Vec::new();
    let mut last_seed: Option<usize> = None;
    for (i, chunk) in months.chunks_exact(months_per).enumerate() {
        let sum: f64 = chunk.iter().sum();
        let mut v = if flow { sum } else { sum / months_per as f64 };
        v *= (noise * rng.normal()).exp();
        let free = last_seed.is_none_or(|last| i >= last + 2 * per_year);
        let seed = rng.unit() < 0.03 && free;
        if seed {
            last_seed = Some(i);
        }
        if seed {
            v *= if rng.unit() < 0.5 {
                rng.uniform(1.3, 1.8)
            } else {
                rng.uniform(0.3, 0.7)
            };
        }
        values.push(v);
        seeded.push(seed);
    }
    Synthetic {
        indicator,
        series: series(first, &values),
        seeded,
    }
}

/// Precision and recall of the flags on the seeded values of `n` synthetic series, over the
/// periods with at least three years of history before them: (precision, recall, true
/// positives, false positives, missed).
fn measure(seed: u64, n: usize) -> (f64, f64, u32, u32, u32) {
    let mut rng = Rng(seed);
    let (mut tp, mut fp, mut missed) = (0, 0, 0);
    for _ in 0..n {
        let s = synthetic(&mut rng);
        let indicator = &s.indicator;
        for (i, o) in s.series.iter().enumerate() {
            let history = o.period.year() - s.series[0].period.year() >= 3;
            if !history {
                continue;
            }
            let flagged = abnormal::score(indicator, &s.series, i, &[]).is_some_and(|a| a.flagged);
            match (flagged, s.seeded[i]) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => missed += 1,
                (false, false) => {}
            }
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + missed).max(1));
    (precision, recall, tp, fp, missed)
}

/// Synthetic series per seed.
const SERIES: usize = 600;

/// The acceptance bar of issue 21 on synthetic series: precision and recall at least 0.9 on
/// seeded abnormal values, for each of three seeds. `docs/indicators.md` quotes what it
/// prints (`cargo test -p ioc-protocol --features preset synthetic -- --nocapture`).
#[test]
fn synthetic_series_with_seeded_abnormal_values_are_caught_with_precision_and_recall_of_0_9() {
    for seed in [21, 2021, 20_260] {
        let (precision, recall, tp, fp, missed) = measure(seed, SERIES);
        eprintln!(
            "seed {seed}: {SERIES} series, {} seeded values scored, {tp} caught, {missed} missed, \
             {fp} false signs: precision {precision:.3}, recall {recall:.3}",
            tp + missed
        );
        assert!(
            tp + missed >= 150,
            "too few seeded values to measure: {tp} + {missed}"
        );
        assert!(precision >= 0.9, "seed {seed}: precision {precision:.3}");
        assert!(recall >= 0.9, "seed {seed}: recall {recall:.3}");
    }
}
