//! The map's layers: which figure colours each area, and the colour scales and legends.
//! Pure functions of the live state, tested without a browser.

use ioc_protocol::Domain;

use crate::i18n::{Lang, Word, aqi_band, congestion_name, dec, t};
use crate::live::LiveState;

/// A colour for an area with no figure on the layer.
pub const NO_DATA: &str = "#2b3548";

/// What the map is coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Aqi,
    Congestion,
    Complaints,
    Flood,
    OnTime,
}

impl Layer {
    /// The layers an officer can choose on the console.
    pub const CHOICES: [Layer; 5] = [
        Layer::Aqi,
        Layer::Congestion,
        Layer::Flood,
        Layer::Complaints,
        Layer::OnTime,
    ];

    /// The `data-layer` of the map and of the layer's button.
    pub fn code(self) -> &'static str {
        match self {
            Layer::Aqi => "aqi",
            Layer::Congestion => "congestion",
            Layer::Complaints => "complaints",
            Layer::Flood => "flood",
            Layer::OnTime => "on_time",
        }
    }

    /// The domain whose figures (and alerts) the layer shows.
    pub fn domain(self) -> Domain {
        match self {
            Layer::Aqi => Domain::Env,
            Layer::Congestion => Domain::Traffic,
            Layer::Complaints => Domain::Complaint,
            Layer::Flood => Domain::Flood,
            Layer::OnTime => Domain::Service,
        }
    }

    pub fn word(self) -> Word {
        match self {
            Layer::Aqi => Word::LayerAqi,
            Layer::Congestion => Word::LayerCongestion,
            Layer::Complaints => Word::LayerComplaints,
            Layer::Flood => Word::LayerFlood,
            Layer::OnTime => Word::LayerOnTime,
        }
    }
}

/// An area's figure on a layer: the value, and whether it is stale (the last known one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaValue {
    pub value: f64,
    pub stale: bool,
}

/// The figure of `area` on `layer`, if it has one.
pub fn area_value(state: &LiveState, layer: Layer, area: &str) -> Option<AreaValue> {
    match layer {
        Layer::Aqi => {
            // The official index of the area's worst station; before stations have their
            // hours, the sensors' own values.
            let official = state
                .env()
                .and_then(|e| e.areas.iter().find(|a| a.area == area))
                .and_then(|a| {
                    a.aqi.map(|v| AreaValue {
                        value: f64::from(v),
                        stale: a.fresh.stale,
                    })
                });
            official.or_else(|| stat_value(state, Domain::Env, area, "aqi"))
        }
        Layer::Congestion => state
            .traffic()
            .and_then(|f| f.areas.iter().find(|a| a.area == area))
            .and_then(|a| {
                a.congestion.map(|v| AreaValue {
                    value: v,
                    stale: a.fresh.stale,
                })
            })
            .or_else(|| stat_value(state, Domain::Traffic, area, "congestion")),
        Layer::Complaints => state
            .complaints()
            .and_then(|f| f.areas.iter().find(|a| a.area == area))
            .and_then(|a| a.per_10k)
            .map(|v| AreaValue {
                value: v,
                stale: false,
            }),
        Layer::Flood => {
            let gauges: Vec<_> = state
                .flood()?
                .gauges
                .iter()
                .filter(|g| g.area == area && g.water_level_cm.is_some())
                .collect();
            let worst = gauges.iter().map(|g| g.alarm).max()?;
            Some(AreaValue {
                value: f64::from(worst),
                stale: gauges.iter().all(|g| g.fresh.stale),
            })
        }
        Layer::OnTime => state
            .services()
            .and_then(|f| f.areas.iter().find(|a| a.key == area))
            .and_then(|a| a.on_time_rate)
            .map(|v| AreaValue {
                value: v,
                stale: false,
            }),
    }
}

/// How many of an area's sensors behind `layer` are offline: they reported before, but not
/// within their domain's expected interval. Event layers have no sensors.
pub fn offline_sources(state: &LiveState, layer: Layer, area: &str) -> u32 {
    if matches!(layer, Layer::Complaints | Layer::OnTime) {
        return 0;
    }
    state
        .stat(layer.domain(), area)
        .map_or(0, |s| s.sources.saturating_sub(s.fresh_sources))
}

fn stat_value(state: &LiveState, domain: Domain, area: &str, field: &str) -> Option<AreaValue> {
    let s = state.stat(domain, area)?;
    s.fields.get(field).map(|f| AreaValue {
        value: f.mean,
        stale: s.stale,
    })
}

const AQI_COLOURS: [(&str, &str); 6] = [
    ("aqi-good", "#00e400"),
    ("aqi-moderate", "#ffff00"),
    ("aqi-poor", "#ff7e00"),
    ("aqi-bad", "#ff0000"),
    ("aqi-very-bad", "#8f3f97"),
    ("aqi-hazardous", "#7e0023"),
];
const CONGESTION_COLOURS: [&str; 6] = [
    "#3ecf8e", "#3ecf8e", "#c6d93d", "#f5b83d", "#ff7e00", "#ff3b3b",
];
/// Complaints received today per 10,000 people: below 0.25, 0.25–0.5, 0.5–1, 1–2, 2 and more
/// (a whole day in Ho Chi Minh City brings about one complaint per 10,000 people).
const COMPLAINT_BREAKS: [f64; 4] = [0.25, 0.5, 1.0, 2.0];
const COMPLAINT_COLOURS: [&str; 5] = ["#25456b", "#2f6fa8", "#4f9be0", "#b07be0", "#f06bb8"];
const FLOOD_COLOURS: [&str; 4] = ["#2a9d8f", "#f5d33d", "#ff7e00", "#ff3b3b"];
/// On-time share of dossiers: 95 % and more, 90–95, 80–90, below 80.
const ON_TIME_BREAKS: [f64; 3] = [0.8, 0.9, 0.95];
const ON_TIME_COLOURS: [&str; 4] = ["#ff3b3b", "#ff7e00", "#c6d93d", "#3ecf8e"];

fn class_of(breaks: &[f64], v: f64) -> usize {
    breaks.iter().filter(|&&b| v >= b).count()
}

/// The fill of an area with figure `v` on `layer`.
pub fn colour(layer: Layer, v: Option<f64>) -> &'static str {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return NO_DATA;
    };
    match layer {
        Layer::Aqi => {
            let class = aqi_band(Lang::En, v).0;
            AQI_COLOURS
                .iter()
                .find(|(c, _)| *c == class)
                .map_or(NO_DATA, |(_, hex)| hex)
        }
        Layer::Congestion => CONGESTION_COLOURS[v.round().clamp(0.0, 5.0) as usize],
        Layer::Complaints => COMPLAINT_COLOURS[class_of(&COMPLAINT_BREAKS, v)],
        Layer::Flood => FLOOD_COLOURS[v.round().clamp(0.0, 3.0) as usize],
        Layer::OnTime => ON_TIME_COLOURS[class_of(&ON_TIME_BREAKS, v)],
    }
}

/// Whether text on a fill should be dark (light fills) or light.
pub fn dark_text_on(fill: &str) -> bool {
    let hex = fill.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    let lum = 0.2126 * f64::from(c(0)) + 0.7152 * f64::from(c(2)) + 0.0722 * f64::from(c(4));
    lum > 140.0
}

/// The value of an area as its map label shows it.
pub fn value_text(layer: Layer, lang: Lang, v: f64) -> String {
    match layer {
        Layer::Aqi => format!("{v:.0}"),
        Layer::Congestion | Layer::Complaints => dec(lang, v, 1),
        Layer::Flood => match v.round() as u8 {
            0 => "—".to_owned(),
            n => format!("BĐ{n}"),
        },
        Layer::OnTime => format!("{:.0}%", v * 100.0),
    }
}

/// The legend of a layer: each colour and what it means.
pub fn legend(layer: Layer, lang: Lang) -> Vec<(&'static str, String)> {
    let vi = lang == Lang::Vi;
    let mut out: Vec<(&'static str, String)> = match layer {
        Layer::Aqi => [0.0, 51.0, 101.0, 151.0, 201.0, 301.0]
            .iter()
            .zip(["0–50", "51–100", "101–150", "151–200", "201–300", "301+"])
            .map(|(&v, range)| {
                (
                    colour(layer, Some(v)),
                    format!("{range} {}", aqi_band(lang, v).1),
                )
            })
            .collect(),
        Layer::Congestion => (1..=5)
            .map(|l| {
                (
                    CONGESTION_COLOURS[l],
                    format!(
                        "{} {}",
                        if l == 1 {
                            "0–1".to_owned()
                        } else {
                            l.to_string()
                        },
                        congestion_name(lang, l as f64)
                    ),
                )
            })
            .collect(),
        Layer::Complaints => {
            // As many decimals as the break has: "0,25", "0,5", "1,0".
            let d = |v: f64| dec(lang, v, if (v * 10.0).fract() == 0.0 { 1 } else { 2 });
            let b = COMPLAINT_BREAKS;
            vec![
                (COMPLAINT_COLOURS[0], format!("< {}", d(b[0]))),
                (COMPLAINT_COLOURS[1], format!("{}–{}", d(b[0]), d(b[1]))),
                (COMPLAINT_COLOURS[2], format!("{}–{}", d(b[1]), d(b[2]))),
                (COMPLAINT_COLOURS[3], format!("{}–{}", d(b[2]), d(b[3]))),
                (COMPLAINT_COLOURS[4], format!("≥ {}", d(b[3]))),
            ]
        }
        Layer::Flood => vec![
            (FLOOD_COLOURS[0], t(lang, Word::BelowAlarm).to_owned()),
            (
                FLOOD_COLOURS[1],
                if vi { "BĐ1" } else { "Alarm 1" }.to_owned(),
            ),
            (
                FLOOD_COLOURS[2],
                if vi { "BĐ2" } else { "Alarm 2" }.to_owned(),
            ),
            (
                FLOOD_COLOURS[3],
                if vi { "BĐ3" } else { "Alarm 3" }.to_owned(),
            ),
        ],
        Layer::OnTime => vec![
            (ON_TIME_COLOURS[3], "≥ 95%".to_owned()),
            (ON_TIME_COLOURS[2], "90–95%".to_owned()),
            (ON_TIME_COLOURS[1], "80–90%".to_owned()),
            (ON_TIME_COLOURS[0], "< 80%".to_owned()),
        ],
    };
    out.push((
        NO_DATA,
        if layer == Layer::Flood {
            t(lang, Word::NoGauge)
        } else {
            t(lang, Word::NoData)
        }
        .to_owned(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::DomainFigures;
    use ioc_protocol::live::{ComplaintCounts, ComplaintFigures, FloodFigures, GaugeFigure};

    #[test]
    fn aqi_colours_are_the_vn_aqi_bands() {
        assert_eq!(colour(Layer::Aqi, Some(50.0)), "#00e400");
        assert_eq!(colour(Layer::Aqi, Some(51.0)), "#ffff00");
        assert_eq!(colour(Layer::Aqi, Some(151.0)), "#ff0000");
        assert_eq!(colour(Layer::Aqi, Some(350.0)), "#7e0023");
        assert_eq!(colour(Layer::Aqi, None), NO_DATA);
        assert_eq!(colour(Layer::Aqi, Some(f64::NAN)), NO_DATA);
    }

    #[test]
    fn scales_have_their_breaks() {
        assert_eq!(colour(Layer::Complaints, Some(0.24)), COMPLAINT_COLOURS[0]);
        assert_eq!(colour(Layer::Complaints, Some(0.25)), COMPLAINT_COLOURS[1]);
        assert_eq!(colour(Layer::Complaints, Some(0.5)), COMPLAINT_COLOURS[2]);
        assert_eq!(colour(Layer::Complaints, Some(9.0)), COMPLAINT_COLOURS[4]);
        assert_eq!(colour(Layer::OnTime, Some(0.95)), ON_TIME_COLOURS[3]);
        assert_eq!(colour(Layer::OnTime, Some(0.79)), ON_TIME_COLOURS[0]);
        assert_eq!(colour(Layer::Flood, Some(2.0)), FLOOD_COLOURS[2]);
        assert_eq!(colour(Layer::Congestion, Some(4.6)), CONGESTION_COLOURS[5]);
        // Every legend has a no-data entry, and as many colours as the scale.
        assert_eq!(legend(Layer::Aqi, Lang::Vi).len(), 7);
        assert_eq!(
            legend(Layer::Flood, Lang::Vi).last().unwrap().1,
            "Không có trạm đo"
        );
        assert!(legend(Layer::Aqi, Lang::Vi)[2].1.contains("Kém"));
        assert_eq!(legend(Layer::Complaints, Lang::Vi)[0].1, "< 0,25");
        assert_eq!(legend(Layer::Complaints, Lang::Vi)[1].1, "0,25–0,5");
    }

    #[test]
    fn text_contrast_follows_the_fill() {
        assert!(dark_text_on("#ffff00"));
        assert!(dark_text_on("#00e400"));
        assert!(!dark_text_on("#7e0023"));
        assert!(!dark_text_on(NO_DATA));
    }

    fn gauge(area: &str, level: f64, alarm: u8) -> GaugeFigure {
        GaugeFigure {
            id: format!("g-{area}-{alarm}"),
            area: area.into(),
            water_level_cm: Some(level),
            rain_mmh: None,
            alarm,
            bd1_cm: 140.0,
            bd2_cm: 150.0,
            bd3_cm: 160.0,
            peak_today_cm: None,
            fresh: Default::default(),
        }
    }

    #[test]
    fn area_values_come_from_the_figures() {
        let mut s = LiveState::default();
        s.figures.insert(
            Domain::Flood,
            DomainFigures::Flood(FloodFigures {
                gauges: vec![gauge("q1", 120.0, 0), gauge("q1", 152.0, 2)],
                ..Default::default()
            }),
        );
        s.figures.insert(
            Domain::Complaint,
            DomainFigures::Complaint(ComplaintFigures {
                areas: vec![ComplaintCounts {
                    area: "q3".into(),
                    per_10k: Some(1.25),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        );
        assert_eq!(area_value(&s, Layer::Flood, "q1").unwrap().value, 2.0);
        assert_eq!(area_value(&s, Layer::Flood, "q3"), None, "no gauge");
        assert_eq!(area_value(&s, Layer::Complaints, "q3").unwrap().value, 1.25);
        assert_eq!(area_value(&s, Layer::Aqi, "q1"), None);
        assert_eq!(value_text(Layer::Flood, Lang::Vi, 2.0), "BĐ2");
        assert_eq!(value_text(Layer::Complaints, Lang::Vi, 1.26), "1,3");
    }
}
