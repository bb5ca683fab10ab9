//! The city as the screens draw it (`GET /api/v1/city`): names of what the figures refer to
//! by id, the tile grid and the areas' outlines. Fetched once there is a session, again until
//! it comes.
//!
//! Its own room, not inside the `map` folder: the tiles and the alerts name corridors, gauges,
//! stations and agencies through it too, and the map shows the alerts' marks, so a city inside
//! the map would make the map and the alerts depend on each other.

use std::cell::Cell;
use std::rc::Rc;

use ioc_protocol::map::{CityMap, MapArea, Named};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::city::{CityError, city_map};
use crate::api::sleep_ms;
use crate::auth::Auth;
use crate::i18n::Lang;

/// The city map, `None` until it has come.
#[derive(Debug, Clone, Copy)]
pub struct City(pub RwSignal<Option<CityMap>>);

impl City {
    /// The name of `id` in the list `list` picks (corridors, gauges, ...), in `lang`; the id
    /// itself until the map has come, or when the list has no such id.
    pub fn name(self, list: fn(&CityMap) -> &[Named], id: &str, lang: Lang) -> String {
        self.0.with(|m| {
            m.as_ref()
                .map_or_else(|| id.to_owned(), |m| name_of(list(m), id, lang))
        })
    }
}

pub fn use_city() -> City {
    expect_context::<City>()
}

/// Fetches the city map once there is a session (the API answers only then); retries every
/// 2 s until it comes, while the session lasts. The map is kept across sessions.
pub fn load(auth: Auth) -> City {
    let city = City(RwSignal::new(None));
    let fetching = Rc::new(Cell::new(false));
    Effect::new(move |_| {
        if !auth.logged_in() || fetching.get() || city.0.with_untracked(Option::is_some) {
            return;
        }
        fetching.set(true);
        let fetching = fetching.clone();
        spawn_local(async move {
            while auth.logged_in_untracked() {
                match city_map().await {
                    Ok(map) => {
                        city.0.set(Some(map));
                        break;
                    }
                    Err(CityError::Unreadable(e)) => web_sys::console::warn_1(
                        &format!("the city map could not be read: {e}").into(),
                    ),
                    Err(CityError::NoAnswer) => {}
                }
                sleep_ms(2000).await;
            }
            fetching.set(false);
        });
    });
    city
}

/// The name of an id among `list` (corridors, gauges, ...), or the id itself.
pub fn name_of(list: &[Named], id: &str, lang: Lang) -> String {
    CityMap::name(list, id, lang == Lang::Vi).to_owned()
}

/// An area's short label for a small map cell: "Q1", "Bình Thạnh", "Thủ Đức".
pub fn short_label(area: &MapArea, lang: Lang) -> String {
    let name = if lang == Lang::Vi {
        &area.name_vi
    } else {
        &area.name_en
    };
    for prefix in ["Thành phố ", "Quận ", "Huyện ", "District ", "City of "] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return if rest.chars().all(|c| c.is_ascii_digit()) {
                format!("Q{rest}")
            } else {
                rest.to_owned()
            };
        }
    }
    for suffix in [" City", " District"] {
        if let Some(rest) = name.strip_suffix(suffix) {
            return rest.to_owned();
        }
    }
    name.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(vi: &str, en: &str) -> MapArea {
        MapArea {
            code: "x".into(),
            name_vi: vi.into(),
            name_en: en.into(),
            kind: "urban".into(),
            population: 1,
            row: 0,
            col: 0,
        }
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(short_label(&area("Quận 1", "District 1"), Lang::Vi), "Q1");
        assert_eq!(short_label(&area("Quận 1", "District 1"), Lang::En), "Q1");
        assert_eq!(
            short_label(&area("Quận Bình Thạnh", "Binh Thanh District"), Lang::Vi),
            "Bình Thạnh"
        );
        assert_eq!(
            short_label(&area("Quận Bình Thạnh", "Binh Thanh District"), Lang::En),
            "Binh Thanh"
        );
        assert_eq!(
            short_label(&area("Thành phố Thủ Đức", "Thu Duc City"), Lang::Vi),
            "Thủ Đức"
        );
    }
}
