//! The operations center's screen, client-side rendered with Leptos.
//!
//! Three screens, a wasm binary each, so that none loads the code of another: the officer
//! console at `/` ([`App`], `ioc-app`), the wall display at `/wall/` ([`WallApp`],
//! `ioc-wall`) and the console's socio-economic indicators at `/indicators/`
//! ([`IndicatorsApp`], `ioc-indicators`). Each needs a session ([`auth`]): the console asks
//! for a login, a wall for a display key in its address; the live connection is open only
//! while there is one. Each root provides what every part reads (language, session, live
//! state, clock, city, drill-down) and picks the screen.
//!
//! The data path, from the server to the screen: [`api`] asks the server over HTTP and
//! [`live`] keeps the websocket's state; [`tiles`], [`map`], [`charts`] and [`alerts`] draw
//! them; [`pages`] lay them out.
//!
//! - [`pages`]: the console, the wall, the login page, and the header they share.
//! - [`tiles`]: the six tiles, one file each (traffic, air, flooding, complaints, public
//!   services, system), and the areas' table the air and traffic tiles share.
//! - [`map`]: the city's map, coloured by a layer, and the layers' scales and legends.
//! - [`charts`]: chart geometry (pure functions), the small SVG charts, the sparklines, and an
//!   area's drill-down with its history charts (1 h, 24 h, 7 days).
//! - [`alerts`]: the console's alerts panel (acknowledge, resolve, close), the wall's banner
//!   while critical alerts are active, and the marks of the map.
//! - [`api`]: every HTTP request (session, history, city map, alert actions) and the reading
//!   of its answer.
//! - [`live`]: the websocket connection and the live state it keeps.
//! - [`auth`]: where the session stands, and a wall display's key.
//! - [`city`]: the city's names, grid and outlines (`GET /api/v1/city`), shared by the tiles,
//!   the alerts and the map.
//! - [`indicators`]: the socio-economic indicators' catalogue and board as the console's page
//!   and the wall's panel read them, and the words of their periods, statuses and values.
//! - [`clock`]: the clock, and times in Asia/Ho_Chi_Minh (UTC+7, no daylight saving) whatever
//!   the browser's own time zone.
//! - [`i18n`]: the words on the screen, Vietnamese first, and numbers in each language.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod charts;
pub mod city;
pub mod clock;
pub mod i18n;
pub mod indicators;
pub mod live;
pub mod map;
pub mod pages;
pub mod tiles;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;

use crate::auth::{Auth, AuthState};
use crate::charts::drilldown::Drill;
use crate::clock::Clock;
use crate::i18n::{Lang, Word, t};
use crate::live::{Link, Live};
use crate::pages::console::Console;
use crate::pages::indicators::IndicatorsPage;
use crate::pages::login::{Login, ScreenMessage};
use crate::pages::wall::{NoAccess, Wall};

/// What the app shows, by where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Checking,
    Unreachable,
    Out,
    In,
}

/// The officer console (`ioc-app`, served at `/` and any path no other screen has), once there
/// is a session; the login page before.
#[component]
pub fn App() -> impl IntoView {
    shell(false, console_screen, login_screen)
}

/// The wall display (`ioc-wall`, served at `/wall/`), once its display key is accepted.
#[component]
pub fn WallApp() -> impl IntoView {
    shell(true, wall_screen, no_access_screen)
}

/// The socio-economic indicators app (`ioc-indicators`, served at `/indicators/`): the
/// console's indicators page once there is a session. A binary of its own, so that neither the
/// wall nor the console loads its code (`docs/architecture.md`, "Three wasm binaries").
#[component]
pub fn IndicatorsApp() -> impl IntoView {
    shell(false, indicators_screen, login_screen)
}

fn wall_screen() -> AnyView {
    view! { <Wall /> }.into_any()
}

fn console_screen() -> AnyView {
    view! { <Console /> }.into_any()
}

fn indicators_screen() -> AnyView {
    view! { <IndicatorsPage /> }.into_any()
}

fn login_screen() -> AnyView {
    view! { <Login /> }.into_any()
}

fn no_access_screen() -> AnyView {
    view! { <NoAccess /> }.into_any()
}

/// What every screen needs (language, session, live state, clock, city, drill-down), and the
/// screen by where the session stands: `signed_in` once there is a session, `signed_out`
/// without one (the login page, the wall's "no access"), a message while the server is being
/// reached.
fn shell(wall: bool, signed_in: fn() -> AnyView, signed_out: fn() -> AnyView) -> impl IntoView {
    let lang = RwSignal::new(Lang::remembered());
    lang.get_untracked().remember();
    provide_context(lang);
    let auth = Auth::new();
    provide_context(auth);
    let live = Live::new();
    provide_context(live);
    let clock = Clock(RwSignal::new(js_sys::Date::now()));
    provide_context(clock);
    provide_context(city::load(auth));
    let drill = Drill(RwSignal::new(None));
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
    move || match screen.get() {
        Screen::In => signed_in(),
        Screen::Out => signed_out(),
        Screen::Checking => view! {
            <ScreenMessage testid="checking" title=word(Word::Connecting) wall=wall />
        }
        .into_any(),
        Screen::Unreachable => view! {
            <ScreenMessage testid="unreachable" title=word(Word::ServerUnreachable)
                hint=word(Word::Reconnecting) wall=wall />
        }
        .into_any(),
    }
}
