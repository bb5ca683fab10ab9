//! The groups of fields: each with its indicators on track, at risk and behind, and how many
//! carry a flag (an abnormal sign or a late report), at city level.

use ioc_protocol::indicator::{Board, Catalogue};

use crate::i18n::{Lang, int};
use crate::indicators::{esc, group_name, tr};

/// Every group of the catalogue, in its order, with its tally from the board; a group's
/// button goes to it (`data-go`).
pub fn grid_html(l: Lang, c: &Catalogue, board: Option<&Board>) -> String {
    let mut out = String::from(r#"<div class="ind-groups" data-testid="ind-groups">"#);
    for g in &c.groups {
        let tally = board.and_then(|b| b.groups.iter().find(|t| t.group == g.code));
        out.push_str(&format!(
            r#"<button type="button" class="ind-group" data-testid="group-{code}" data-go="group:{code}"><span class="ind-group-name">{name}</span>"#,
            code = esc(&g.code),
            name = esc(group_name(l, g)),
        ));
        if let Some(t) = tally {
            out.push_str(&format!(
                r#"<span class="ind-count">{n} {ind}</span><div class="ind-tally"><span class="st-on-track">{a} {a_w}</span><span class="st-at-risk">{b} {b_w}</span><span class="st-behind">{c} {c_w}</span></div><span class="ind-flags{has}">⚑ {f} {f_w}</span>"#,
                n = int(l, u64::from(t.indicators)),
                ind = tr(l, "chỉ tiêu", "indicators"),
                a = t.on_track,
                a_w = tr(l, "đạt", "on track"),
                b = t.at_risk,
                b_w = tr(l, "nguy cơ", "at risk"),
                c = t.behind,
                c_w = tr(l, "chậm", "behind"),
                has = if t.flagged > 0 { " has-flags" } else { "" },
                f = t.flagged,
                f_w = tr(l, "cảnh báo", "flagged"),
            ));
        }
        out.push_str("</button>");
    }
    out.push_str("</div>");
    out
}
