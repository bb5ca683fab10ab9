//! The officer console (`/`): the map, the alerts, every tile, and an area's drill-down when
//! one is open.

use leptos::prelude::*;

use super::header::Header;
use crate::alerts::AlertsPanel;
use crate::charts::drilldown::DrillDown;
use crate::i18n::{Word, t, use_lang};
use crate::map::CityMapView;
use crate::map::layers::Layer;
use crate::tiles::{ComplaintTile, EnvTile, FloodTile, ServiceTile, SystemTile, TrafficTile};

/// The officer console: the map, the alerts, every tile, and an area's drill-down when one
/// is open.
#[component]
pub fn Console() -> impl IntoView {
    let lang = use_lang();
    let layer = RwSignal::new(Layer::Aqi);
    view! {
        <div class="ioc console">
            <Header account=true />
            <main class="console-grid">
                <div class="console-col">
                    <section class="tile tile-map" data-testid="tile-map">
                        <header><h2>{move || t(lang.get(), Word::Map)}</h2></header>
                        <CityMapView layer=layer chooser=true />
                    </section>
                    <FloodTile />
                    <SystemTile />
                </div>
                <div class="console-col">
                    <AlertsPanel />
                    <EnvTile />
                    <ComplaintTile />
                </div>
                <div class="console-col">
                    <TrafficTile />
                    <ServiceTile />
                </div>
            </main>
            <DrillDown />
        </div>
    }
}
