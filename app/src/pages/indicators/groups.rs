//! The groups of fields: each with its indicators on track, at risk and behind, and how many
//! carry a flag (an abnormal sign or a late report), at city level.

use ioc_protocol::indicator::GroupTally;
use leptos::prelude::*;

use super::{Place, go};
use crate::i18n::{int, use_lang};
use crate::indicators::{IndicatorBoard, group_name, tr};

/// Every group of the catalogue, in its order, with its tally from the board.
#[component]
pub fn GroupGrid(
    /// Where the page stands; a group's button opens it.
    place: RwSignal<Place>,
) -> impl IntoView {
    let lang = use_lang();
    let data = expect_context::<IndicatorBoard>();
    move || {
        let l = lang.get();
        let Some(groups) = data
            .catalogue
            .with(|c| c.as_ref().map(|c| c.groups.clone()))
        else {
            return view! { <p class="none">{tr(l, "Đang tải…", "Loading…")}</p> }.into_any();
        };
        let tallies: Vec<Option<GroupTally>> = data.board.with(|b| {
            groups
                .iter()
                .map(|g| {
                    b.as_ref()
                        .and_then(|b| b.groups.iter().find(|t| t.group == g.code))
                        .cloned()
                })
                .collect()
        });
        view! {
            <div class="ind-groups" data-testid="ind-groups">
                {groups.into_iter().zip(tallies).map(|(g, tally)| {
                    let code = g.code.clone();
                    let name = group_name(l, &g).to_owned();
                    let counts = tally.map(|t| {
                        let flagged = t.flagged > 0;
                        view! {
                        <span class="ind-count">{format!("{} {}", int(l, u64::from(t.indicators)), tr(l, "chỉ tiêu", "indicators"))}</span>
                        <div class="ind-tally">
                            <span class="st-on-track" title=tr(l, "Đạt tiến độ", "On track")>{format!("{} {}", t.on_track, tr(l, "đạt", "on track"))}</span>
                            <span class="st-at-risk" title=tr(l, "Có nguy cơ", "At risk")>{format!("{} {}", t.at_risk, tr(l, "nguy cơ", "at risk"))}</span>
                            <span class="st-behind" title=tr(l, "Chậm tiến độ", "Behind")>{format!("{} {}", t.behind, tr(l, "chậm", "behind"))}</span>
                        </div>
                        <span class="ind-flags" class:has-flags=flagged>
                            {format!("⚑ {} {}", t.flagged, tr(l, "cảnh báo", "flagged"))}
                        </span>
                    }});
                    view! {
                        <button type="button" class="ind-group" data-testid=format!("group-{code}")
                            on:click=move |_| go(place, Place::Group(code.clone()))>
                            <span class="ind-group-name">{name}</span>
                            {counts}
                        </button>
                    }
                }).collect_view()}
            </div>
        }
        .into_any()
    }
}
