//! Alerts on screen: the console's panel, where duty officers acknowledge, resolve and close
//! them; the wall's banner while critical alerts are active; and the marks of the map.
//!
//! The list comes whole over the websocket ([`Live::alerts`], a signal that changes only when
//! the alerts do), already in the screens' order ([`ioc_protocol::alerts::screen_order`]).
//! The panel's rows are keyed by the alert's id: a change updates in place the text that
//! changed and moves rows when the order changes, but never rebuilds a row, so a note being
//! typed survives the live updates.
//!
//! An action is `POST /api/v1/alerts/{id}/{ack|resolve|close}` with `{"note": "..."}`, for
//! officers and above ([`crate::api::alerts`]); the changed alert comes back over the
//! websocket within a second. The texts and figures are pure functions of the live state,
//! tested on the host.

use ioc_protocol::Domain;
use ioc_protocol::alerts::{Alert, AlertKind, AlertState, AlertsFigure, Severity};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::alerts::{act, action_url};
use crate::api::auth::AuthError;
use crate::auth::use_auth;
use crate::city::{City, use_city};
use crate::clock::{hcmc_clock, use_clock};
use crate::i18n::{
    Lang, Word, ago, critical_alerts, dec, int, pct, server_error, span, t, try_again_in, use_lang,
};
use crate::live::{Live, LiveState};

/// Whether a role may act on alerts: duty officers and above.
pub fn may_act(role: &str) -> bool {
    matches!(role, "officer" | "supervisor" | "admin")
}

/// The CSS class of a severity (its colour).
pub fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev-critical",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

pub fn severity_word(s: Severity) -> Word {
    match s {
        Severity::Critical => Word::SevCritical,
        Severity::Warning => Word::SevWarning,
        Severity::Info => Word::SevInfo,
    }
}

/// What an officer does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ack,
    Resolve,
    Close,
}

impl Action {
    /// The last segment of its URL.
    pub fn path(self) -> &'static str {
        match self {
            Action::Ack => "ack",
            Action::Resolve => "resolve",
            Action::Close => "close",
        }
    }

    /// The class of its button (`alert-ack`, ...).
    pub fn class(self) -> &'static str {
        match self {
            Action::Ack => "alert-ack",
            Action::Resolve => "alert-resolve",
            Action::Close => "alert-close",
        }
    }

    pub fn word(self) -> Word {
        match self {
            Action::Ack => Word::Acknowledge,
            Action::Resolve => Word::Resolve,
            Action::Close => Word::Close,
        }
    }

    /// The actions an alert in `state` allows.
    pub fn allowed(state: AlertState) -> &'static [Action] {
        match state {
            AlertState::Open => &[Action::Ack, Action::Resolve],
            AlertState::Acknowledged => &[Action::Resolve],
            AlertState::Resolved => &[Action::Close],
            AlertState::Closed => &[],
        }
    }
}

/// An area's name, `city` as the whole city, the code itself when unknown.
pub fn area_label(state: &LiveState, code: &str, lang: Lang) -> String {
    if code == "city" {
        return t(lang, Word::CityWide).to_owned();
    }
    state.area_name(code, lang)
}

/// The rule's name in `lang`.
pub fn alert_name(a: &Alert, lang: Lang) -> &str {
    if lang == Lang::Vi {
        &a.name_vi
    } else {
        &a.name_en
    }
}

/// A value of `field` with its unit: "165 cm", "VN_AQI 182", "82,5 %".
pub fn figure(lang: Lang, field: &str, v: f64) -> String {
    match field {
        "water_level_cm" => format!("{} cm", dec(lang, v, 0)),
        "rain_mmh" => format!("{} mm/h", dec(lang, v, 1)),
        "aqi" => format!("VN_AQI {v:.0}"),
        "speed_kmh" => format!("{} km/h", dec(lang, v, 1)),
        "latency_ms" => format!("{} ms", dec(lang, v, 0)),
        "on_time_rate" | "availability_today" => pct(lang, v),
        "overdue" => int(lang, v.max(0.0).round() as u64),
        f if f.ends_with("_ugm3") => format!("{} µg/m³", dec(lang, v, 1)),
        _ => dec(lang, v, if v.fract() == 0.0 { 0 } else { 1 }),
    }
}

/// What raised the alert, as the row says it: "165 cm (ngưỡng 160 cm)", "không gửi dữ liệu
/// 12 phút", "VN_AQI 182 (mức nền 70, lệch 5,1σ)".
pub fn value_text(lang: Lang, a: &Alert) -> String {
    let Some(v) = a.value.filter(|v| v.is_finite()) else {
        return String::new();
    };
    match a.kind {
        AlertKind::Offline => format!(
            "{} {}",
            t(lang, Word::Silent),
            span(lang, (v * 1000.0) as i64)
        ),
        AlertKind::Summary => format!(
            "{} {}",
            int(lang, v.max(0.0) as u64),
            t(lang, Word::AlertsHeld)
        ),
        AlertKind::IndicatorAbnormal | AlertKind::IndicatorBehind | AlertKind::IndicatorLate => {
            indicator_value_text(lang, a, v)
        }
        AlertKind::Threshold | AlertKind::Anomaly => {
            let mut s = figure(lang, &a.field, v);
            if let Some(th) = a.threshold.filter(|v| v.is_finite()) {
                let word = if a.kind == AlertKind::Anomaly {
                    Word::Baseline
                } else {
                    Word::Threshold
                };
                s.push_str(&format!(
                    " ({} {}",
                    t(lang, word),
                    figure(lang, &a.field, th)
                ));
                if let Some(z) = a.score.filter(|v| v.is_finite()) {
                    let off = if lang == Lang::Vi { "lệch " } else { "" };
                    s.push_str(&format!(", {off}{}σ", dec(lang, z, 1)));
                }
                s.push(')');
            }
            s
        }
    }
}

/// An indicator alert's value: "1.234 (kỳ vọng 980, lệch 5,2σ)", "62 % (kỳ vọng 83 %)",
/// "quá hạn 3 ngày".
fn indicator_value_text(lang: Lang, a: &Alert, v: f64) -> String {
    let expected = if lang == Lang::Vi {
        "kỳ vọng"
    } else {
        "expected"
    };
    let th = a.threshold.filter(|v| v.is_finite());
    match a.kind {
        AlertKind::IndicatorBehind => match th {
            Some(th) => format!(
                "{} ({expected} {})",
                pct(lang, v / 100.0),
                pct(lang, th / 100.0)
            ),
            None => pct(lang, v / 100.0),
        },
        AlertKind::IndicatorLate => {
            let overdue = if lang == Lang::Vi {
                "quá hạn"
            } else {
                "overdue"
            };
            format!("{overdue} {}", span(lang, (v * 1000.0) as i64))
        }
        _ => {
            let mut s = dec(lang, v, if v.fract() == 0.0 { 0 } else { 1 });
            if let Some(th) = th {
                s.push_str(&format!(" ({expected} {}", dec(lang, th, 1)));
                if let Some(z) = a.score.filter(|v| v.is_finite()) {
                    let off = if lang == Lang::Vi { "lệch " } else { "" };
                    s.push_str(&format!(", {off}{}σ", dec(lang, z, 1)));
                }
                s.push(')');
            }
            s
        }
    }
}

/// Where the alert stands, and who did what: "Đã xác nhận · admin: “Đã cử đội”".
pub fn state_text(lang: Lang, a: &Alert) -> String {
    let (word, by) = match a.state {
        AlertState::Open => (Word::StateOpen, None),
        AlertState::Acknowledged => (Word::StateAcknowledged, a.acked_by.clone()),
        AlertState::Resolved => (
            Word::StateResolved,
            Some(
                a.resolved_by
                    .clone()
                    .unwrap_or_else(|| t(lang, Word::ResolvedByItself).to_owned()),
            ),
        ),
        AlertState::Closed => (Word::StateClosed, a.closed_by.clone()),
    };
    let mut s = t(lang, word).to_owned();
    if let Some(by) = by {
        s.push_str(" · ");
        s.push_str(&by);
    }
    if let Some(note) = a.note.as_deref().filter(|n| !n.trim().is_empty())
        && a.state != AlertState::Open
    {
        s.push_str(&format!(": “{}”", note.trim()));
    }
    if a.reopened > 0 {
        s.push_str(&match lang {
            Lang::Vi => format!(" · mở lại {} lần", a.reopened),
            Lang::En => format!(" · reopened {}×", a.reopened),
        });
    }
    s
}

/// The name of what the alert is about (a gauge, a station, a corridor, an agency...), when
/// it is not the area itself; the id when the city map does not know it.
fn source_name(city: City, a: &Alert, lang: Lang) -> String {
    if a.source.is_empty() || a.source == a.area || a.source == "city" {
        return String::new();
    }
    use ioc_protocol::map::{CityMap, Named};
    let list: fn(&CityMap) -> &[Named] = match a.domain {
        Domain::Flood => |m| &m.gauges,
        Domain::Env => |m| &m.stations,
        Domain::Traffic => |m| &m.corridors,
        Domain::Service => |m| &m.agencies,
        Domain::System => |m| &m.platforms,
        Domain::Complaint => return a.source.clone(),
    };
    let name = city.name(list, &a.source, lang);
    if name != a.source {
        return name;
    }
    // A gauge's sensors are `{gauge}-{n}`.
    match a.source.rsplit_once('-') {
        Some((gauge, n)) if n.bytes().all(|b| b.is_ascii_digit()) => {
            let g = city.name(list, gauge, lang);
            if g == gauge { name } else { g }
        }
        _ => name,
    }
}

/// The text of a failed action.
pub fn error_text(lang: Lang, e: &AuthError) -> String {
    match e {
        AuthError::Refused => t(lang, Word::SessionEnded).to_owned(),
        AuthError::Throttled { retry_after_s } => try_again_in(lang, *retry_after_s),
        AuthError::Network => t(lang, Word::ServerUnreachable).to_owned(),
        AuthError::Status(403, _) => t(lang, Word::NotAllowed).to_owned(),
        AuthError::Status(404, _) => t(lang, Word::NoSuchAlert).to_owned(),
        // The server says why in English; the row above already shows the alert's state.
        AuthError::Status(409, msg) if lang == Lang::En && !msg.is_empty() => {
            format!("{}: {msg}", t(lang, Word::ActionFailed))
        }
        AuthError::Status(409, _) => t(lang, Word::AlertChanged).to_owned(),
        AuthError::Status(status, msg) if msg.is_empty() => server_error(lang, *status),
        AuthError::Status(status, msg) => format!("{}: {msg}", server_error(lang, *status)),
    }
}

/// An area's mark on a map of `domain`: how many active (open or acknowledged) alerts it
/// has there, and the highest severity among them.
pub fn area_mark(f: &AlertsFigure, domain: Domain, area: &str) -> Option<(u32, Severity)> {
    f.alerts
        .iter()
        .filter(|a| a.domain == domain && a.area == area && a.state.is_active())
        .fold(None, |m, a| match m {
            None => Some((1, a.severity)),
            Some((n, s)) => Some((n + 1, s.max(a.severity))),
        })
}

/// The wall's banner while critical alerts are active: "⚠ 2 cảnh báo nghiêm trọng", then the
/// newest one's name, " — Mực nước đạt Báo động 3", and its area and age, " · Quận 8 · 5
/// phút" (three parts: a long name gives way first).
pub fn banner(lang: Lang, state: &LiveState, f: &AlertsFigure, now: i64) -> Option<[String; 3]> {
    if f.critical == 0 {
        return None;
    }
    let count = format!("⚠ {}", critical_alerts(lang, f.critical));
    let newest = f
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical && a.state.is_active())
        .max_by_key(|a| (a.raised_at, a.id));
    Some(match newest {
        Some(a) => [
            count,
            format!(" — {}", alert_name(a, lang)),
            format!(
                " · {} · {}",
                area_label(state, &a.area, lang),
                span(lang, now - a.raised_at)
            ),
        ],
        None => [count, String::new(), String::new()],
    })
}

/// The console's alerts: the counts, and the list, scrolling inside the panel.
#[component]
pub fn AlertsPanel() -> impl IntoView {
    let lang = use_lang();
    let alerts = expect_context::<Live>().alerts;
    let auth = use_auth();
    let ctx = Ctx {
        officer: Memo::new(move |_| auth.session().is_some_and(|s| may_act(&s.role))),
        form: RwSignal::new(None),
    };
    // Keyed by the id's text, as the areas' tables are: they share the keyed list's code.
    let ids = move || {
        alerts.with(|f| {
            f.alerts
                .iter()
                .map(|a| a.id.to_string())
                .collect::<Vec<_>>()
        })
    };
    let word = move |w: Word| move || t(lang.get(), w);
    let count =
        move |f: fn(&AlertsFigure) -> u32| move || int(lang.get(), u64::from(alerts.with(f)));
    // Empty, it takes no room (`:empty`).
    let note = move || {
        let l = lang.get();
        alerts.with(|f| {
            let mut s = String::new();
            if f.alerts.is_empty() {
                s.push_str(t(l, Word::NoAlerts));
            }
            if f.held_total > 0 {
                s.push_str(&format!(
                    " {} {}",
                    int(l, f.held_total),
                    t(l, Word::AlertsHeld)
                ));
            }
            s
        })
    };
    view! {
        <section class="tile tile-alerts" id="alerts-panel" data-testid="alerts-panel">
            <header>
                <h2>{word(Word::Alerts)}</h2>
                <div class="alert-counts" class:critical=move || alerts.with(|f| f.critical > 0)>
                    <span class="alert-count"><b id="alerts-open">{count(|f| f.open)}</b>" "{word(Word::StateOpen)}</span>
                    <span class="alert-count"><b id="alerts-acknowledged">{count(|f| f.acknowledged)}</b>" "{word(Word::StateAcknowledged)}</span>
                    <span class="alert-count"><b id="alerts-critical">{count(|f| f.critical)}</b>" "{word(Word::SevCritical)}</span>
                </div>
            </header>
            <p class="alerts-note">{note}</p>
            <ul class="alert-list">
                <For each=ids key=|id| id.clone() children=move |id| alert_row(id.parse().unwrap_or_default(), ctx) />
            </ul>
        </section>
    }
}

/// The panel's state that its rows share.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    officer: Memo<bool>,
    /// The action being written (one at a time).
    form: RwSignal<Option<Form>>,
}

/// An action being written: its alert, whether it is being sent, and why it failed.
#[derive(Debug, Clone, PartialEq)]
struct Form {
    id: u64,
    action: Action,
    busy: bool,
    error: Option<AuthError>,
}

/// One alert of the panel. Its text is updated in place when the alerts change (the row is
/// not replaced: an open note form stays); its age follows the clock.
fn alert_row(id: u64, ctx: Ctx) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let clock = use_clock();
    let city = use_city();
    let alert = move |f: &dyn Fn(&Alert) -> String| {
        live.alerts.with(|all| {
            all.alerts
                .iter()
                .find(|a| a.id == id)
                .map_or_else(String::new, f)
        })
    };
    let age = move || {
        let now = live.state.with_untracked(|s| s.server_now(clock.0.get()));
        let l = lang.get();
        alert(&|a| ago(l, now - a.raised_at))
    };
    let body = move || {
        let l = lang.get();
        let officer = ctx.officer.get();
        live.alerts.with(|all| {
            let a = all.alerts.iter().find(|a| a.id == id)?;
            // Areas come with the snapshot that brought the alert.
            let area = live.state.with_untracked(|s| area_label(s, &a.area, l));
            let source = source_name(city, a, l);
            let what = match (source.is_empty(), value_text(l, a)) {
                (true, v) => v,
                (false, v) if v.is_empty() => source,
                (false, v) => format!("{source} · {v}"),
            };
            let actions = if officer { Action::allowed(a.state) } else { &[] };
            Some(view! {
                <div class="alert-line">
                    <span class="alert-sev">{t(l, severity_word(a.severity))}</span>
                    <span class="alert-name" title=format!("{} · {}", a.source, hcmc_clock(a.raised_at as f64))>
                        {alert_name(a, l).to_owned()}
                    </span>
                </div>
                <div class="alert-where">
                    <span class="alert-area">{area}</span>
                    <span class="alert-value">{what}</span>
                </div>
                <div class="alert-line alert-sub">
                    <span class="alert-state">{state_text(l, a)}</span>
                    <span class="alert-actions">
                        {actions
                            .iter()
                            .map(|&action| view! {
                                <button type="button" class=format!("alert-btn {}", action.class())
                                    on:click=move |_| ctx.form.update(|f| {
                                        let same = f.as_ref().is_some_and(|f| f.id == id && f.action == action);
                                        *f = (!same).then_some(Form { id, action, busy: false, error: None });
                                    })>
                                    {t(l, action.word())}
                                </button>
                            })
                            .collect_view()}
                    </span>
                </div>
            })
        })
    };
    // Only which action is open counts here, not how its sending goes.
    let open = Memo::new(move |_| {
        ctx.form
            .with(|f| f.as_ref().filter(|f| f.id == id).map(|f| f.action))
    });
    let form = move || open.get().map(|action| note_form(id, action, ctx));
    view! {
        <li class=move || alert(&|a| format!("alert-row {}", severity_class(a.severity)))
            data-id=id data-state=move || alert(&|a| a.state.as_str().to_owned())>
            <span class="alert-age">{age}</span>
            {body}
            {form}
        </li>
    }
}

/// The note of an action, and its confirm button: the action is sent on confirm (or Enter),
/// dropped on cancel (or Escape). The form stays open, with the reason, when it fails.
fn note_form(id: u64, action: Action, ctx: Ctx) -> impl IntoView {
    let lang = use_lang();
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = input.get() {
            let _ = i.focus();
        }
    });
    let busy = move || ctx.form.with(|f| f.as_ref().is_some_and(|f| f.busy));
    let submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        if busy() {
            return;
        }
        let note = input.get_untracked().map(|i| i.value()).unwrap_or_default();
        let set = move |busy: bool, error: Option<AuthError>| {
            // The panel may be gone by now (a logout): hence `try_`.
            let _ = ctx.form.try_update(|f| {
                if let Some(f) = f.as_mut().filter(|f| f.id == id) {
                    f.busy = busy;
                    f.error = error;
                }
            });
        };
        set(true, None);
        spawn_local(async move {
            // The websocket brings the changed alert within a second.
            let Err(failed) = act(id, action.path(), &note).await else {
                let _ = ctx.form.try_set(None);
                return;
            };
            let url = action_url(id, action.path());
            web_sys::console::warn_1(&format!("{url}: {failed:?}").into());
            set(false, Some(failed));
        });
    };
    let word = move |w: Word| move || t(lang.get(), w);
    let error = move || {
        let l = lang.get();
        ctx.form.with(|f| {
            f.as_ref()
                .and_then(|f| f.error.as_ref())
                .map_or_else(String::new, |e| error_text(l, e))
        })
    };
    view! {
        <form class="alert-form" on:submit=submit
            on:keydown=move |e| if e.key() == "Escape" { ctx.form.set(None) }>
            <input node_ref=input class="alert-note" type="text" name="note" maxlength="500"
                autocomplete="off" placeholder=word(Word::NoteHint) />
            <button type="submit" class="alert-btn alert-confirm" disabled=busy>{word(action.word())}</button>
            <button type="button" class="alert-btn alert-cancel" on:click=move |_| ctx.form.set(None)>
                {word(Word::Cancel)}
            </button>
            <p class="alert-error" role="alert">{error}</p>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::AreaInfo;

    fn alert(id: u64, severity: Severity, state: AlertState, area: &str) -> Alert {
        Alert {
            id,
            rule: "flood-bd3".into(),
            name_vi: "Mực nước ≥ BĐ3".into(),
            name_en: "Water level ≥ alarm 3".into(),
            kind: AlertKind::Threshold,
            severity,
            domain: Domain::Flood,
            area: area.into(),
            source: "fg-phu-an".into(),
            field: "water_level_cm".into(),
            value: Some(165.0),
            threshold: Some(160.0),
            score: None,
            state,
            opened_at: 1_000,
            raised_at: 1_000 + id as i64,
            acked_at: None,
            acked_by: None,
            note: None,
            resolved_at: None,
            resolved_by: None,
            closed_at: None,
            closed_by: None,
            reopened: 0,
            updated_at: 1_000,
        }
    }

    #[test]
    fn values_say_their_unit_and_threshold() {
        let a = alert(1, Severity::Critical, AlertState::Open, "q8");
        assert_eq!(value_text(Lang::Vi, &a), "165 cm (ngưỡng 160 cm)");
        assert_eq!(value_text(Lang::En, &a), "165 cm (threshold 160 cm)");
        let mut off = a.clone();
        off.kind = AlertKind::Offline;
        off.value = Some(720.0);
        assert_eq!(value_text(Lang::Vi, &off), "không gửi dữ liệu 12 phút");
        let mut anomaly = a.clone();
        anomaly.kind = AlertKind::Anomaly;
        anomaly.field = "aqi".into();
        anomaly.value = Some(182.0);
        anomaly.threshold = Some(70.0);
        anomaly.score = Some(5.14);
        assert_eq!(
            value_text(Lang::Vi, &anomaly),
            "VN_AQI 182 (mức nền VN_AQI 70, lệch 5,1σ)"
        );
        assert_eq!(figure(Lang::Vi, "on_time_rate", 0.825), "82,5 %");
        assert_eq!(figure(Lang::En, "pm25_ugm3", 61.54), "61.5 µg/m³");
    }

    #[test]
    fn states_say_who_and_why() {
        let mut a = alert(1, Severity::Critical, AlertState::Acknowledged, "q8");
        a.acked_by = Some("nguyen.van.a".into());
        a.note = Some("Đã cử đội ứng trực ".into());
        assert_eq!(
            state_text(Lang::Vi, &a),
            "Đã xác nhận · nguyen.van.a: “Đã cử đội ứng trực”"
        );
        a.state = AlertState::Resolved;
        assert_eq!(
            state_text(Lang::En, &a),
            "Resolved · cleared by itself: “Đã cử đội ứng trực”"
        );
        let open = alert(2, Severity::Warning, AlertState::Open, "q8");
        assert_eq!(state_text(Lang::Vi, &open), "Mới");
        assert_eq!(
            Action::allowed(AlertState::Open),
            [Action::Ack, Action::Resolve]
        );
        assert_eq!(Action::allowed(AlertState::Resolved), [Action::Close]);
        assert!(
            may_act("officer") && may_act("admin") && !may_act("viewer") && !may_act("display")
        );
    }

    #[test]
    fn errors_are_told() {
        assert_eq!(
            error_text(
                Lang::Vi,
                &AuthError::Status(409, "already acknowledged by ops2".into())
            ),
            "Không thực hiện được: cảnh báo đã được người khác xử lý (trạng thái ở trên)"
        );
        assert_eq!(
            error_text(
                Lang::En,
                &AuthError::Status(409, "already acknowledged by ops2".into())
            ),
            "Could not be done: already acknowledged by ops2"
        );
        assert_eq!(
            error_text(Lang::En, &AuthError::Status(403, "officer or above".into())),
            "Your role may not do this"
        );
        assert_eq!(
            error_text(Lang::En, &AuthError::Status(500, String::new())),
            "Server error (500)"
        );
    }

    #[test]
    fn marks_and_banner_follow_the_active_alerts() {
        let s = LiveState {
            areas: vec![AreaInfo {
                code: "q8".into(),
                name_vi: "Quận 8".into(),
                name_en: "District 8".into(),
            }],
            ..LiveState::default()
        };
        let mut info = alert(3, Severity::Info, AlertState::Open, "q8");
        info.domain = Domain::Env;
        let mut f = AlertsFigure {
            alerts: vec![
                alert(1, Severity::Critical, AlertState::Acknowledged, "q8"),
                alert(2, Severity::Critical, AlertState::Open, "q8"),
                alert(4, Severity::Warning, AlertState::Resolved, "binh-thanh"),
                alert(5, Severity::Warning, AlertState::Open, "binh-thanh"),
                info,
            ],
            critical: 2,
            ..AlertsFigure::default()
        };
        assert_eq!(
            area_mark(&f, Domain::Flood, "q8"),
            Some((2, Severity::Critical))
        );
        assert_eq!(
            area_mark(&f, Domain::Flood, "binh-thanh"),
            Some((1, Severity::Warning))
        );
        assert_eq!(area_mark(&f, Domain::Env, "q8"), Some((1, Severity::Info)));
        assert_eq!(area_mark(&f, Domain::Traffic, "q8"), None);
        let [count, name, place] = banner(Lang::Vi, &s, &f, 1_002 + 300_000).unwrap();
        assert_eq!(
            format!("{count}{name}{place}"),
            "⚠ 2 cảnh báo nghiêm trọng — Mực nước ≥ BĐ3 · Quận 8 · 5 phút"
        );
        assert_eq!(area_label(&s, "city", Lang::En), "Whole city");
        f.critical = 0;
        assert_eq!(banner(Lang::Vi, &s, &f, 0), None);
    }
}
