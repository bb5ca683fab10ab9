//! The six tiles, one per domain: traffic, air quality, flooding, complaints (1022), public
//! services and the system's health.
//!
//! Each tile is a frame (title, data age, stale state) around its headline figures; on the
//! console it also shows its charts ([`TrafficDetail`], ...), which the wall shows large in
//! its rotating panel. Every figure comes from the live state (`LiveState::figures`).

use ioc_protocol::Domain;
use ioc_protocol::live::{ComplaintCounts, ServiceCounts, SystemFigures};
use leptos::prelude::*;

use crate::city::use_city;
use crate::i18n::{
    Lang, Word, aqi_band, category_name, channel_name, congestion_name, dec, incident_name, int,
    pct, pollutant_name, t, updated_ago, use_lang,
};
use crate::layers::{Layer, colour};
use crate::live::{Live, LiveState};
use crate::svg::{Bar, Bars, Donut, Gauge, GaugeView, alarm_colour};
use crate::{hcmc_clock, use_clock};

/// How the data behind a tile stands: its newest time and whether it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fresh {
    pub newest: i64,
    pub stale: bool,
}

/// The freshness of a domain's tile.
pub fn fresh(state: &LiveState, domain: Domain) -> Fresh {
    let from = |f: &ioc_protocol::Freshness| Fresh {
        newest: f.newest_ts,
        stale: f.stale,
    };
    let f = match domain {
        Domain::Traffic => state
            .traffic()
            .and_then(|f| f.city.as_ref())
            .map(|c| from(&c.fresh)),
        Domain::Env => state
            .env()
            .and_then(|f| f.city.as_ref())
            .map(|c| from(&c.fresh)),
        Domain::Flood => state.flood().map(|f| from(&f.fresh)),
        Domain::Complaint => state.complaints().map(|f| from(&f.fresh)),
        Domain::Service => state.services().map(|f| from(&f.fresh)),
        Domain::System => {
            let platforms = state.services().map_or(0, |s| {
                s.platforms
                    .iter()
                    .map(|p| p.fresh.newest_ts)
                    .max()
                    .unwrap_or(0)
            });
            Some(Fresh {
                newest: platforms.max(state.newest(Domain::System)),
                stale: false,
            })
        }
    };
    // Before the figures come, the area statistics say as much.
    let f = f.unwrap_or_default();
    Fresh {
        newest: f.newest.max(state.newest(domain)),
        stale: f.stale,
    }
}

/// The text of a tile's age: "Cập nhật 12 giây trước", "Dữ liệu cũ · ..." or "Chưa có dữ liệu".
pub fn age_line(lang: Lang, f: Fresh, now: i64) -> String {
    if f.newest <= 0 {
        t(lang, Word::NoData).to_owned()
    } else if f.stale {
        format!(
            "{} · {}",
            t(lang, Word::StaleData),
            updated_ago(lang, now - f.newest)
        )
    } else {
        updated_ago(lang, now - f.newest)
    }
}

/// A tile's frame: its title, data age and stale state, around its content.
#[component]
pub fn TileFrame(
    /// `traffic`, `env`, ...: the tile's `data-testid` is `tile-{code}`.
    code: &'static str,
    title: Word,
    domain: Domain,
    children: Children,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let f = Memo::new(move |_| live.state.with(|s| fresh(s, domain)));
    let now = move || live.state.with(|s| s.server_now(clock.0.get()));
    view! {
        <section
            class=format!("tile tile-{code}")
            id=format!("tile-{code}")
            data-testid=format!("tile-{code}")
            data-newest=move || f.get().newest
            class:stale=move || f.get().stale
        >
            <header>
                <h2>{move || t(lang.get(), title)}</h2>
                <span class="tile-age" data-testid="tile-age">{move || age_line(lang.get(), f.get(), now())}</span>
            </header>
            {children()}
        </section>
    }
}

/// A headline figure: a big value, its unit and its label.
#[component]
pub fn Kpi(
    /// Its `data-field`.
    field: &'static str,
    #[prop(into)] label: Signal<String>,
    #[prop(into)] value: Signal<String>,
    /// A CSS class for the value (a band's colour).
    #[prop(into, optional)]
    tone: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="kpi">
            <span class=move || format!("kpi-value {}", tone.get()) data-field=field>{move || value.get()}</span>
            <span class="kpi-label">{move || label.get()}</span>
        </div>
    }
}

/// The `n` items with the highest `value`, highest first (ties in their order), with it;
/// items without one are left out.
fn highest<T>(items: &[T], value: impl Fn(&T) -> Option<f64>, n: usize) -> Vec<(&T, f64)> {
    let mut v: Vec<(&T, f64)> = items
        .iter()
        .filter_map(|i| value(i).map(|v| (i, v)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(n);
    v
}

/// A word of the screen as a label, following the language.
fn label(w: Word) -> Signal<String> {
    let lang = use_lang();
    Signal::derive(move || t(lang.get(), w).to_owned())
}

/// A figure or a dash.
fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".to_owned())
}

// --- traffic ------------------------------------------------------------------------------

/// Traffic: the city's mean speed and congestion, incidents; on the console, the details and
/// the areas' table.
#[component]
pub fn TrafficTile(
    /// The wall's card: headline figures only.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = move || {
        live.state
            .with(|s| s.traffic().and_then(|f| f.city.clone()))
    };
    let speed = Signal::derive(move || {
        or_dash(
            city()
                .and_then(|c| c.speed_kmh)
                .map(|v| dec(lang.get(), v, 1)),
        )
    });
    let level = move || city().and_then(|c| c.congestion);
    let congestion = Signal::derive(move || or_dash(level().map(|v| dec(lang.get(), v, 1))));
    let congestion_label = Signal::derive(move || {
        let l = lang.get();
        match level() {
            Some(v) => format!("{} · {}", t(l, Word::Congestion), congestion_name(l, v)),
            None => t(l, Word::Congestion).to_owned(),
        }
    });
    let incidents = Signal::derive(move || {
        int(
            lang.get(),
            live.state
                .with(|s| s.traffic().map_or(0, |f| f.incidents.len())) as u64,
        )
    });
    view! {
        <TileFrame code="traffic" title=Word::TrafficTitle domain=Domain::Traffic>
            <div class="kpis">
                <Kpi field="speed_kmh" label=Signal::derive(move || format!("{} (km/h)", t(lang.get(), Word::AverageSpeed))) value=speed />
                <Kpi field="congestion" label=congestion_label value=congestion
                    tone=Signal::derive(move || format!("level-text-{}", level().map_or(0, |v| v.round() as i64))) />
                <Kpi field="incidents" label=label(Word::Incidents) value=incidents />
            </div>
            {(!compact).then(|| view! {
                <TrafficDetail />
                <crate::tiles::TrafficTable />
            })}
        </TileFrame>
    }
}

/// The worst corridors and the open incidents.
#[component]
pub fn TrafficDetail(#[prop(optional)] large: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let hotspots = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.traffic() else {
                return Vec::new();
            };
            f.hotspots
                .iter()
                .filter_map(|id| f.corridors.iter().find(|c| &c.id == id))
                .map(|c| {
                    let name = city.name(|m| &m.corridors, &c.id, l);
                    let level = c.congestion.unwrap_or(0.0);
                    Bar {
                        key: c.id.clone(),
                        label: name,
                        value: level,
                        text: format!(
                            "{} km/h · {}",
                            or_dash(c.speed_kmh.map(|v| dec(l, v, 0))),
                            congestion_name(l, level)
                        ),
                        colour: colour(Layer::Congestion, Some(level)),
                    }
                })
                .collect()
        })
    });
    let areas = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.traffic() else {
                return Vec::new();
            };
            highest(&f.areas, |a| a.congestion, 8)
                .into_iter()
                .map(|(a, level)| Bar {
                    key: a.area.clone(),
                    label: area_name(s, &a.area, l),
                    value: level,
                    text: dec(l, level, 1),
                    colour: colour(Layer::Congestion, Some(level)),
                })
                .collect()
        })
    });
    let incidents = move || {
        let l = lang.get();
        live.state.with(|s| {
            s.traffic().map_or(Vec::new(), |f| {
                f.incidents
                    .iter()
                    .map(|i| {
                        let road = city.name(|m| &m.corridors, &i.corridor, l);
                        (
                            i.corridor.clone(),
                            incident_name(l, &i.kind),
                            road,
                            hcmc_clock(i.since as f64)[..5].to_owned(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    view! {
        <div class=if large { "detail detail-large" } else { "detail" }>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::Hotspots)}</h3>
                <Bars bars=hotspots max=5.0 />
            </div>
            {large.then(|| view! {
                <div class="detail-block">
                    <h3>{move || format!("{} · {}", t(lang.get(), Word::Congestion), t(lang.get(), Word::ByArea))}</h3>
                    <Bars bars=areas max=5.0 />
                </div>
            })}
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::Incidents)}</h3>
                <ul class="incidents" data-testid="incidents">
                    {move || {
                        let list = incidents();
                        if list.is_empty() {
                            view! { <li class="none">{t(lang.get(), Word::NoIncident)}</li> }.into_any()
                        } else {
                            list.into_iter()
                                .map(|(id, kind, road, since)| view! {
                                    <li data-key=id><span class="incident-kind">{kind}</span>" "{road}<span class="since">{since}</span></li>
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </ul>
            </div>
        </div>
    }
}

/// An agency's name, with the usual abbreviations of a crowded screen: "UBND Quận 1" for
/// "Ủy ban nhân dân Quận 1", "TP." for "Thành phố".
fn agency_name(city: crate::city::City, code: &str, lang: Lang) -> String {
    let full = city.name(|m| &m.agencies, code, lang);
    abbreviate(&full)
}

pub fn abbreviate(name: &str) -> String {
    name.replace("Ủy ban nhân dân ", "UBND ")
        .replace("Uỷ ban nhân dân ", "UBND ")
        .replace("People's Committee of ", "PC ")
        .replace(" Thành phố Hồ Chí Minh", " TP.HCM")
        .replace(" Thành phố", " TP.")
}

/// An area's name in `lang`, the code itself when unknown.
pub(crate) fn area_name(s: &LiveState, code: &str, lang: Lang) -> String {
    s.areas.iter().find(|a| a.code == code).map_or_else(
        || code.to_owned(),
        |a| {
            if lang == Lang::Vi {
                a.name_vi.clone()
            } else {
                a.name_en.clone()
            }
        },
    )
}

// --- air quality --------------------------------------------------------------------------

/// The city's air: the worst official VN_AQI, or the sensors' own before it is known.
fn city_aqi(s: &LiveState) -> Option<(f64, bool)> {
    let official = s.env().and_then(|e| e.city.as_ref()).and_then(|c| c.aqi);
    if let Some(v) = official {
        return Some((f64::from(v), true));
    }
    s.stats
        .values()
        .filter(|st| st.domain == Domain::Env)
        .filter_map(|st| st.fields.get("aqi").map(|f| f.max))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        .map(|v| (v, false))
}

/// Air quality: the city's index and band, PM2.5; on the console, the areas' table.
#[component]
pub fn EnvTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let aqi = move || live.state.with(city_aqi);
    let value = Signal::derive(move || or_dash(aqi().map(|(v, _)| format!("{v:.0}"))));
    let tone = Signal::derive(move || {
        aqi()
            .map_or("aqi-none", |(v, _)| aqi_band(Lang::En, v).0)
            .to_owned()
    });
    let aqi_label = Signal::derive(move || {
        let l = lang.get();
        match aqi() {
            Some((v, false)) => format!(
                "VN_AQI · {} ({})",
                aqi_band(l, v).1,
                t(l, Word::SensorValue)
            ),
            Some((v, true)) => format!("VN_AQI · {}", aqi_band(l, v).1),
            None => "VN_AQI".to_owned(),
        }
    });
    let pm = Signal::derive(move || {
        or_dash(
            live.state
                .with(|s| {
                    s.env()
                        .and_then(|e| e.city.as_ref())
                        .and_then(|c| c.pm25_ugm3)
                })
                .map(|v| dec(lang.get(), v, 1)),
        )
    });
    let stations = Signal::derive(move || {
        int(
            lang.get(),
            u64::from(live.state.with(|s| {
                s.env()
                    .and_then(|e| e.city.as_ref())
                    .map_or(0, |c| c.stations)
            })),
        )
    });
    view! {
        <TileFrame code="env" title=Word::AirQualityTitle domain=Domain::Env>
            <div class="kpis">
                <Kpi field="city_aqi" label=aqi_label value=value tone=tone />
                <Kpi field="city_pm25" label=Signal::derive(move || format!("{} (µg/m³)", t(lang.get(), Word::Pm25))) value=pm />
                {(!compact).then(|| view! {
                    <Kpi field="stations" label=label(Word::Stations) value=stations />
                })}
            </div>
            {(!compact).then(|| view! { <crate::tiles::EnvTable /> })}
        </TileFrame>
    }
}

/// Areas by VN_AQI, worst first, in their band's colour; the worst stations.
#[component]
pub fn EnvDetail() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let areas = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            highest(
                &s.areas,
                |a| crate::layers::area_value(s, Layer::Aqi, &a.code).map(|x| x.value),
                11,
            )
            .into_iter()
            .map(|(a, v)| Bar {
                label: area_name(s, &a.code, l),
                key: a.code.clone(),
                value: v,
                text: format!("{v:.0} · {}", aqi_band(l, v).1),
                colour: colour(Layer::Aqi, Some(v)),
            })
            .collect()
        })
    });
    let stations = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(e) = s.env() else { return Vec::new() };
            highest(&e.stations, |st| st.aqi.map(f64::from), 6)
                .into_iter()
                .map(|(st, a)| {
                    let name = city.name(|m| &m.stations, &st.id, l);
                    let trend = st.pm25_trend.map_or(String::new(), |d| {
                        if d > 0.5 {
                            " ↑".into()
                        } else if d < -0.5 {
                            " ↓".into()
                        } else {
                            " →".into()
                        }
                    });
                    Bar {
                        key: st.id.clone(),
                        label: name,
                        value: a,
                        text: format!(
                            "{a:.0} · {}{trend}",
                            st.dominant.as_deref().map(pollutant_name).unwrap_or("")
                        ),
                        colour: colour(Layer::Aqi, Some(a)),
                    }
                })
                .collect()
        })
    });
    view! {
        <div class="detail detail-large">
            <div class="detail-block">
                <h3>{move || format!("VN_AQI · {}", t(lang.get(), Word::ByArea))}</h3>
                <Bars bars=areas max=300.0 />
            </div>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::WorstStation)}</h3>
                <Bars bars=stations max=300.0 />
            </div>
        </div>
    }
}

// --- flooding -----------------------------------------------------------------------------

/// Flooding: the highest alarm level, gauges at an alarm level, the heaviest rain; the gauges.
#[component]
pub fn FloodTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let f = move || {
        live.state.with(|s| {
            s.flood()
                .map(|f| (f.max_alarm, f.at_alarm, f.max_rain_mmh, f.gauges.is_empty()))
        })
    };
    let alarm = Signal::derive(move || {
        or_dash(f().filter(|x| !x.3).map(|(a, ..)| match a {
            0 => t(lang.get(), Word::BelowAlarm).to_owned(),
            n if lang.get() == Lang::Vi => format!("BĐ{n}"),
            n => format!("Alarm {n}"),
        }))
    });
    let tone = Signal::derive(move || match f().map_or(0, |x| x.0) {
        0 => "alarm-0 text".to_owned(),
        n => format!("alarm-{n}"),
    });
    let at = Signal::derive(move || or_dash(f().map(|x| int(lang.get(), u64::from(x.1)))));
    let rain =
        Signal::derive(move || or_dash(f().and_then(|x| x.2).map(|v| dec(lang.get(), v, 1))));
    view! {
        <TileFrame code="flood" title=if compact { Word::FloodingShort } else { Word::Flooding } domain=Domain::Flood>
            <div class="kpis">
                <Kpi field="max_alarm" label=label(Word::HighestAlarm) value=alarm tone=tone />
                <Kpi field="at_alarm" label=label(Word::GaugesAtAlarm) value=at />
                <Kpi field="max_rain" label=label(Word::RainMmh) value=rain />
            </div>
            {(!compact).then(|| view! { <FloodDetail /> })}
        </TileFrame>
    }
}

/// Every gauge against its alarm levels.
#[component]
pub fn FloodDetail() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let gauges = move || {
        let l = lang.get();
        live.state.with(|s| {
            s.flood().map_or(Vec::new(), |f| {
                f.gauges
                    .iter()
                    .map(|g| GaugeView {
                        key: g.id.clone(),
                        label: city.name(|m| &m.gauges, &g.id, l),
                        level_cm: g.water_level_cm,
                        bd: [g.bd1_cm, g.bd2_cm, g.bd3_cm],
                        alarm: g.alarm,
                        stale: g.fresh.stale,
                        text: or_dash(g.water_level_cm.map(|v| format!("{} cm", dec(l, v, 0)))),
                        note: [
                            g.peak_today_cm
                                .map(|v| format!("{} {} cm", t(l, Word::PeakToday), dec(l, v, 0))),
                            g.rain_mmh
                                .map(|v| format!("{} {} mm/h", t(l, Word::Rain), dec(l, v, 1))),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    view! {
        <div class="gauges" data-testid="gauges">
            {move || gauges().into_iter().map(|g| view! { <Gauge g=g /> }).collect_view()}
        </div>
        <div class="gauge-legend">
            {move || {
                let vi = lang.get() == Lang::Vi;
                (1..=3u8)
                    .map(|n| view! {
                        <span><span class="swatch line" style:background=alarm_colour(n)></span>
                        {if vi { format!("BĐ{n}") } else { format!("Alarm {n}") }}</span>
                    })
                    .collect_view()
            }}
        </div>
    }
}

// --- complaints ---------------------------------------------------------------------------

fn complaint_city(s: &LiveState) -> Option<ComplaintCounts> {
    s.complaints().map(|c| c.city.clone())
}

/// Complaints (1022) today: received, resolved, in progress, overdue, on time.
#[component]
pub fn ComplaintTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let c = move || live.state.with(complaint_city);
    let n = move |f: fn(&ComplaintCounts) -> u32| {
        Signal::derive(move || or_dash(c().map(|c| int(lang.get(), u64::from(f(&c))))))
    };
    let on_time = Signal::derive(move || {
        or_dash(c().and_then(|c| c.on_time_rate).map(|r| pct(lang.get(), r)))
    });
    view! {
        <TileFrame code="complaint" title=if compact { Word::ComplaintsShort } else { Word::Complaints } domain=Domain::Complaint>
            <div class="kpis">
                <Kpi field="received" label=Signal::derive(move || format!("{} · {}", t(lang.get(), Word::Received), t(lang.get(), Word::Today).to_lowercase())) value=n(|c| c.received) />
                {(!compact).then(|| view! { <Kpi field="resolved" label=label(Word::Resolved) value=n(|c| c.resolved) /> })}
                <Kpi field="in_progress" label=label(Word::InProgress) value=n(|c| c.in_progress) />
                <Kpi field="overdue" label=label(Word::Overdue) value=n(|c| c.overdue) tone=Signal::derive(move || if c().is_some_and(|c| c.overdue > 0) { "warn".to_owned() } else { String::new() }) />
                {(!compact).then(|| view! { <Kpi field="on_time" label=label(Word::OnTime) value=on_time /> })}
            </div>
            {(!compact).then(|| view! { <ComplaintDetail /> })}
        </TileFrame>
    }
}

const CHANNEL_COLOURS: [&str; 5] = ["#5cc8ff", "#3ecf8e", "#f5b83d", "#b07be0", "#93a3bf"];

/// By category (bars), by channel (donut), and the areas with the most per 10,000 people.
#[component]
pub fn ComplaintDetail(#[prop(optional)] large: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let categories = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(c) = s.complaints() else {
                return Vec::new();
            };
            let mut v: Vec<_> = c.by_category.iter().filter(|(_, n)| **n > 0).collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            v.into_iter()
                .take(if large { 8 } else { 6 })
                .map(|(k, n)| Bar {
                    key: k.clone(),
                    label: category_name(l, k),
                    value: f64::from(*n),
                    text: int(l, u64::from(*n)),
                    colour: "#5cc8ff",
                })
                .collect()
        })
    });
    let channels = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(c) = s.complaints() else {
                return Vec::new();
            };
            let total: u32 = c.by_channel.values().sum();
            c.by_channel
                .iter()
                .enumerate()
                .map(|(i, (k, n))| Bar {
                    key: k.clone(),
                    label: channel_name(l, k),
                    value: f64::from(*n),
                    text: if total > 0 {
                        format!(
                            "{} · {:.0}%",
                            int(l, u64::from(*n)),
                            f64::from(*n) * 100.0 / f64::from(total)
                        )
                    } else {
                        "0".into()
                    },
                    colour: CHANNEL_COLOURS[i.min(CHANNEL_COLOURS.len() - 1)],
                })
                .collect()
        })
    });
    let total = Signal::derive(move || {
        int(
            lang.get(),
            u64::from(
                live.state
                    .with(|s| s.complaints().map_or(0, |c| c.by_channel.values().sum())),
            ),
        )
    });
    let areas = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(c) = s.complaints() else {
                return Vec::new();
            };
            highest(&c.areas, |a| a.per_10k, 6)
                .into_iter()
                .map(|(a, p)| Bar {
                    key: a.area.clone(),
                    label: area_name(s, &a.area, l),
                    value: p,
                    text: format!(
                        "{} · {} {}",
                        dec(l, p, 1),
                        int(l, u64::from(a.overdue)),
                        t(l, Word::Overdue).to_lowercase()
                    ),
                    colour: colour(Layer::Complaints, Some(p)),
                })
                .collect()
        })
    });
    view! {
        <div class=if large { "detail detail-large" } else { "detail two" }>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::ByCategory)}</h3>
                <Bars bars=categories />
            </div>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::ByChannel)}</h3>
                <Donut slices=channels centre=total />
            </div>
            {large.then(|| view! {
                <div class="detail-block">
                    <h3>{move || t(lang.get(), Word::LayerComplaints)}</h3>
                    <Bars bars=areas />
                </div>
            })}
        </div>
    }
}

// --- public services ----------------------------------------------------------------------

fn service_city(s: &LiveState) -> Option<ServiceCounts> {
    s.services().map(|c| c.city.clone())
}

/// Online public services today: dossiers received and done, on time, filed online, open.
#[component]
pub fn ServiceTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let c = move || live.state.with(service_city);
    let n = move |f: fn(&ServiceCounts) -> u32| {
        Signal::derive(move || or_dash(c().map(|c| int(lang.get(), u64::from(f(&c))))))
    };
    let share = move |f: fn(&ServiceCounts) -> Option<f64>| {
        Signal::derive(move || or_dash(c().and_then(|c| f(&c)).map(|r| pct(lang.get(), r))))
    };
    let on_time_tone = Signal::derive(move || {
        match c().and_then(|c| c.on_time_rate) {
            Some(r) if r < 0.9 => "warn",
            Some(_) => "good",
            None => "",
        }
        .to_owned()
    });
    view! {
        <TileFrame code="service" title=Word::PublicServices domain=Domain::Service>
            <div class="kpis">
                <Kpi field="received" label=Signal::derive(move || format!("{} · {}", t(lang.get(), Word::Dossiers), t(lang.get(), Word::Today).to_lowercase())) value=n(|c| c.received) />
                {(!compact).then(|| view! { <Kpi field="done" label=label(Word::Done) value=n(|c| c.done) /> })}
                <Kpi field="on_time" label=label(Word::OnTime) value=share(|c| c.on_time_rate) tone=on_time_tone />
                {(!compact).then(|| view! {
                    <Kpi field="online_share" label=label(Word::OnlineShare) value=share(|c| c.online_share) />
                })}
                {(!compact).then(|| view! { <Kpi field="backlog" label=label(Word::Backlog) value=n(|c| c.backlog) /> })}
                <Kpi field="overdue" label=label(Word::Overdue) value=n(|c| c.overdue)
                    tone=Signal::derive(move || if c().is_some_and(|c| c.overdue > 0) { "warn".to_owned() } else { String::new() }) />
            </div>
            {(!compact).then(|| view! { <ServiceDetail /> })}
        </TileFrame>
    }
}

/// Agencies by on-time share (the busiest), and the open dossiers past their deadline.
#[component]
pub fn ServiceDetail(#[prop(optional)] large: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let agencies = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.services() else {
                return Vec::new();
            };
            let mut v: Vec<_> = f
                .agencies
                .iter()
                .filter(|a| a.on_time_rate.is_some())
                .collect();
            v.sort_by(|a, b| b.received.cmp(&a.received).then(a.key.cmp(&b.key)));
            v.truncate(if large { 10 } else { 6 });
            v.sort_by(|a, b| {
                a.on_time_rate
                    .unwrap_or(1.0)
                    .total_cmp(&b.on_time_rate.unwrap_or(1.0))
            });
            v.into_iter()
                .map(|a| {
                    let r = a.on_time_rate.unwrap_or(0.0);
                    Bar {
                        key: a.key.clone(),
                        label: agency_name(city, &a.key, l),
                        value: r,
                        text: format!(
                            "{} · {}/{}",
                            pct(l, r),
                            int(l, u64::from(a.done_on_time)),
                            int(l, u64::from(a.done))
                        ),
                        colour: colour(Layer::OnTime, Some(r)),
                    }
                })
                .collect()
        })
    });
    let busiest = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.services() else {
                return Vec::new();
            };
            let mut v: Vec<_> = f
                .agencies
                .iter()
                .filter(|a| a.received + a.backlog > 0)
                .collect();
            v.sort_by(|a, b| {
                b.received
                    .cmp(&a.received)
                    .then(b.backlog.cmp(&a.backlog))
                    .then(a.key.cmp(&b.key))
            });
            v.into_iter()
                .take(if large { 8 } else { 5 })
                .map(|a| Bar {
                    key: a.key.clone(),
                    label: agency_name(city, &a.key, l),
                    value: f64::from(a.received),
                    text: format!(
                        "{} · {}",
                        int(l, u64::from(a.received)),
                        int(l, u64::from(a.backlog))
                    ),
                    colour: "#5cc8ff",
                })
                .collect()
        })
    });
    let overdue = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.services() else {
                return Vec::new();
            };
            let mut v: Vec<_> = f.agencies.iter().filter(|a| a.overdue > 0).collect();
            v.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.key.cmp(&b.key)));
            v.into_iter()
                .take(6)
                .map(|a| Bar {
                    key: a.key.clone(),
                    label: agency_name(city, &a.key, l),
                    value: f64::from(a.overdue),
                    text: format!(
                        "{} / {}",
                        int(l, u64::from(a.overdue)),
                        int(l, u64::from(a.backlog))
                    ),
                    colour: "#ff7e00",
                })
                .collect()
        })
    });
    view! {
        <div class=if large { "detail detail-large" } else { "detail" }>
            <div class="detail-block">
                <h3>{move || format!("{} · {} ({})", t(lang.get(), Word::Agency), t(lang.get(), Word::ReceivedToday).to_lowercase(), t(lang.get(), Word::Backlog).to_lowercase())}</h3>
                <Bars bars=busiest />
            </div>
            <div class="detail-block">
                <h3>{move || format!("{} · {}", t(lang.get(), Word::OnTime), t(lang.get(), Word::Agency))}</h3>
                <Bars bars=agencies max=1.0 />
            </div>
            {large.then(|| view! {
                <div class="detail-block">
                    <h3>{move || format!("{} · {}", t(lang.get(), Word::Overdue), t(lang.get(), Word::Agency))}</h3>
                    <Bars bars=overdue />
                </div>
            })}
        </div>
    }
}

// --- system -------------------------------------------------------------------------------

/// The center's own health: sources online and offline, intake, screens, city platforms.
#[component]
pub fn SystemTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let sys = move || live.state.with(|s| s.system().cloned());
    let online = Signal::derive(move || {
        or_dash(sys().map(|s| {
            format!(
                "{} / {}",
                int(lang.get(), u64::from(s.sources_online)),
                int(lang.get(), u64::from(s.sources_online + s.sources_offline))
            )
        }))
    });
    let offline = Signal::derive(move || {
        or_dash(sys().map(|s| int(lang.get(), u64::from(s.sources_offline))))
    });
    let rate = Signal::derive(move || or_dash(sys().map(|s| dec(lang.get(), s.readings_per_s, 1))));
    let rejected =
        Signal::derive(move || or_dash(sys().map(|s| dec(lang.get(), s.rejected_per_s, 1))));
    let screens = Signal::derive(move || {
        or_dash(sys().map(|s| int(lang.get(), u64::from(s.websocket_clients))))
    });
    let lost = Signal::derive(move || or_dash(sys().map(|s| int(lang.get(), s.lost_messages))));
    let warn_if = move |bad: fn(&SystemFigures) -> bool| {
        Signal::derive(move || {
            if sys().is_some_and(|s| bad(&s)) {
                "warn".to_owned()
            } else {
                String::new()
            }
        })
    };
    // The intake's own parts, as a line of words: too long for a big figure.
    let broker = Signal::derive(move || {
        or_dash(sys().map(|s| {
            let w = if s.broker_connected {
                Word::Up
            } else {
                Word::Offline
            };
            t(lang.get(), w).to_owned()
        }))
    });
    let store = Signal::derive(move || {
        or_dash(sys().map(|s| match (s.store_writable, s.spool_batches) {
            (true, 0) => t(lang.get(), Word::Up).to_owned(),
            (_, n) => format!("{} ({})", t(lang.get(), Word::Spooling), int(lang.get(), n)),
        }))
    });
    let part = move |field: &'static str,
                     name: Word,
                     value: Signal<String>,
                     bad: fn(&SystemFigures) -> bool| {
        view! {
            <span class="sys-part" class:warn=move || sys().is_some_and(|s| bad(&s)) data-field=field>
                <span class="sys-part-name">{move || t(lang.get(), name)}</span>
                " "
                <span class="sys-part-state">{move || value.get()}</span>
            </span>
        }
    };
    view! {
        <TileFrame code="system" title=Word::SystemHealth domain=Domain::System>
            <div class="kpis">
                <Kpi field="sources_online" label=label(Word::SourcesOnline) value=online />
                <Kpi field="sources_offline" label=label(Word::SourcesOffline) value=offline tone=warn_if(|s| s.sources_offline > 0) />
                <Kpi field="readings_per_s" label=label(Word::ReadingsPerS) value=rate />
                {(!compact).then(|| view! {
                    <Kpi field="rejected_per_s" label=label(Word::RejectedPerS) value=rejected />
                    <Kpi field="websocket_clients" label=label(Word::Screens) value=screens />
                    <Kpi field="lost_messages" label=label(Word::LostMessages) value=lost tone=warn_if(|s| s.lost_messages > 0) />
                })}
            </div>
            {(!compact).then(|| view! {
                <div class="sys-parts">
                    {part("broker_connected", Word::Broker, broker, |s| !s.broker_connected)}
                    {part("store_writable", Word::DataStore, store, |s| !s.store_writable || s.spool_batches > 0)}
                </div>
            })}
            {(!compact).then(|| view! { <SystemDetail /> })}
        </TileFrame>
    }
}

/// The city's platforms (up, latency, availability today) and the sources offline.
#[component]
pub fn SystemDetail() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let platforms = move || {
        let l = lang.get();
        live.state.with(|s| {
            s.services().map_or(Vec::new(), |f| {
                f.platforms
                    .iter()
                    .map(|p| {
                        let name = city.name(|m| &m.platforms, &p.id, l);
                        let up = p.up.filter(|_| !p.fresh.stale);
                        (p.id.clone(), name, up, p.latency_ms, p.availability_today)
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let offline = move || {
        live.state.with(|s| {
            s.system().map_or(Vec::new(), |f| {
                f.offline.iter().take(6).cloned().collect::<Vec<_>>()
            })
        })
    };
    view! {
        <div class="detail">
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::Platforms)}</h3>
                <table class="platforms">
                    <tbody>
                        {move || {
                            let l = lang.get();
                            platforms()
                                .into_iter()
                                .map(|(id, name, up, latency, avail)| {
                                    let (class, word) = match up {
                                        Some(true) => ("up", Word::Up),
                                        Some(false) => ("down", Word::Down),
                                        None => ("unknown", Word::NoData),
                                    };
                                    view! {
                                        <tr data-key=id>
                                            <td class="platform-name">{name}</td>
                                            <td class=format!("platform-state {class}")>{t(l, word)}</td>
                                            <td class="num">{or_dash(latency.map(|v| format!("{} ms", dec(l, v, 0))))}</td>
                                            <td class="num" title=t(l, Word::Availability)>{or_dash(avail.map(|a| pct(l, a)))}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::SourcesOffline)}</h3>
                <ul class="offline-list">
                    {move || {
                        let list = offline();
                        if list.is_empty() {
                            view! { <li class="none">"—"</li> }.into_any()
                        } else {
                            list.into_iter().map(|s| view! { <li>{s}</li> }).collect_view().into_any()
                        }
                    }}
                </ul>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_say_stale_or_nothing() {
        let f = Fresh {
            newest: 1_000,
            stale: false,
        };
        assert_eq!(age_line(Lang::Vi, f, 13_500), "Cập nhật 12 giây trước");
        assert_eq!(
            age_line(Lang::Vi, Fresh { stale: true, ..f }, 601_000),
            "Dữ liệu cũ · Cập nhật 10 phút trước"
        );
        assert_eq!(age_line(Lang::En, Fresh::default(), 5), "No data yet");
    }

    #[test]
    fn highest_first_without_the_unknown() {
        let v = [Some(1.0), None, Some(3.0), Some(2.0), Some(3.0)];
        let top: Vec<f64> = highest(&v, |x| *x, 3).into_iter().map(|(_, v)| v).collect();
        assert_eq!(top, [3.0, 3.0, 2.0]);
        assert!(highest(&v, |_| None, 3).is_empty());
    }

    #[test]
    fn agency_names_are_abbreviated() {
        assert_eq!(abbreviate("Ủy ban nhân dân Quận 1"), "UBND Quận 1");
        assert_eq!(abbreviate("Công an Thành phố"), "Công an TP.");
        assert_eq!(abbreviate("Sở Tư pháp"), "Sở Tư pháp");
    }

    #[test]
    fn the_system_tile_is_as_fresh_as_the_newest_platform_reading() {
        let s = LiveState::default();
        assert_eq!(fresh(&s, Domain::System), Fresh::default());
    }
}
