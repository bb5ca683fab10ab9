//! The system tile: the center's own health, sources online and offline, intake, screens,
//! the broker and the store; the city's platforms and the sources offline.

use ioc_protocol::Domain;
use ioc_protocol::live::SystemFigures;
use leptos::prelude::*;

use super::frame::{Kpi, TileFrame, label, or_dash};
use crate::city::use_city;
use crate::i18n::{Word, dec, int, pct, t, use_lang};
use crate::live::Live;

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
