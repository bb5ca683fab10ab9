//! The tiles. Each shows how old its data is, and turns visibly stale when its sources stop.

use ioc_protocol::{AreaStat, Domain};
use leptos::prelude::*;

use crate::i18n::{Lang, Word, aqi_band, congestion_name, t, updated_ago, use_lang};
use crate::live::{Live, LiveState};
use crate::use_clock;

/// One area's row, as a tile shows it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    code: String,
    name: String,
    stat: Option<AreaStat>,
    age_ms: i64,
    stale: bool,
}

/// The rows of a domain, one per area of the city, with ages on the server's clock.
fn rows(state: &LiveState, lang: Lang, domain: Domain, now_browser: f64) -> Vec<Row> {
    let now = now_browser + state.clock_offset_ms;
    let limit_ms = i64::from(state.stale_after_s.get(&domain).copied().unwrap_or(600)) * 1000;
    state
        .areas
        .iter()
        .map(|a| {
            let stat = state.stat(domain, &a.code).cloned();
            let age_ms = stat.as_ref().map_or(0, |s| now as i64 - s.newest_ts);
            Row {
                code: a.code.clone(),
                name: if lang == Lang::Vi {
                    a.name_vi.clone()
                } else {
                    a.name_en.clone()
                },
                stale: stat.as_ref().is_some_and(|s| s.stale || age_ms > limit_ms),
                stat,
                age_ms,
            }
        })
        .collect()
}

fn field(row: &Row, name: &str) -> Option<f64> {
    row.stat.as_ref()?.fields.get(name).map(|f| f.mean)
}

/// The newest data of a tile: its age, or nothing yet.
fn tile_age(lang: Lang, rows: &[Row]) -> String {
    match rows
        .iter()
        .filter(|r| r.stat.is_some())
        .map(|r| r.age_ms)
        .min()
    {
        Some(age) => updated_ago(lang, age),
        None => t(lang, Word::NoData).to_owned(),
    }
}

/// The age cell of a row: "Cập nhật 12 giây trước", or "Dữ liệu cũ" when stale.
fn age_cell(lang: Lang, row: &Row) -> impl IntoView + use<> {
    let text = if row.stat.is_none() {
        "—".to_owned()
    } else if row.stale {
        format!(
            "{} · {}",
            t(lang, Word::StaleData),
            updated_ago(lang, row.age_ms)
        )
    } else {
        updated_ago(lang, row.age_ms)
    };
    view! { <td class="age" data-field="age">{text}</td> }
}

/// Air quality by area: VN_AQI with its band and colour, and PM2.5. Worst first.
#[component]
pub fn EnvironmentTile() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let rows = Memo::new(move |_| {
        let mut rows = live
            .state
            .with(|s| rows(s, lang.get(), Domain::Env, clock.0.get()));
        rows.sort_by(|a, b| {
            let key = |r: &Row| field(r, "aqi").unwrap_or(-1.0);
            key(b).total_cmp(&key(a)).then_with(|| a.code.cmp(&b.code))
        });
        rows
    });
    view! {
        <section class="tile" id="tile-env" data-testid="tile-env">
            <header>
                <h2>{move || t(lang.get(), Word::Environment)} " · " {move || t(lang.get(), Word::AirQuality)}</h2>
                <span class="tile-age" data-testid="tile-age">{move || tile_age(lang.get(), &rows.get())}</span>
            </header>
            <table>
                <thead>
                    <tr>
                        <th>{move || t(lang.get(), Word::Area)}</th>
                        <th class="num">"VN_AQI"</th>
                        <th class="num">"PM2.5 (µg/m³)"</th>
                        <th class="age"></th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let l = lang.get();
                        rows.get()
                            .into_iter()
                            .map(|r| {
                                let aqi = field(&r, "aqi");
                                let (band_class, band) = aqi.map(|v| aqi_band(l, v)).unwrap_or(("aqi-none", ""));
                                let pm25 = field(&r, "pm25_ugm3").map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
                                view! {
                                    <tr data-area=r.code.clone() class:stale=r.stale class:empty=r.stat.is_none()>
                                        <td class="area">{r.name.clone()}</td>
                                        <td class="num">
                                            <span class=format!("aqi {band_class}") data-field="aqi">
                                                {aqi.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into())}
                                            </span>
                                            <span class="band">{band}</span>
                                        </td>
                                        <td class="num" data-field="pm25_ugm3">{pm25}</td>
                                        {age_cell(l, &r)}
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}

/// Average speed and congestion by area. Most congested first.
#[component]
pub fn TrafficTile() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let rows = Memo::new(move |_| {
        let mut rows = live
            .state
            .with(|s| rows(s, lang.get(), Domain::Traffic, clock.0.get()));
        rows.sort_by(|a, b| {
            let key = |r: &Row| field(r, "congestion").unwrap_or(-1.0);
            key(b).total_cmp(&key(a)).then_with(|| a.code.cmp(&b.code))
        });
        rows
    });
    view! {
        <section class="tile" id="tile-traffic" data-testid="tile-traffic">
            <header>
                <h2>{move || t(lang.get(), Word::Traffic)}</h2>
                <span class="tile-age" data-testid="tile-age">{move || tile_age(lang.get(), &rows.get())}</span>
            </header>
            <table>
                <thead>
                    <tr>
                        <th>{move || t(lang.get(), Word::Area)}</th>
                        <th class="num">{move || t(lang.get(), Word::AverageSpeed)} " (km/h)"</th>
                        <th>{move || t(lang.get(), Word::Congestion)}</th>
                        <th class="age"></th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let l = lang.get();
                        rows.get()
                            .into_iter()
                            .map(|r| {
                                let speed = field(&r, "speed_kmh").map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
                                let level = field(&r, "congestion");
                                let pct = level.map_or(0.0, |v| (v / 5.0 * 100.0).clamp(0.0, 100.0));
                                let lvl_class = format!("level level-{}", level.map_or(0, |v| v.round() as i64));
                                view! {
                                    <tr data-area=r.code.clone() class:stale=r.stale class:empty=r.stat.is_none()>
                                        <td class="area">{r.name.clone()}</td>
                                        <td class="num" data-field="speed_kmh">{speed}</td>
                                        <td class="congestion">
                                            <span class="bar"><span class=lvl_class style:width=format!("{pct:.0}%")></span></span>
                                            <span class="level-text" data-field="congestion">
                                                {level.map(|v| format!("{v:.1} · {}", congestion_name(l, v))).unwrap_or_else(|| "—".into())}
                                            </span>
                                        </td>
                                        {age_cell(l, &r)}
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}
