//! The console's socio-economic indicators (`/indicators`, "Chỉ tiêu kinh tế - xã hội"): the
//! catalogue's groups, each with how many of its indicators are on track, at risk or behind
//! and how many are flagged ([`groups`]); a group's indicators as cards ([`cards`]); an
//! indicator's detail: this year against the year before and the target, the areas ranked,
//! and who sent the latest period's revisions ([`detail`]), with its map layer: each district
//! coloured by its progress ([`map_layer`]).
//!
//! Where the officer is (the groups, a group, an indicator) is kept in the address
//! (`?group=economy`, `?indicator=grdp_growth`), so a link or a reload opens the same place.
//!
//! The figures are written as markup into one element, and one click handler reads the
//! `data-go` of what was clicked: 110 cards as Leptos views cost the wasm far more.

pub mod cards;
pub mod detail;
pub mod groups;
pub mod map_layer;

use std::collections::HashMap;

use ioc_protocol::indicator::{Board, Catalogue, Revision, SeriesPoint};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::header::Header;
use crate::api::indicators::{revisions, series};
use crate::city::use_city;
use crate::i18n::{Lang, use_lang};
use crate::indicators::{IndicatorBoard, esc, group_name, headline, indicator_name, tr};

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
        let url = format!("/indicators/{}", to.query());
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

/// What the page has fetched for the place it shows: a group's sparklines, an indicator's
/// series and revisions.
#[derive(Debug, Clone, Copy)]
struct Fetched {
    sparks: RwSignal<HashMap<String, String>>,
    points: RwSignal<Option<Vec<SeriesPoint>>>,
    revisions: RwSignal<Option<Vec<Revision>>>,
}

impl Fetched {
    /// Fetches what `place` needs, once the board is there.
    fn start(self, place: &Place, c: &Catalogue, b: &Board) {
        match place {
            Place::Groups => {}
            Place::Group(g) => cards::fetch_sparks(c, b, g, self.sparks),
            Place::Indicator(code) => {
                let Some(head) = b.indicator(code).and_then(headline).cloned() else {
                    return;
                };
                let code = code.clone();
                spawn_local(async move {
                    if let Ok(s) = series(&code, &head.area).await {
                        self.points.try_set(Some(s.points));
                    }
                    if let Some(latest) = head.latest
                        && let Ok(r) = revisions(&code, &head.area, latest.period).await
                    {
                        self.revisions.try_set(Some(r.revisions));
                    }
                });
            }
        }
    }
}

/// The way from the groups to where the page stands, as markup with `data-go` links.
fn crumbs_html(l: Lang, c: &Catalogue, place: &Place) -> String {
    let (group, indicator) = match place {
        Place::Groups => (None, None),
        Place::Group(g) => (Some(g.as_str()), None),
        Place::Indicator(i) => {
            let i = c.indicator(i);
            (i.map(|i| i.group.as_str()), i)
        }
    };
    let mut out = format!(
        r#"<nav class="ind-crumbs" data-testid="ind-crumbs"><a href="/indicators/" data-go="groups">{}</a>"#,
        tr(l, "Tất cả lĩnh vực", "All groups")
    );
    if let Some(g) = group.and_then(|g| c.group(g)) {
        out.push_str(&format!(
            r#"<span class="sep">›</span><a href="/indicators/?group={code}" data-go="group:{code}">{name}</a>"#,
            code = esc(&g.code),
            name = esc(group_name(l, g))
        ));
    }
    if let Some(i) = indicator {
        out.push_str(&format!(
            r#"<span class="sep">›</span><span>{}</span>"#,
            esc(indicator_name(l, i))
        ));
    }
    out.push_str("</nav>");
    out
}

/// The place a clicked element's `data-go` names, if any.
fn clicked_place(e: &web_sys::MouseEvent) -> Option<Place> {
    let target: web_sys::Element = e.target()?.dyn_into().ok()?;
    let go = target
        .closest("[data-go]")
        .ok()??
        .get_attribute("data-go")?;
    Some(match go.split_once(':') {
        Some(("group", g)) => Place::Group(g.to_owned()),
        Some(("indicator", i)) => Place::Indicator(i.to_owned()),
        _ => Place::Groups,
    })
}

/// The page: the header, where the officer stands, and the groups, a group or an indicator.
#[component]
pub fn IndicatorsPage() -> impl IntoView {
    let lang = use_lang();
    let data = IndicatorBoard::load();
    let city = use_city();
    let place = RwSignal::new(current_place());
    let fetched = Fetched {
        sparks: RwSignal::new(HashMap::new()),
        points: RwSignal::new(None),
        revisions: RwSignal::new(None),
    };
    // The browser's back and forward buttons.
    let on_pop = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        place.try_set(current_place());
    });
    if let Some(w) = web_sys::window() {
        w.set_onpopstate(Some(on_pop.as_ref().unchecked_ref()));
    }
    on_pop.forget();
    // A new place: what it needs, once the board is there (fetched once per place).
    let started: RwSignal<Option<Place>> = RwSignal::new(None);
    Effect::new(move |_| {
        let p = place.get();
        if started.with_untracked(|s| s.as_ref() == Some(&p)) {
            return;
        }
        let ready = data.catalogue.with(|c| {
            data.board.with(|b| match (c, b) {
                (Some(c), Some(b)) => {
                    fetched.points.set(None);
                    fetched.revisions.set(None);
                    fetched.start(&p, c, b);
                    true
                }
                _ => false,
            })
        });
        if ready {
            started.set(Some(p));
        }
    });

    let body = move || {
        let l = lang.get();
        let p = place.get();
        data.catalogue.with(|c| {
            let Some(c) = c else {
                return format!(r#"<p class="none">{}</p>"#, tr(l, "Đang tải…", "Loading…"));
            };
            data.board.with(|b| {
                let b = b.as_ref();
                let main = match &p {
                    Place::Groups => groups::grid_html(l, c, b),
                    Place::Group(g) => fetched.sparks.with(|s| cards::cards_html(l, c, b, g, s)),
                    Place::Indicator(code) => {
                        match (c.indicator(code), b.and_then(|b| b.indicator(code))) {
                            (Some(i), Some(f)) => fetched.points.with(|pts| {
                                fetched.revisions.with(|revs| {
                                    city.0.with(|m| {
                                        detail::detail_html(
                                            l,
                                            detail::DetailData {
                                                indicator: i,
                                                figures: f,
                                                points: pts.as_deref(),
                                                revisions: revs.as_deref(),
                                                city: m.as_ref(),
                                            },
                                        )
                                    })
                                })
                            }),
                            _ => {
                                format!(r#"<p class="none">{}</p>"#, tr(l, "Đang tải…", "Loading…"))
                            }
                        }
                    }
                };
                crumbs_html(l, c, &p) + &main
            })
        })
    };
    let on_click = move |e: web_sys::MouseEvent| {
        if let Some(to) = clicked_place(&e) {
            e.prevent_default();
            go(place, to);
        }
    };

    view! {
        <div class="ioc console indicators-page">
            <Header account=true />
            <main class="ind-main" data-testid="indicators-page">
                <h2 class="ind-title">{move || tr(lang.get(), "Chỉ tiêu kinh tế - xã hội", "Socio-economic indicators")}</h2>
                {move || data.error.get().map(|_| view! {
                    <p class="ind-error" role="alert">
                        {tr(lang.get(), "Chưa tải được số liệu chỉ tiêu, đang thử lại…", "The indicators could not be loaded; retrying…")}
                    </p>
                })}
                <div class="ind-body" on:click=on_click inner_html=body></div>
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
