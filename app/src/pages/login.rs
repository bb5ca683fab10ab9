//! The console's login page, and the full-screen messages shown before the app knows where it
//! stands (the server not answered yet, or out of reach).

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::header::LangSwitch;
use crate::api::auth::{AuthError, login};
use crate::auth::{OutReason, use_auth};
use crate::clock::use_clock;
use crate::i18n::{Lang, Word, server_error, t, try_again_in, use_lang};

/// What went wrong with the last attempt to log in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Problem {
    Wrong,
    /// Throttled until this time (browser ms).
    Throttled {
        until_ms: f64,
    },
    Unreachable,
    Server(u16),
}

impl Problem {
    /// The message, if it still holds at `now_ms` (a throttle runs out).
    fn text(self, lang: Lang, now_ms: f64) -> Option<String> {
        match self {
            Problem::Wrong => Some(t(lang, Word::WrongLogin).to_owned()),
            Problem::Throttled { until_ms } => {
                let secs = ((until_ms - now_ms) / 1000.0).ceil();
                (secs >= 1.0).then(|| try_again_in(lang, secs as u64))
            }
            Problem::Unreachable => Some(t(lang, Word::ServerUnreachable).to_owned()),
            Problem::Server(status) => Some(server_error(lang, status)),
        }
    }
}

/// The login page: a card with the user name, the password and the language switch.
#[component]
pub fn Login() -> impl IntoView {
    let lang = use_lang();
    let auth = use_auth();
    let clock = use_clock();
    let user = NodeRef::<html::Input>::new();
    let password = NodeRef::<html::Input>::new();
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<Problem>);
    // Re-read on every tick of the clock, for a throttle's countdown; computed from the
    // browser's own time, so that it starts at the server's figure.
    let message = move || {
        clock.0.track();
        problem
            .get()
            .and_then(|p| p.text(lang.get(), js_sys::Date::now()))
    };
    let note = move || match auth.reason.get() {
        Some(OutReason::SessionEnded) => Some(t(lang.get(), Word::SessionEnded)),
        _ => None,
    };

    // The cursor starts in the user name.
    Effect::new(move |_| {
        if let Some(input) = user.get() {
            let _ = input.focus();
        }
    });

    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (Some(user_input), Some(password_input)) =
            (user.get_untracked(), password.get_untracked())
        else {
            return;
        };
        let name = user_input.value().trim().to_owned();
        let secret = password_input.value();
        busy.set(true);
        problem.set(None);
        auth.reason.set(None);
        spawn_local(async move {
            let answer = login(&name, &secret).await;
            // The page may be gone by now (another tab's login, say): hence `try_`.
            let _ = busy.try_set(false);
            let failed = match answer {
                Ok(session) => {
                    auth.begin(session);
                    return;
                }
                Err(AuthError::Refused) => {
                    password_input.set_value("");
                    let _ = password_input.focus();
                    Problem::Wrong
                }
                Err(AuthError::Throttled { retry_after_s }) => Problem::Throttled {
                    until_ms: js_sys::Date::now() + retry_after_s as f64 * 1000.0,
                },
                Err(AuthError::Network) => Problem::Unreachable,
                Err(AuthError::Status(status, msg)) => {
                    web_sys::console::warn_1(&format!("login: {status} {msg}").into());
                    Problem::Server(status)
                }
            };
            let _ = problem.try_set(Some(failed));
        });
    };

    view! {
        <div class="ioc login-page">
            <form class="login-card" data-testid="login" on:submit=submit>
                <div class="login-head">
                    <h1>{move || t(lang.get(), Word::OperationsCenter)}</h1>
                    <LangSwitch />
                </div>
                {move || note().map(|n| view! { <p class="login-note" data-testid="login-note" role="status">{n}</p> })}
                <label>
                    <span>{move || t(lang.get(), Word::UserName)}</span>
                    <input node_ref=user name="user" type="text" autocomplete="username"
                        autocapitalize="none" spellcheck="false" required />
                </label>
                <label>
                    <span>{move || t(lang.get(), Word::Password)}</span>
                    <input node_ref=password name="password" type="password"
                        autocomplete="current-password" required />
                </label>
                {move || message().map(|m| view! { <p class="login-error" data-testid="login-error" role="alert">{m}</p> })}
                <button type="submit" disabled=move || busy.get()>
                    {move || t(lang.get(), Word::LogIn)}
                </button>
            </form>
        </div>
    }
}

/// A full-screen message: the console's and the wall's screen while there is nothing else to
/// show.
#[component]
pub fn ScreenMessage(
    /// The `data-testid` of the message.
    testid: &'static str,
    /// The headline.
    title: Signal<String>,
    /// A line under it, if any.
    #[prop(optional, into)]
    hint: Option<Signal<String>>,
    /// A second line, smaller, if any (empty: none).
    #[prop(optional, into)]
    detail: Option<Signal<String>>,
    /// A wall display: sized by the screen's height, as the wall is.
    #[prop(optional)]
    wall: bool,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="ioc screen-message" class:on-wall=wall data-testid=testid role="status">
            <div class="screen-message-body">
                <p class="screen-message-org">{move || t(lang.get(), Word::OperationsCenter)}</p>
                <h1>{move || title.get()}</h1>
                {hint.map(|h| view! { <p class="screen-message-hint">{move || h.get()}</p> })}
                {detail.map(|d| view! {
                    <Show when=move || !d.with(String::is_empty)>
                        <p class="screen-message-detail">{move || d.get()}</p>
                    </Show>
                })}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_counts_down_then_goes() {
        let p = Problem::Throttled { until_ms: 10_000.0 };
        assert_eq!(
            p.text(Lang::Vi, 0.0).as_deref(),
            Some("Thử lại sau 10 giây")
        );
        assert_eq!(
            p.text(Lang::En, 8_500.0).as_deref(),
            Some("Try again in 2 s")
        );
        assert_eq!(p.text(Lang::En, 10_000.0), None);
        assert_eq!(
            Problem::Wrong.text(Lang::Vi, 0.0).as_deref(),
            Some("Sai tên đăng nhập hoặc mật khẩu")
        );
    }
}
