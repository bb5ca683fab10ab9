//! The flooding tile: the highest alarm level, the gauges at an alarm level and the heaviest
//! rain; every gauge against its alarm levels (BĐ1, BĐ2, BĐ3).

use ioc_protocol::Domain;
use leptos::prelude::*;

use super::frame::{Kpi, TileFrame, label, or_dash};
use crate::charts::svg::{Gauge, GaugeView, alarm_colour};
use crate::city::use_city;
use crate::i18n::{Lang, Word, dec, int, t, use_lang};
use crate::live::Live;

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
