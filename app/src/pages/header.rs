//! The header of every screen: title, city, clock in Asia/Ho_Chi_Minh, connection state and
//! the language switch; on the console, the links between its pages, who is logged in and the
//! logout button; on the wall,
//! the critical alerts' banner.

use ioc_protocol::time::LOCAL_TIME_ZONE;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::alerts;
use crate::auth::use_auth;
use crate::clock::{hcmc_clock, use_clock};
use crate::i18n::{Lang, Word, role_name, t, use_lang};
use crate::live::{Connection, Live};

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
            {account.then(|| view! { <ConsoleNav /> })}
            <div class="status">
                <span class="clock" title=LOCAL_TIME_ZONE>{move || hcmc_clock(now_server())}</span>
                <span class=move || conn().0 data-testid="connection" role="status">{move || conn().1}</span>
                <LangSwitch />
                {account.then(|| view! { <Account /> })}
            </div>
        </header>
    }
}

/// The console's pages: the operations (`/`) and the socio-economic indicators
/// (`/indicators`); the current one is marked.
#[component]
fn ConsoleNav() -> impl IntoView {
    let lang = use_lang();
    let here = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    let on_indicators = here.trim_end_matches('/') == "/indicators";
    let label = move |vi: &'static str, en: &'static str| {
        move || {
            if lang.get() == Lang::Vi { vi } else { en }
        }
    };
    view! {
        <nav class="console-nav" data-testid="console-nav">
            <a href="/" class:here=!on_indicators data-testid="nav-operations">
                {label("Điều hành", "Operations")}
            </a>
            <a href="/indicators/" class:here=on_indicators data-testid="nav-indicators">
                {label("Chỉ tiêu kinh tế - xã hội", "Socio-economic indicators")}
            </a>
        </nav>
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
