//! The wall display (`/wall`): one 16:9 screen, nothing to click, read from across the room.
//!
//! The map (left) and a large panel (middle) rotate together through air quality, flooding,
//! traffic, complaints, public services and the city's key socio-economic indicators on a
//! schedule; the six tiles' headline figures
//! stay on the right. The schedule follows the clock, so every wall showing `/wall` shows the
//! same panel. `?rotate=N` sets the period in seconds (default 20); `?panel=flood` (or `air`,
//! `traffic`, `complaints`, `services`, `indicators`) pins one panel. While the server is out of
//! reach, a banner says so and the figures are dimmed; the page reconnects by itself. While
//! critical alerts are active, a red banner takes the header's title place: how many, and the
//! newest one's name, area and age ([`crate::alerts::banner`]); the map marks the areas with
//! alerts of its layer.
//!
//! A wall needs a session: opened at `/wall?key=...` (a display key an admin created), it
//! trades the key for one and takes the key out of the address ([`crate::auth`]). Without
//! one it says so ([`NoAccess`]) and asks again every 10 s.

use leptos::prelude::*;

use super::header::Header;
use super::login::ScreenMessage;
use crate::auth::{OutReason, use_auth};
use crate::clock::use_clock;
use crate::i18n::{Word, t, use_lang};
use crate::live::{Connection, Live};
use crate::map::CityMapView;
use crate::map::layers::Layer;
use crate::tiles::{
    ComplaintDetail, ComplaintTile, EnvDetail, EnvTile, FloodDetail, FloodTile, KeyIndicators,
    ServiceDetail, ServiceTile, SystemTile, TrafficDetail, TrafficTile,
};

/// The default time each panel stays, seconds.
const DEFAULT_ROTATE_S: f64 = 20.0;

/// The panels of the rotation, with the map layer each shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Air,
    Flood,
    Traffic,
    Complaints,
    Services,
    /// The catalogue's key indicators against their targets; the map keeps the public
    /// services' on-time layer, the nearest the live figures come to them.
    Indicators,
}

impl Panel {
    pub const ALL: [Panel; 6] = [
        Panel::Air,
        Panel::Flood,
        Panel::Traffic,
        Panel::Complaints,
        Panel::Services,
        Panel::Indicators,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Panel::Air => "air",
            Panel::Flood => "flood",
            Panel::Traffic => "traffic",
            Panel::Complaints => "complaints",
            Panel::Services => "services",
            Panel::Indicators => "indicators",
        }
    }

    pub fn layer(self) -> Layer {
        match self {
            Panel::Air => Layer::Aqi,
            Panel::Flood => Layer::Flood,
            Panel::Traffic => Layer::Congestion,
            Panel::Complaints => Layer::Complaints,
            Panel::Services | Panel::Indicators => Layer::OnTime,
        }
    }

    pub fn title(self) -> Word {
        match self {
            Panel::Air => Word::AirQualityTitle,
            Panel::Flood => Word::Flooding,
            Panel::Traffic => Word::TrafficTitle,
            Panel::Complaints => Word::Complaints,
            Panel::Services => Word::PublicServices,
            Panel::Indicators => Word::KeyIndicators,
        }
    }

    /// The panel shown at `now_ms` when each stays `period_s`.
    pub fn at(now_ms: f64, period_s: f64) -> Panel {
        let slot = (now_ms / (period_s.max(1.0) * 1000.0)).floor() as i64;
        Panel::ALL[slot.rem_euclid(Panel::ALL.len() as i64) as usize]
    }
}

/// A parameter of the page's address (`?rotate=20&panel=flood`).
fn param(name: &str) -> Option<String> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// `?rotate=N`, seconds per panel, if valid (1 s to 1 hour).
fn rotate_param() -> f64 {
    param("rotate")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| (1.0..=3600.0).contains(v))
        .unwrap_or(DEFAULT_ROTATE_S)
}

/// `?panel=flood`: a wall that shows one panel only (a flood watch in the rainy season).
fn pinned_panel() -> Option<Panel> {
    let code = param("panel")?;
    Panel::ALL.into_iter().find(|p| p.code() == code)
}

#[component]
pub fn Wall() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let period = rotate_param();
    let pinned = pinned_panel();
    let panel = Memo::new(move |_| pinned.unwrap_or_else(|| Panel::at(clock.0.get(), period)));
    let layer = RwSignal::new(panel.get_untracked().layer());
    Effect::new(move |_| layer.set(panel.get().layer()));
    let cut = move || matches!(live.connection.get(), Connection::Reconnecting { .. });

    view! {
        <div class="ioc wall" class:cut=cut>
            <Header alert_banner=true />
            <Show when=cut>
                <div class="cut-banner" role="alert" data-testid="cut-banner">
                    {move || format!("{} · {}…", t(lang.get(), Word::Cut), t(lang.get(), Word::Reconnecting))}
                </div>
            </Show>
            <main class="wall-grid">
                <section class="wall-map">
                    <h2>{move || t(lang.get(), panel.get().layer().word())}</h2>
                    <CityMapView layer=layer />
                </section>
                <section class="wall-panel" data-testid="wall-panel" data-panel=move || panel.get().code()>
                    <h2>{move || t(lang.get(), panel.get().title())}</h2>
                    {move || match panel.get() {
                        Panel::Air => view! { <EnvDetail /> }.into_any(),
                        Panel::Flood => view! { <FloodDetail /> }.into_any(),
                        Panel::Traffic => view! { <TrafficDetail large=true /> }.into_any(),
                        Panel::Complaints => view! { <ComplaintDetail large=true /> }.into_any(),
                        Panel::Services => view! { <ServiceDetail large=true /> }.into_any(),
                        Panel::Indicators => view! { <KeyIndicators /> }.into_any(),
                    }}
                    <div class="rotation" aria-hidden="true">
                        {Panel::ALL
                            .into_iter()
                            .map(|p| view! { <span class="rot-dot" class:on=move || panel.get() == p></span> })
                            .collect_view()}
                    </div>
                </section>
                <aside class="wall-cards">
                    <EnvTile compact=true />
                    <FloodTile compact=true />
                    <TrafficTile compact=true />
                    <ComplaintTile compact=true />
                    <ServiceTile compact=true />
                    <SystemTile compact=true />
                </aside>
            </main>
        </div>
    }
}

/// The wall without a session: what to do about it, in the wall's style.
#[component]
pub fn NoAccess() -> impl IntoView {
    let lang = use_lang();
    let auth = use_auth();
    let title = Signal::derive(move || t(lang.get(), Word::NoAccessKey).to_owned());
    let hint = Signal::derive(move || t(lang.get(), Word::NoAccessHint).to_owned());
    let detail = Signal::derive(move || match auth.reason.get() {
        Some(OutReason::KeyRefused) => t(lang.get(), Word::KeyRefused).to_owned(),
        Some(OutReason::SessionEnded) => t(lang.get(), Word::DisplaySessionEnded).to_owned(),
        None => String::new(),
    });
    view! {
        <ScreenMessage testid="no-access" title=title hint=hint detail=detail wall=true />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_follow_the_clock() {
        assert_eq!(Panel::at(0.0, 20.0), Panel::Air);
        assert_eq!(Panel::at(19_999.0, 20.0), Panel::Air);
        assert_eq!(Panel::at(20_000.0, 20.0), Panel::Flood);
        assert_eq!(Panel::at(100_000.0, 20.0), Panel::Indicators);
        assert_eq!(Panel::at(120_000.0, 20.0), Panel::Air);
        assert_eq!(Panel::at(9_000.0, 3.0), Panel::Complaints);
        // Every live panel shows a layer of its own.
        let mut layers: Vec<_> = Panel::ALL[..5].iter().map(|p| p.layer().code()).collect();
        layers.dedup();
        assert_eq!(layers.len(), 5);
    }
}
