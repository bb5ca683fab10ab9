//! The operations center's screen, client-side rendered with Leptos.
//!
//! Two screens, one app: the officer console at `/` and the wall display at `/wall` ([`wall`]).
//! Both need a session ([`auth`]): the console asks for a login ([`login`]), a wall for a
//! display key in its address; the live connection is open only while there is one.
//!
//! - [`alerts`]: the console's alerts panel (acknowledge, resolve, close), the wall's banner
//!   while critical alerts are active, and the marks of the map.
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

pub mod alerts;
pub mod auth;
pub mod charts;
pub mod city;
pub mod domains;
pub mod drilldown;
pub mod history;
pub mod i18n;
pub mod layers;
pub mod live;
pub mod login;
pub mod map;
pub mod spark;
pub mod svg;
pub mod tiles;
pub mod wall;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::auth::{Auth, AuthState, use_auth};
use crate::i18n::{Lang, Word, role_name, t, use_lang};
use crate::live::{Connection, Link, Live};
use crate::login::{Login, ScreenMessage};

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

/// What the app shows, by where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Checking,
    Unreachable,
    Out,
    In,
}

/// The whole app: the wall at `/wall`, the console elsewhere; each once there is a session.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(Lang::remembered());
    lang.get_untracked().remember();
    provide_context(lang);
    let wall = on_wall();
    let auth = Auth::new();
    provide_context(auth);
    let live = Live::new();
    provide_context(live);
    let clock = Clock(RwSignal::new(js_sys::Date::now()));
    provide_context(clock);
    provide_context(city::load(auth));
    let drill = drilldown::Drill(RwSignal::new(None));
    provide_context(drill);
    let _ = set_interval_with_handle(
        move || clock.0.set(js_sys::Date::now()),
        std::time::Duration::from_millis(1000),
    );

    // The live connection, open while there is a session.
    let link: Rc<RefCell<Option<Link>>> = Rc::new(RefCell::new(None));
    let logged_in = Memo::new(move |_| auth.logged_in());
    Effect::new(move |_| {
        if logged_in.get() {
            if link.borrow().is_none() {
                *link.borrow_mut() = Some(live::connect(live, move || auth.ended()));
            }
        } else if let Some(l) = link.borrow_mut().take() {
            l.stop();
            live.reset();
            drill.0.set(None);
        }
    });
    auth::start(auth, wall);
    if wall {
        auth::retry_while_out(auth);
    }

    let screen = Memo::new(move |_| {
        auth.state.with(|s| match s {
            AuthState::Checking => Screen::Checking,
            AuthState::Unreachable => Screen::Unreachable,
            AuthState::Out => Screen::Out,
            AuthState::In(_) => Screen::In,
        })
    });
    let word = move |w: Word| Signal::derive(move || t(lang.get(), w).to_owned());
    move || match (screen.get(), wall) {
        (Screen::In, true) => view! { <wall::Wall /> }.into_any(),
        (Screen::In, false) => view! { <Console /> }.into_any(),
        (Screen::Out, true) => view! { <wall::NoAccess /> }.into_any(),
        (Screen::Out, false) => view! { <Login /> }.into_any(),
        (Screen::Checking, _) => view! {
            <ScreenMessage testid="checking" title=word(Word::Connecting) wall=wall />
        }
        .into_any(),
        (Screen::Unreachable, _) => view! {
            <ScreenMessage testid="unreachable" title=word(Word::ServerUnreachable)
                hint=word(Word::Reconnecting) wall=wall />
        }
        .into_any(),
    }
}

/// The officer console: the map, the alerts, every tile, and an area's drill-down when one
/// is open.
#[component]
fn Console() -> impl IntoView {
    let lang = use_lang();
    let layer = RwSignal::new(layers::Layer::Aqi);
    view! {
        <div class="ioc console">
            <Header account=true />
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
                    <alerts::AlertsPanel />
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

/// Title, city, clock in Asia/Ho_Chi_Minh, connection state and the language switch; on
/// the console, who is logged in and the logout button. On the wall, the title gives way to
/// the alerts' banner while critical alerts are active.
#[component]
pub fn Header(
    /// Shows the user, their role and the logout button.
    #[prop(optional)]
    account: bool,
    /// Shows the critical alerts' banner in place of the title while there are any.
    #[prop(optional)]
    alert_banner: bool,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let banner = move || {
        if !alert_banner {
            return None;
        }
        let l = lang.get();
        let now = live.state.with(|s| s.server_now(clock.0.get()));
        live.alerts
            .with(|f| live.state.with(|s| alerts::banner(l, s, f, now)))
    };
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
    view! {
        <header class="top" class:alerting=move || banner().is_some()>
            <div class="title">
                <h1>{move || t(lang.get(), Word::OperationsCenter)}</h1>
                <span class="city">{city}</span>
            </div>
            // In the title's place (hidden while it shows).
            {move || banner().map(|[count, name, place]| view! {
                <div id="wall-alert-banner" class="wall-alert-banner" role="alert">
                    <span class="banner-count">{count}</span>
                    <span class="banner-name">{name}</span>
                    <span class="banner-place">{place}</span>
                </div>
            })}
            <div class="status">
                <span class="clock" title="Asia/Ho_Chi_Minh">{move || hcmc_clock(now_server())}</span>
                <span class=move || conn().0 data-testid="connection" role="status">{move || conn().1}</span>
                <LangSwitch />
                {account.then(|| view! { <Account /> })}
            </div>
        </header>
    }
}

/// The button that switches the language (and remembers it in this browser).
#[component]
pub fn LangSwitch() -> impl IntoView {
    let lang = use_lang();
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
        <button type="button" class="lang" data-testid="lang-switch" on:click=switch>
            {move || if lang.get() == Lang::Vi { "EN" } else { "VI" }}
        </button>
    }
}

/// Who is logged in, and the logout button.
#[component]
fn Account() -> impl IntoView {
    let lang = use_lang();
    let auth = use_auth();
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let user = move || auth.session().map(|s| s.user).unwrap_or_default();
    let role = move || {
        auth.session()
            .map(|s| role_name(lang.get(), &s.role))
            .unwrap_or_default()
    };
    let role_code = move || auth.session().map(|s| s.role).unwrap_or_default();
    let log_out = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        failed.set(false);
        spawn_local(async move {
            let answer = auth.log_out().await;
            // Gone once logged out: hence `try_`.
            let _ = busy.try_set(false);
            if let Err(e) = answer {
                web_sys::console::warn_1(&format!("logout: {e:?}").into());
                let _ = failed.try_set(true);
            }
        });
    };
    view! {
        <div class="account" data-testid="account">
            <span class="account-user" data-testid="account-user">{user}</span>
            <span class="account-role" data-testid="account-role" data-role=role_code>{role}</span>
        </div>
        <Show when=move || failed.get()>
            <span class="logout-failed" role="alert">{move || t(lang.get(), Word::LogoutFailed)}</span>
        </Show>
        <button type="button" class="logout" data-testid="logout" on:click=log_out
            disabled=move || busy.get()>
            {move || t(lang.get(), Word::LogOut)}
        </button>
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
