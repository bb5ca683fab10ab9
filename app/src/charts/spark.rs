//! The tiles' sparklines: the last hour of one field of every area.
//!
//! Kept cheap, whatever the rate of live deltas: a tile fetches an area's hour once when the
//! area first has live data, then once a minute (not on deltas, and not while the page is
//! hidden), one request at a time; a sparkline re-renders only when its own path changes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use ioc_protocol::Domain;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::draw::sparkline;
use crate::api::history::{HistoryError, Query, fetch, window};
use crate::api::page_hidden;
use crate::live::Live;

/// The span and buckets of the tiles' sparklines: the last hour, in 2-minute buckets.
pub const SPARK_SPAN_MS: i64 = 3_600_000;
pub const SPARK_POINTS: u32 = 30;

/// How often each area's sparkline is fetched again.
const REFRESH_MS: f64 = 60_000.0;
/// The size of a sparkline, in SVG user units (CSS keeps the same aspect ratio).
const WIDTH: f64 = 100.0;
const HEIGHT: f64 = 20.0;

/// The sparklines of a tile: the SVG path of each area's last hour, by area code. An area
/// without data has an empty path.
#[derive(Debug, Clone, Copy)]
pub struct Sparks {
    pub paths: RwSignal<HashMap<String, String>>,
}

/// What a refresh fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// Nothing pending.
    Nothing,
    /// Areas never fetched (they just got live data).
    New,
    /// Areas fetched a minute ago or more, and new ones.
    All,
}

#[derive(Debug)]
struct Fetcher {
    live: Live,
    domain: Domain,
    field: &'static str,
    paths: RwSignal<HashMap<String, String>>,
    /// When each area was last fetched (server clock, ms).
    fetched: RefCell<HashMap<String, f64>>,
    busy: Cell<bool>,
    /// Asked for while busy: done when the running refresh ends.
    pending: Cell<Due>,
}

/// Starts the sparklines of `field` in `domain` for a tile, for as long as the tile lives.
pub fn sparklines(live: Live, domain: Domain, field: &'static str) -> Sparks {
    let paths = RwSignal::new(HashMap::new());
    let fetcher = Rc::new(Fetcher {
        live,
        domain,
        field,
        paths,
        fetched: RefCell::new(HashMap::new()),
        busy: Cell::new(false),
        pending: Cell::new(Due::Nothing),
    });
    // The areas with live data in this domain: this list changes rarely (not on every delta),
    // and each change fetches only the areas never fetched.
    let areas = Memo::new(move |_| {
        live.state.with(|s| {
            s.areas
                .iter()
                .filter(|a| s.stat(domain, &a.code).is_some())
                .map(|a| a.code.clone())
                .collect::<Vec<_>>()
        })
    });
    let f = fetcher.clone();
    Effect::new(move |_| {
        // Read, not only tracked: a memo that was never read has not subscribed to its source.
        areas.with(|_| ());
        refresh(&f, Due::New);
    });
    let f = fetcher;
    if let Ok(h) = set_interval_with_handle(
        move || refresh(&f, Due::All),
        std::time::Duration::from_millis(REFRESH_MS as u64),
    ) {
        on_cleanup(move || h.clear());
    }
    Sparks { paths }
}

fn refresh(f: &Rc<Fetcher>, due: Due) {
    if page_hidden() {
        return;
    }
    if f.busy.get() {
        f.pending.set(f.pending.get().max(due));
        return;
    }
    f.busy.set(true);
    let f = f.clone();
    spawn_local(async move {
        let mut due = due;
        while due != Due::Nothing {
            fetch_due(&f, due).await;
            due = f.pending.replace(Due::Nothing);
        }
        f.busy.set(false);
    });
}

async fn fetch_due(f: &Fetcher, due: Due) {
    let (codes, offset) = f.live.state.with_untracked(|s| {
        (
            s.areas
                .iter()
                .filter(|a| s.stat(f.domain, &a.code).is_some())
                .map(|a| a.code.clone())
                .collect::<Vec<_>>(),
            s.clock_offset_ms,
        )
    });
    let now = js_sys::Date::now() + offset;
    let w = window(now, SPARK_SPAN_MS, SPARK_POINTS);
    for code in codes {
        let last = f.fetched.borrow().get(&code).copied();
        let is_due = match (last, due) {
            (None, _) => true,
            // A little early is fine: the interval is what keeps it to once a minute.
            (Some(t), Due::All) => now - t >= REFRESH_MS * 0.8,
            _ => false,
        };
        if !is_due {
            continue;
        }
        f.fetched.borrow_mut().insert(code.clone(), now);
        let q = Query {
            domain: f.domain,
            area: code.clone(),
            field: f.field,
            window: w,
        };
        match fetch(&q).await {
            Ok(buckets) => {
                let d = sparkline(&buckets, w, WIDTH, HEIGHT);
                if f.paths.with_untracked(|m| m.get(&code) != Some(&d)) {
                    f.paths.update(|m| {
                        m.insert(code, d);
                    });
                }
            }
            Err(e) => {
                web_sys::console::warn_1(
                    &format!("sparklines of {}: {e:?}; trying again in a minute", f.field).into(),
                );
                // The server or the store is down: the rest waits for the next round.
                if matches!(e, HistoryError::Network | HistoryError::Status(503, _)) {
                    break;
                }
            }
        }
    }
}

/// The sparkline of one area in a tile: the last hour of the tile's field, the mean per
/// 2 minutes. Draws nothing when there is no data.
#[component]
pub fn Sparkline(
    /// The tile's sparklines.
    sparks: Sparks,
    /// The code of the area.
    area: String,
) -> impl IntoView {
    let d = Memo::new(move |_| {
        sparks
            .paths
            .with(|m| m.get(&area).cloned().unwrap_or_default())
    });
    view! {
        <svg class="spark" viewBox="0 0 100 20" aria-hidden="true">
            <path class="spark-line" d=move || d.get() />
        </svg>
    }
}
