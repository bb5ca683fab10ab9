//! The operations center's screen, client-side rendered with Leptos.
//!
//! Two screens, one app: the officer console at `/` and the wall display at `/wall` ([`wall`]).
//!
//! - [`live`]: the websocket connection and the live state; [`city`]: the city map's names,
//!   grid and outlines (`GET /api/v1/city`).
//! - [`i18n`]: the words on the screen, Vietnamese first, and numbers in each language.
//! - [`domains`]: the six tiles (traffic, air, flooding, complaints, public services, system)
//!   and their charts ([`svg`]); [`tiles`]: the areas' tables of the air and traffic tiles,
//!   with a sparkline of the last hour per area ([`spark`]).
//! - [`map`]: the city's map, coloured by a layer ([`layers`]).
//! - [`drilldown`]: an area's history charts (1 h, 24 h, 7 days), opened from a tile or the map.
//! - [`history`]: history queries to the server; [`charts`]: chart geometry, pure functions.
//!
//! Times on screen are in Asia/Ho_Chi_Minh (UTC+7, no daylight saving), whatever the
//! browser's own time zone.

pub mod charts;
pub mod city;
pub mod domains;
pub mod drilldown;
pub mod history;
pub mod i18n;
pub mod layers;
pub mod live;
pub mod map;
pub mod spark;
pub mod svg;
pub mod tiles;
pub mod wall;

use leptos::prelude::*;

use crate::i18n::{Lang, Word, t, use_lang};
use crate::live::{Connection, Live};

/// Ho Chi Minh City is UTC+7 all year.
const HCMC_OFFSET_MS: f64 = 7.0 * 3_600_000.0;

/// `HH:MM:SS` of a time (epoch ms) in Asia/Ho_Chi_Minh.
pub fn hcmc_clock(epoch_ms: f64) -> String {
    let local_s = ((epoch_ms + HCMC_OFFSET_MS) / 1000.0).floor() as i64;
    let day_s = local_s.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        day_s / 3600,
        (day_s / 60) % 60,
        day_s % 60
    )
}

/// The current time on the server's clock (browser ms + offset), ticking every second.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub RwSignal<f64>);

pub fn use_clock() -> Clock {
    expect_context::<Clock>()
}

/// Whether the page is the wall display.
fn on_wall() -> bool {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .is_some_and(|p| p.trim_end_matches('/') == "/wall")
}

/// The whole app: the wall at `/wall`, the console elsewhere.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(Lang::remembered());
    lang.get_untracked().remember();
    provide_context(lang);
    let live = live::connect();
    provide_context(live);
    let clock = Clock(RwSignal::new(js_sys::Date::now()));
    provide_context(clock);
    provide_context(city::load());
    provide_context(drilldown::Drill(RwSignal::new(None)));
    let _ = set_interval_with_handle(
        move || clock.0.set(js_sys::Date::now()),
        std::time::Duration::from_millis(1000),
    );

    if on_wall() {
        view! { <wall::Wall /> }.into_any()
    } else {
        view! { <Console /> }.into_any()
    }
}

/// The officer console: the map, every tile, and an area's drill-down when one is open.
#[component]
fn Console() -> impl IntoView {
    let lang = use_lang();
    let layer = RwSignal::new(layers::Layer::Aqi);
    view! {
        <div class="ioc console">
            <Header />
            <main class="console-grid">
                <div class="console-col">
                    <section class="tile tile-map" data-testid="tile-map">
                        <header><h2>{move || t(lang.get(), Word::Map)}</h2></header>
                        <map::CityMapView layer=layer chooser=true />
                    </section>
                    <domains::FloodTile />
                    <domains::SystemTile />
                </div>
                <div class="console-col">
                    <domains::EnvTile />
                    <domains::ComplaintTile />
                </div>
                <div class="console-col">
                    <domains::TrafficTile />
                    <domains::ServiceTile />
                </div>
            </main>
            <drilldown::DrillDown />
        </div>
    }
}

/// Title, city, clock in Asia/Ho_Chi_Minh, connection state and the language switch.
#[component]
pub fn Header() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let city = move || {
        live.state.with(|s| match lang.get() {
            Lang::Vi => s.city_vi.clone(),
            Lang::En => s.city_en.clone(),
        })
    };
    let now_server = move || clock.0.get() + live.state.with(|s| s.clock_offset_ms);
    let conn = move || {
        let l = lang.get();
        match live.connection.get() {
            Connection::Live => ("conn conn-live", t(l, Word::Online).to_owned()),
            Connection::Connecting => ("conn conn-wait", t(l, Word::Connecting).to_owned()),
            Connection::Reconnecting { retry_at } => {
                let secs = ((retry_at - clock.0.get()) / 1000.0).ceil().max(0.0);
                let text = match l {
                    Lang::Vi => format!(
                        "Mất kết nối · {} ({secs:.0} giây)",
                        t(l, Word::Reconnecting)
                    ),
                    Lang::En => format!("Offline · {} ({secs:.0} s)", t(l, Word::Reconnecting)),
                };
                ("conn conn-lost", text)
            }
        }
    };
    let switch = move |_| {
        let next = if lang.get_untracked() == Lang::Vi {
            Lang::En
        } else {
            Lang::Vi
        };
        next.remember();
        lang.set(next);
    };
    view! {
        <header class="top">
            <div class="title">
                <h1>{move || t(lang.get(), Word::OperationsCenter)}</h1>
                <span class="city">{city}</span>
            </div>
            <div class="status">
                <span class="clock" title="Asia/Ho_Chi_Minh">{move || hcmc_clock(now_server())}</span>
                <span class=move || conn().0 data-testid="connection" role="status">{move || conn().1}</span>
                <button class="lang" data-testid="lang-switch" on:click=switch>
                    {move || if lang.get() == Lang::Vi { "EN" } else { "VI" }}
                </button>
            </div>
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_in_ho_chi_minh_time() {
        // 2025-11-22T17:30:05Z is 00:30:05 the next day in Ho Chi Minh City.
        assert_eq!(hcmc_clock(1_763_832_605_000.0), "00:30:05");
    }
}
