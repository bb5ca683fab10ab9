//! The public-services tile: today's dossiers received and done, on time, filed online, the
//! backlog and the overdue; the agencies by on-time share, the busiest, and the overdue.

use ioc_protocol::Domain;
use ioc_protocol::live::ServiceCounts;
use leptos::prelude::*;

use super::frame::{Kpi, TileFrame, label, or_dash};
use crate::charts::svg::{Bar, Bars};
use crate::city::{City, use_city};
use crate::i18n::{Lang, Word, int, pct, t, use_lang};
use crate::live::{Live, LiveState};
use crate::map::layers::{Layer, colour};

/// An agency's name, with the usual abbreviations of a crowded screen: "UBND Quận 1" for
/// "Ủy ban nhân dân Quận 1", "TP." for "Thành phố".
fn agency_name(city: City, code: &str, lang: Lang) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_names_are_abbreviated() {
        assert_eq!(abbreviate("Ủy ban nhân dân Quận 1"), "UBND Quận 1");
        assert_eq!(abbreviate("Công an Thành phố"), "Công an TP.");
        assert_eq!(abbreviate("Sở Tư pháp"), "Sở Tư pháp");
    }
}
