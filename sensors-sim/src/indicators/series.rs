//! The values of one indicator, period by period, at every area it is reported for.
//!
//! A series with targets of its own (the city's, and the few districts and departments the plan
//! names) follows them: each year lands near the year's target, ahead or behind by the series'
//! own performance, drawn once (most on track, some at risk, some behind), and a year without a
//! target continues the trend of the nearest two. Within a year:
//!
//! - a **flow** spreads the year's total over its months by the catalogue's seasonal profile,
//!   or evenly, moved by Tết where the indicator feels it; a quarter or a year sums its months;
//! - a **level** moves from last year's end to this year's;
//! - a **year-on-year index** (IIP, CPI, GRDP growth) is the ratio of an underlying activity,
//!   month by month, to the same months a year earlier: so the 2021 dip shows, and 2022's
//!   rebound on it.
//!
//! The pandemic takes its share of each month (or adds its points to a rate), and a few % of
//! noise is drawn for each value from the seed and the series' and period's names, so a value
//! does not depend on what else is generated. The other districts and departments follow the
//! city: sharing its total (a flow, a count), or scattered around it (a rate, a score). Every
//! value is rounded and kept inside the indicator's plausible range.

use std::collections::BTreeMap;

use ioc_protocol::indicator::{Direction, Indicator, Kind, Level, Period, Periodicity, ValueRange};
use rand::Rng;

use super::behaviour::{Behaviour, Pandemic, Shape, Spread, Yoy, behaviour};
use super::calendar::{
    BASE_YEAR, TetEffect, border_closure, lockdown_depth, month_index, months_of, tet_factor,
    year_month,
};
use crate::rng::{normal, rng_for, uniform};

/// The units of the built-in catalogue that count whole things.
const COUNT_UNITS: [&str; 15] = [
    "vụ",
    "người",
    "ca",
    "doanh nghiệp",
    "dự án",
    "căn",
    "giấy",
    "giấy phép",
    "phòng học",
    "sự kiện",
    "huy chương",
    "chỗ làm việc",
    "xã",
    "cơ sở",
    "điểm ùn tắc",
];

/// What a series needs to know of its indicator, shared by its areas.
#[derive(Debug, Clone)]
pub(super) struct Traits {
    pub(super) code: String,
    pub(super) behaviour: Behaviour,
    kind: Kind,
    good: Direction,
    periodicity: Periodicity,
    pub(super) range: ValueRange,
    /// Whether its unit is `%`: abnormal values of a rate shift by points.
    pub(super) percent: bool,
    /// Whether it counts things (its unit is `vụ`, `người`, `doanh nghiệp`...).
    count: bool,
    seasonal: Option<Vec<f64>>,
    /// The run's seed.
    pub(super) seed: u64,
}

impl Traits {
    pub(super) fn of(indicator: &Indicator, seed: u64) -> Traits {
        Traits {
            code: indicator.code.clone(),
            behaviour: behaviour(indicator),
            kind: indicator.kind,
            good: indicator.good,
            periodicity: indicator.periodicity,
            range: indicator.range,
            percent: indicator.unit == "%",
            count: COUNT_UNITS.contains(&indicator.unit.as_str()),
            seasonal: indicator.seasonal.clone(),
            seed,
        }
    }

    /// +1 when more is better, -1 when less is.
    fn dir(&self) -> f64 {
        match self.good {
            Direction::Up => 1.0,
            Direction::Down => -1.0,
        }
    }

    /// The size a level's noise and offsets are relative to: the value, but at least a tenth
    /// of the range (a rate near 0 still moves).
    fn scale(&self, v: f64) -> f64 {
        v.abs().max(0.1 * (self.range.max - self.range.min))
    }

    /// Whether yearly anchors move by ratios (a positive amount) rather than by differences (a
    /// rate, an index, a growth).
    fn geometric(&self) -> bool {
        match self.behaviour.shape {
            Shape::Flow => true,
            Shape::Level => !self.percent,
            Shape::Yoy(_) => false,
        }
    }

    /// How much of a month's activity the pandemic leaves.
    fn pandemic_scale(&self, year: i32, month: u32) -> f64 {
        match self.behaviour.pandemic {
            Pandemic::Scale(s) => 1.0 - s * lockdown_depth(year, month),
            Pandemic::Borders => 1.0 - border_closure(year, month),
            Pandemic::Points(_) | Pandemic::None => 1.0,
        }
    }

    /// A month's weight in its year's total of a flow, before the year's weights are made to
    /// sum to 1: the seasonal profile (monthly, or a quarter's share over its three months), or
    /// even; moved by Tết when the indicator is monthly and has no profile of its own (a
    /// profile already holds its Tết).
    fn month_weight(&self, year: i32, month: u32) -> f64 {
        let base = match &self.seasonal {
            Some(s) if s.len() == 12 => s[month as usize - 1],
            Some(s) if s.len() == 4 => s[(month as usize - 1) / 3] / 3.0,
            _ => 1.0 / 12.0,
        };
        let tet = self.behaviour.tet;
        if tet == TetEffect::None
            || self.seasonal.is_some()
            || self.periodicity != Periodicity::Month
        {
            return base;
        }
        base * tet_factor(tet, year, month)
    }

    /// An area's value scattered around the city's `v` by its `offset` (relative) and its
    /// period's `noise` (a standard normal draw). A rate in % is scattered on the logistic
    /// scale of its range, so that near its bound (98 % on time) it stays below it rather than
    /// piling up at 100.
    fn scatter(&self, v: f64, offset: f64, noise: f64) -> f64 {
        let (min, max) = (self.range.min, self.range.max);
        if self.percent && max > min {
            let p = ((v - min) / (max - min)).clamp(0.005, 0.995);
            let logit = (p / (1.0 - p)).ln() + 5.0 * (offset + 0.02 * noise);
            min + (max - min) / (1.0 + (-logit).exp())
        } else {
            let scale = self.scale(v);
            v + offset * scale + 0.02 * scale * noise
        }
    }

    /// Rounded to what a report carries, and kept inside the plausible range: a count of
    /// things (fires, enterprises) whole from 20 on (below, where a district's month is a
    /// handful, the model's fraction is kept: a whole number would be mostly noise).
    pub(super) fn finish(&self, v: f64) -> f64 {
        let a = v.abs();
        let per = if a >= 10_000.0 || (self.count && a >= 20.0) {
            1.0
        } else if a >= 100.0 {
            10.0
        } else {
            100.0
        };
        ((v * per).round() / per + 0.0).clamp(self.range.min, self.range.max)
    }
}

/// A series with targets of its own (or the city's, which always has a plan to follow).
#[derive(Debug, Clone)]
struct Anchored {
    /// `{code}/{area}`: the name its draws are seeded by.
    label: String,
    targets: BTreeMap<i32, f64>,
    /// Its persistent performance against the plan, relative (-0.2: a fifth behind).
    performance: f64,
    /// This year's performance (the persistent one, give or take), by year.
    years: BTreeMap<i32, f64>,
    /// For a flow, each month's share of its year's total, by year.
    shares: BTreeMap<i32, [f64; 12]>,
    /// For a year-on-year index, the underlying activity by month (from January 2020).
    activity: Vec<f64>,
}

impl Anchored {
    fn new(traits: &Traits, area: &str, targets: BTreeMap<i32, f64>) -> Anchored {
        let label = format!("{}/{area}", traits.code);
        let mut rng = rng_for(traits.seed, &format!("indicator/{label}/plan"));
        // Most series on track, a quarter at risk, a fifth behind.
        let x: f64 = rng.random();
        let performance = if x < 0.55 {
            uniform(&mut rng, -0.02, 0.06)
        } else if x < 0.8 {
            uniform(&mut rng, -0.11, -0.06)
        } else {
            uniform(&mut rng, -0.28, -0.15)
        };
        Anchored {
            label,
            targets,
            performance,
            years: BTreeMap::new(),
            shares: BTreeMap::new(),
            activity: Vec::new(),
        }
    }

    fn performance(&mut self, seed: u64, year: i32) -> f64 {
        let (label, p) = (&self.label, self.performance);
        *self.years.entry(year).or_insert_with(|| {
            let mut rng = rng_for(seed, &format!("indicator/{label}/year/{year}"));
            p + 0.015 * normal(&mut rng)
        })
    }

    /// The plan's value for a year: its target; between two targets, on the way from one to
    /// the other; before the first or after the last, the trend of the nearest two.
    fn planned(&self, traits: &Traits, year: i32) -> f64 {
        let per_year = f64::from(traits.periodicity.per_year());
        let (min, max) = match traits.kind {
            Kind::Flow => (traits.range.min * per_year, traits.range.max * per_year),
            Kind::Level => (traits.range.min, traits.range.max),
        };
        if let Some(t) = self.targets.get(&year) {
            return *t;
        }
        let points: Vec<(i32, f64)> = self.targets.iter().map(|(y, t)| (*y, *t)).collect();
        if let Some(w) = points.windows(2).find(|w| w[0].0 < year && year < w[1].0) {
            let ((y0, t0), (y1, t1)) = (w[0], w[1]);
            let f = f64::from(year - y0) / f64::from(y1 - y0);
            return if traits.geometric() && t0 > 0.0 && t1 > 0.0 {
                t0 * (t1 / t0).powf(f)
            } else {
                t0 + (t1 - t0) * f
            };
        }
        let (near, next) = match points.as_slice() {
            // None: a value of the range's lower half; one: flat.
            [] => return min + 0.3 * (max - min),
            [(_, t)] => return *t,
            [a, b, ..] if year < a.0 => (*a, *b),
            [.., b, a] => (*a, *b),
        };
        let n = f64::from((year - near.0).abs());
        let gap = f64::from((near.0 - next.0).abs());
        let v = if traits.geometric() && near.1 > 0.0 && next.1 > 0.0 {
            near.1 * (near.1 / next.1).powf(1.0 / gap).clamp(0.8, 1.25).powf(n)
        } else {
            near.1 + (near.1 - next.1) / gap * n
        };
        v.clamp(min, max)
    }

    /// The year's value, the plan moved by the series' performance in the good direction: a
    /// flow's total, a level's value at the year's end, an index's yearly rate of change (0.07
    /// for an index of 107 or a growth of 7 %).
    fn yearly(&mut self, traits: &Traits, year: i32) -> f64 {
        let planned = self.planned(traits, year);
        let p = traits.dir() * self.performance(traits.seed, year);
        match traits.behaviour.shape {
            Shape::Flow => planned * (1.0 + p),
            Shape::Level => planned + 0.5 * p * traits.scale(planned),
            Shape::Yoy(yoy) => {
                let rate = if yoy.growth {
                    planned / 100.0
                } else {
                    planned / 100.0 - 1.0
                };
                rate + p * rate.abs().max(0.02)
            }
        }
    }

    /// Each month's share of a flow's yearly total: its weight (season, Tết), tilted towards
    /// last year's total before July and next year's after, so that the months grow smoothly
    /// across the new year rather than step.
    fn shares(&mut self, traits: &Traits, year: i32) -> [f64; 12] {
        if let Some(s) = self.shares.get(&year) {
            return *s;
        }
        let [before, now, after] = [year - 1, year, year + 1].map(|y| self.yearly(traits, y));
        let growth = |a: f64, b: f64| if a > 0.0 && b > 0.0 { b / a } else { 1.0 };
        let mut shares = [0.0; 12];
        for (i, share) in shares.iter_mut().enumerate() {
            let month = i as u32 + 1;
            let from_mid = (f64::from(month) - 6.5) / 12.0;
            let tilt = if month <= 6 {
                growth(before, now).powf(from_mid)
            } else {
                growth(now, after).powf(from_mid)
            };
            *share = traits.month_weight(year, month) * tilt;
        }
        let sum: f64 = shares.iter().sum();
        shares.iter_mut().for_each(|s| *s /= sum);
        self.shares.insert(year, shares);
        shares
    }

    /// A period's value with its noise, before rounding.
    fn value(&mut self, traits: &Traits, period: Period) -> f64 {
        let mut rng = rng_for(traits.seed, &format!("indicator/{}/{period}", self.label));
        let noise = normal(&mut rng);
        let year = period.year();
        match traits.behaviour.shape {
            Shape::Flow => {
                let total = self.yearly(traits, year);
                let shares = self.shares(traits, year);
                let v: f64 = months_of(period)
                    .into_iter()
                    .map(|(y, m)| total * shares[m as usize - 1] * traits.pandemic_scale(y, m))
                    .sum();
                v * (1.0 + 0.03 * noise)
            }
            Shape::Level => {
                let (from, to) = (self.yearly(traits, year - 1), self.yearly(traits, year));
                let v = from + period.share_of_year() * (to - from);
                let v = level_in_pandemic(traits, period, v);
                v + 0.012 * traits.scale(v) * noise
            }
            Shape::Yoy(yoy) => self.year_on_year(traits, yoy, period),
        }
    }

    /// The underlying activity of a year-on-year index in a month (from January 2020).
    fn activity(&mut self, traits: &Traits, yoy: Yoy, index: usize) -> f64 {
        while self.activity.len() <= index {
            let k = self.activity.len();
            let (y, m) = year_month(k);
            // The trend's level, the rate of each year compounded month by month.
            let trend: f64 = (BASE_YEAR..=y)
                .map(|yy| {
                    let months = if yy < y { 12.0 } else { f64::from(m) };
                    (1.0 + self.yearly(traits, yy)).max(0.5).ln() * months / 12.0
                })
                .sum();
            let mut rng = rng_for(traits.seed, &format!("indicator/{}/month/{k}", self.label));
            let a = trend.exp()
                * tet_factor(traits.behaviour.tet, y, m)
                * traits.pandemic_scale(y, m)
                * (yoy.noise * normal(&mut rng)).exp();
            self.activity.push(a);
        }
        self.activity[index]
    }

    fn year_on_year(&mut self, traits: &Traits, yoy: Yoy, period: Period) -> f64 {
        let months = months_of(period);
        let (y, last) = *months.last().expect("a period has months");
        let first = if yoy.to_date { 1 } else { months[0].1 };
        let (mut now, mut before) = (0.0, 0.0);
        for m in first..=last {
            let k = month_index(y, m);
            now += self.activity(traits, yoy, k);
            before += self.activity(traits, yoy, k - 12);
        }
        let ratio = now / before;
        if yoy.growth {
            (ratio - 1.0) * 100.0
        } else {
            ratio * 100.0
        }
    }
}

/// A level in the pandemic: its months' average depth takes its share, or adds its points.
fn level_in_pandemic(traits: &Traits, period: Period, v: f64) -> f64 {
    let months = months_of(period);
    let depth = |f: fn(i32, u32) -> f64| {
        months.iter().map(|&(y, m)| f(y, m)).sum::<f64>() / months.len() as f64
    };
    match traits.behaviour.pandemic {
        Pandemic::Scale(s) => v * (1.0 - s * depth(lockdown_depth)),
        Pandemic::Points(p) => v + p * depth(lockdown_depth),
        Pandemic::Borders => v * (1.0 - depth(border_closure)),
        Pandemic::None => v,
    }
}

/// Whether the other areas' targets add up, each year, to the city's within 5 %.
fn districts_add_up(targets: &BTreeMap<String, BTreeMap<i32, f64>>) -> bool {
    let Some(city) = targets.get(ioc_protocol::topic::CITY_AREA) else {
        return false;
    };
    let others: Vec<&BTreeMap<i32, f64>> = targets
        .iter()
        .filter(|(area, _)| area.as_str() != ioc_protocol::topic::CITY_AREA)
        .map(|(_, t)| t)
        .collect();
    !city.is_empty()
        && !others.is_empty()
        && city.iter().all(|(year, total)| {
            let sum: f64 = others.iter().filter_map(|t| t.get(year)).sum();
            (sum - total).abs() <= 0.05 * total.abs()
        })
}

/// How a district or department's series is made.
#[derive(Debug, Clone)]
enum Follow {
    /// It has targets of its own.
    Own(Box<Anchored>),
    /// Its share of the city's value.
    Share(f64),
    /// Its offset from the city's value, relative to the value's scale.
    Scatter(f64),
}

/// A district's or department's series.
#[derive(Debug, Clone)]
struct AreaSeries {
    area: String,
    level: Level,
    follow: Follow,
}

/// One value of a period: the area, its level, the value as reported (rounded, in range).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AreaValue {
    pub(super) area: String,
    pub(super) level: Level,
    pub(super) value: f64,
}

/// An indicator's series, at every area it is reported for.
#[derive(Debug, Clone)]
pub(super) struct IndicatorModel {
    pub(super) traits: Traits,
    /// The city's series: always modelled (the others follow it), reported when the indicator
    /// is reported at city level.
    city: Anchored,
    /// Whether the city's value is its districts' sum: a flow whose every district has
    /// targets, adding up to the city's (retail sales, new enterprises).
    city_is_sum: bool,
    report_city: bool,
    areas: Vec<AreaSeries>,
}

/// The areas of a level, each with the weight its share of a total starts from (its
/// population for a district, 1 for a department).
pub(super) type WeightedAreas<'a> = [(Level, &'a str, f64)];

impl IndicatorModel {
    /// The model of an indicator: `targets` gives the targets of each area by year; `areas`
    /// the districts and departments with their weights.
    pub(super) fn new(
        indicator: &Indicator,
        seed: u64,
        targets: &BTreeMap<String, BTreeMap<i32, f64>>,
        areas: &WeightedAreas<'_>,
    ) -> IndicatorModel {
        let traits = Traits::of(indicator, seed);
        let own = |area: &str| targets.get(area).cloned().unwrap_or_default();
        let city = Anchored::new(&traits, "city", own("city"));
        let mut series: Vec<AreaSeries> = Vec::new();
        for level in [Level::District, Level::Department] {
            if !indicator.has_level(level) {
                continue;
            }
            let of_level: Vec<(&str, f64)> = areas
                .iter()
                .filter(|(l, _, _)| *l == level)
                .map(|(_, a, w)| (*a, *w))
                .collect();
            // Shares: the weight to a power, unevenly per indicator, summing to 1.
            let raw: Vec<f64> = of_level
                .iter()
                .map(|(area, w)| {
                    let mut rng = rng_for(seed, &format!("indicator/{}/{area}/share", traits.code));
                    w.max(1.0).powf(0.9) * (0.35 * normal(&mut rng)).exp()
                })
                .collect();
            let total: f64 = raw.iter().sum();
            for ((area, _), share) in of_level.iter().zip(raw) {
                let follow = if targets.contains_key(*area) {
                    Follow::Own(Box::new(Anchored::new(&traits, area, own(area))))
                } else {
                    match traits.behaviour.spread {
                        Spread::Share => Follow::Share(share / total),
                        Spread::Scatter => {
                            let mut rng =
                                rng_for(seed, &format!("indicator/{}/{area}/offset", traits.code));
                            let sd = match traits.behaviour.shape {
                                Shape::Yoy(_) => 0.01,
                                _ => 0.06,
                            };
                            Follow::Scatter(sd * normal(&mut rng))
                        }
                    }
                };
                series.push(AreaSeries {
                    area: (*area).to_owned(),
                    level,
                    follow,
                });
            }
        }
        let districts: Vec<&AreaSeries> = series
            .iter()
            .filter(|s| s.level == Level::District)
            .collect();
        let city_is_sum = traits.kind == Kind::Flow
            && !districts.is_empty()
            && districts.iter().all(|s| matches!(s.follow, Follow::Own(_)))
            && districts_add_up(targets);
        IndicatorModel {
            traits,
            city,
            city_is_sum,
            report_city: indicator.has_level(Level::City),
            areas: series,
        }
    }

    /// The values of a period (of the indicator's periodicity): the city's first, then the
    /// districts' and the departments', in the preset's order.
    pub(super) fn values(&mut self, period: Period) -> Vec<AreaValue> {
        let t = &self.traits;
        // The series with targets of their own first: the city may be their sum.
        let own: Vec<Option<f64>> = self
            .areas
            .iter_mut()
            .map(|s| match &mut s.follow {
                Follow::Own(a) => Some(a.value(t, period)),
                Follow::Share(_) | Follow::Scatter(_) => None,
            })
            .collect();
        let city = if self.city_is_sum {
            self.areas
                .iter()
                .zip(&own)
                .filter(|(s, _)| s.level == Level::District)
                .filter_map(|(_, v)| *v)
                .sum()
        } else {
            self.city.value(t, period)
        };
        let mut out = Vec::with_capacity(self.areas.len() + 1);
        if self.report_city {
            out.push(AreaValue {
                area: ioc_protocol::topic::CITY_AREA.to_owned(),
                level: Level::City,
                value: t.finish(city),
            });
        }
        for (s, own) in self.areas.iter().zip(own) {
            let mut rng = rng_for(t.seed, &format!("indicator/{}/{}/{period}", t.code, s.area));
            let noise = normal(&mut rng);
            let v = match (&s.follow, own) {
                (_, Some(v)) => v,
                (Follow::Share(w), None) => city * *w * (1.0 + 0.05 * noise),
                (Follow::Scatter(o), None) => t.scatter(city, *o, noise),
                (Follow::Own(_), None) => unreachable!("an own series has its value"),
            };
            out.push(AreaValue {
                area: s.area.clone(),
                level: s.level,
                value: t.finish(v),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::indicator::Catalogue;

    fn model(code: &str) -> IndicatorModel {
        let catalogue = Catalogue::built_in();
        let indicator = catalogue.indicator(code).unwrap();
        let mut targets: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
        for t in catalogue.targets_of(code, "city") {
            targets
                .entry(t.area.clone())
                .or_default()
                .insert(t.year, t.value);
        }
        IndicatorModel::new(indicator, 1, &targets, &[])
    }

    #[test]
    fn a_flow_lands_near_its_target_and_an_index_near_its_own() {
        let mut m = model("budget_revenue");
        let year: f64 = Periodicity::Month
            .periods_of(2024)
            .map(|p| m.values(p)[0].value)
            .sum();
        let ratio = year / 483_000.0;
        assert!(
            (0.7..1.1).contains(&ratio),
            "budget revenue 2024 at {ratio:.2} of target"
        );
        let mut iip = model("iip");
        let p = Period::of_month(2024, 6).unwrap();
        let v = iip.values(p)[0].value;
        assert!((95.0..120.0).contains(&v), "IIP June 2024: {v}");
    }

    #[test]
    fn a_year_between_two_targets_is_on_the_way_from_one_to_the_other() {
        let mut m = model("retail_sales");
        m.city.targets.remove(&2024);
        let between = m.city.planned(&m.traits, 2024);
        assert!(between > 1_150_000.0 && between < 1_450_000.0, "{between}");
    }

    #[test]
    fn years_without_targets_continue_the_trend() {
        let m = model("retail_sales");
        let a = m.city.planned(&m.traits, 2021);
        assert!(
            a < 900_000.0 && a > 600_000.0,
            "2021 before 2022's 900 000: {a}"
        );
        let b = m.city.planned(&m.traits, 2028);
        assert!(b > 1_600_000.0, "2028 after 2026's 1 600 000: {b}");
    }
}
