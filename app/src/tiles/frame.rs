//! What every tile shares: its frame (title, data age, stale state) around its content, the
//! headline figures ([`Kpi`]), and how fresh a domain's data is.

use ioc_protocol::Domain;
use leptos::prelude::*;

use crate::clock::use_clock;
use crate::i18n::{Lang, Word, t, updated_ago, use_lang};
use crate::live::{Live, LiveState};

/// How the data behind a tile stands: its newest time and whether it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fresh {
    pub newest: i64,
    pub stale: bool,
}

/// The freshness of a domain's tile.
pub fn fresh(state: &LiveState, domain: Domain) -> Fresh {
    let from = |f: &ioc_protocol::Freshness| Fresh {
        newest: f.newest_ts,
        stale: f.stale,
    };
    let f = match domain {
        Domain::Traffic => state
            .traffic()
            .and_then(|f| f.city.as_ref())
            .map(|c| from(&c.fresh)),
        Domain::Env => state
            .env()
            .and_then(|f| f.city.as_ref())
            .map(|c| from(&c.fresh)),
        Domain::Flood => state.flood().map(|f| from(&f.fresh)),
        Domain::Complaint => state.complaints().map(|f| from(&f.fresh)),
        Domain::Service => state.services().map(|f| from(&f.fresh)),
        Domain::System => {
            let platforms = state.services().map_or(0, |s| {
                s.platforms
                    .iter()
                    .map(|p| p.fresh.newest_ts)
                    .max()
                    .unwrap_or(0)
            });
            Some(Fresh {
                newest: platforms.max(state.newest(Domain::System)),
                stale: false,
            })
        }
    };
    // Before the figures come, the area statistics say as much.
    let f = f.unwrap_or_default();
    Fresh {
        newest: f.newest.max(state.newest(domain)),
        stale: f.stale,
    }
}

/// The text of a tile's age: "Cập nhật 12 giây trước", "Dữ liệu cũ · ..." or "Chưa có dữ liệu".
pub fn age_line(lang: Lang, f: Fresh, now: i64) -> String {
    if f.newest <= 0 {
        t(lang, Word::NoData).to_owned()
    } else if f.stale {
        format!(
            "{} · {}",
            t(lang, Word::StaleData),
            updated_ago(lang, now - f.newest)
        )
    } else {
        updated_ago(lang, now - f.newest)
    }
}

/// A tile's frame: its title, data age and stale state, around its content.
#[component]
pub fn TileFrame(
    /// `traffic`, `env`, ...: the tile's `data-testid` is `tile-{code}`.
    code: &'static str,
    title: Word,
    domain: Domain,
    children: Children,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let f = Memo::new(move |_| live.state.with(|s| fresh(s, domain)));
    let now = move || live.state.with(|s| s.server_now(clock.0.get()));
    view! {
        <section
            class=format!("tile tile-{code}")
            id=format!("tile-{code}")
            data-testid=format!("tile-{code}")
            data-newest=move || f.get().newest
            class:stale=move || f.get().stale
        >
            <header>
                <h2>{move || t(lang.get(), title)}</h2>
                <span class="tile-age" data-testid="tile-age">{move || age_line(lang.get(), f.get(), now())}</span>
            </header>
            {children()}
        </section>
    }
}

/// A headline figure: a big value, its unit and its label.
#[component]
pub fn Kpi(
    /// Its `data-field`.
    field: &'static str,
    #[prop(into)] label: Signal<String>,
    #[prop(into)] value: Signal<String>,
    /// A CSS class for the value (a band's colour).
    #[prop(into, optional)]
    tone: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="kpi">
            <span class=move || format!("kpi-value {}", tone.get()) data-field=field>{move || value.get()}</span>
            <span class="kpi-label">{move || label.get()}</span>
        </div>
    }
}

/// The `n` items with the highest `value`, highest first (ties in their order), with it;
/// items without one are left out.
pub(super) fn highest<T>(
    items: &[T],
    value: impl Fn(&T) -> Option<f64>,
    n: usize,
) -> Vec<(&T, f64)> {
    let mut v: Vec<(&T, f64)> = items
        .iter()
        .filter_map(|i| value(i).map(|v| (i, v)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(n);
    v
}

/// A word of the screen as a label, following the language.
pub(super) fn label(w: Word) -> Signal<String> {
    let lang = use_lang();
    Signal::derive(move || t(lang.get(), w).to_owned())
}

/// A figure or a dash.
pub(super) fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_say_stale_or_nothing() {
        let f = Fresh {
            newest: 1_000,
            stale: false,
        };
        assert_eq!(age_line(Lang::Vi, f, 13_500), "Cập nhật 12 giây trước");
        assert_eq!(
            age_line(Lang::Vi, Fresh { stale: true, ..f }, 601_000),
            "Dữ liệu cũ · Cập nhật 10 phút trước"
        );
        assert_eq!(age_line(Lang::En, Fresh::default(), 5), "No data yet");
    }

    #[test]
    fn highest_first_without_the_unknown() {
        let v = [Some(1.0), None, Some(3.0), Some(2.0), Some(3.0)];
        let top: Vec<f64> = highest(&v, |x| *x, 3).into_iter().map(|(_, v)| v).collect();
        assert_eq!(top, [3.0, 3.0, 2.0]);
        assert!(highest(&v, |_| None, 3).is_empty());
    }

    #[test]
    fn the_system_tile_is_as_fresh_as_the_newest_platform_reading() {
        let s = LiveState::default();
        assert_eq!(fresh(&s, Domain::System), Fresh::default());
    }
}
