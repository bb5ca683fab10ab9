//! The console's socio-economic indicators (`/indicators`, "Chỉ tiêu kinh tế - xã hội"): the
//! catalogue's groups, each with how many of its indicators are on track, at risk or behind
//! and how many are flagged ([`groups`]); a group's indicators as cards ([`cards`]); an
//! indicator's detail: this year against the year before and the target, the areas ranked,
//! and who sent the latest period's revisions ([`detail`]).
//!
//! Where the officer is (the groups, a group, an indicator) is kept in the address
//! (`?group=economy`, `?indicator=grdp_growth`), so a link or a reload opens the same place.

pub mod cards;
pub mod detail;
pub mod groups;

use leptos::prelude::*;

use super::header::Header;
use crate::i18n::use_lang;
use crate::indicators::{IndicatorBoard, group_name, indicator_name, tr};

/// Where the page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Groups,
    Group(String),
    Indicator(String),
}

impl Place {
    /// The place an address's query names (`?group=...` or `?indicator=...`).
    pub fn of_query(search: &str) -> Place {
        let mut place = Place::Groups;
        for (k, v) in search
            .trim_start_matches('?')
            .split('&')
            .filter_map(|kv| kv.split_once('='))
        {
            match k {
                "indicator" if !v.is_empty() => return Place::Indicator(v.to_owned()),
                "group" if !v.is_empty() => place = Place::Group(v.to_owned()),
                _ => {}
            }
        }
        place
    }

    pub fn query(&self) -> String {
        match self {
            Place::Groups => String::new(),
            Place::Group(g) => format!("?group={g}"),
            Place::Indicator(i) => format!("?indicator={i}"),
        }
    }
}

/// Goes to `place`, keeping it in the address and the browser's history.
pub fn go(place: RwSignal<Place>, to: Place) {
    if let Some(w) = web_sys::window()
        && let Ok(h) = w.history()
    {
        let url = format!("/indicators{}", to.query());
        let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
    place.set(to);
    if let Some(w) = web_sys::window() {
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
}

fn current_place() -> Place {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    Place::of_query(&search)
}

/// The page: the header, where the officer stands, and the groups, a group or an indicator.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    let lang = use_lang();
    let data = IndicatorBoard::load();
    provide_context(data);
    let place = RwSignal::new(current_place());
    // The browser's back and forward buttons.
    let on_pop = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        place.try_set(current_place());
    });
    if let Some(w) = web_sys::window() {
        w.set_onpopstate(Some(wasm_bindgen::JsCast::unchecked_ref(on_pop.as_ref())));
    }
    on_pop.forget();

    let crumbs = move || {
        let l = lang.get();
        let p = place.get();
        let indicator = match &p {
            Place::Indicator(code) => data.catalogue.with(|c| {
                c.as_ref()
                    .and_then(|c| c.indicator(code))
                    .map(|i| (i.group.clone(), indicator_name(l, i).to_owned()))
            }),
            _ => None,
        };
        let group = match (&p, &indicator) {
            (Place::Group(g), _) | (_, Some((g, _))) => Some(g.clone()),
            _ => None,
        };
        let group_label = group.as_ref().map(|g| {
            let name = data.catalogue.with(|c| {
                c.as_ref()
                    .and_then(|c| c.groups.iter().find(|x| &x.code == g))
                    .map(|x| group_name(l, x).to_owned())
            });
            (g.clone(), name.unwrap_or_else(|| g.clone()))
        });
        view! {
            <nav class="ind-crumbs" data-testid="ind-crumbs">
                <a href="/indicators" on:click=move |e| { e.prevent_default(); go(place, Place::Groups); }>
                    {tr(l, "Tất cả lĩnh vực", "All groups")}
                </a>
                {group_label.map(|(code, name)| view! {
                    <span class="sep">"›"</span>
                    <a href=format!("/indicators?group={code}") on:click=move |e| {
                        e.prevent_default();
                        go(place, Place::Group(code.clone()));
                    }>{name}</a>
                })}
                {indicator.map(|(_, name)| view! { <span class="sep">"›"</span><span>{name}</span> })}
            </nav>
        }
    };

    view! {
        <div class="ioc console indicators-page">
            <Header account=true />
            <main class="ind-main" data-testid="indicators-page">
                <h2 class="ind-title">{move || tr(lang.get(), "Chỉ tiêu kinh tế - xã hội", "Socio-economic indicators")}</h2>
                {crumbs}
                {move || data.error.get().map(|_| view! {
                    <p class="ind-error" role="alert">
                        {tr(lang.get(), "Chưa tải được số liệu chỉ tiêu, đang thử lại…", "The indicators could not be loaded; retrying…")}
                    </p>
                })}
                {move || match place.get() {
                    Place::Groups => view! { <groups::GroupGrid place=place /> }.into_any(),
                    Place::Group(g) => view! { <cards::GroupCards group=g place=place /> }.into_any(),
                    Place::Indicator(i) => view! { <detail::IndicatorDetail code=i /> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_keeps_the_place() {
        assert_eq!(Place::of_query(""), Place::Groups);
        assert_eq!(
            Place::of_query("?group=economy"),
            Place::Group("economy".into())
        );
        assert_eq!(
            Place::of_query("?group=economy&indicator=grdp"),
            Place::Indicator("grdp".into())
        );
        for p in [
            Place::Groups,
            Place::Group("a".into()),
            Place::Indicator("b".into()),
        ] {
            assert_eq!(Place::of_query(&p.query()), p);
        }
    }
}
