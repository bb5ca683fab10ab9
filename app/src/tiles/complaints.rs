//! The complaints tile (1022): today's complaints received, resolved, in progress, overdue
//! and on time; by category, by channel, and the areas with the most per 10,000 people.

use ioc_protocol::Domain;
use ioc_protocol::live::ComplaintCounts;
use leptos::prelude::*;

use super::frame::{Kpi, TileFrame, highest, label, or_dash};
use crate::charts::svg::{Bar, Bars, Donut};
use crate::i18n::{Word, category_name, channel_name, dec, int, pct, t, use_lang};
use crate::live::{Live, LiveState};
use crate::map::layers::{Layer, colour};

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
                    label: s.area_name(&a.area, l),
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
