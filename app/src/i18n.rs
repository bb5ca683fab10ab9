//! The words on the screen: Vietnamese first, English on a switch (`../shared/GLOSSARY.md`).

use leptos::prelude::*;

/// The language of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

const STORAGE_KEY: &str = "ioc.lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The language remembered in this browser, Vietnamese when none is.
    pub fn remembered() -> Lang {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        match stored.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }

    pub fn remember(self) {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(STORAGE_KEY, self.code());
        }
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", self.code());
        }
    }
}

/// A word or phrase of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    OperationsCenter,
    KeyIndicators,
    Environment,
    AirQuality,
    Traffic,
    Area,
    AverageSpeed,
    Congestion,
    Updated,
    StaleData,
    NoData,
    Online,
    Connecting,
    Reconnecting,
    Sources,
    Pm25,
    CongestionScale,
    Range1h,
    Range24h,
    Range7d,
    LastHour,
    History,
    ShowHistory,
    Close,
    Loading,
    HistoryUnavailable,
    Mean,
    MinMax,
    Latest,
    RangeSwitch,
    LocalTime,
    Flooding,
    WaterLevel,
    Rain,
    BelowAlarm,
    PeakToday,
    GaugesAtAlarm,
    Complaints,
    ComplaintsShort,
    Received,
    Resolved,
    InProgress,
    Overdue,
    OpenNow,
    Per10k,
    OnTime,
    Late,
    PublicServices,
    OnlineServices,
    Dossiers,
    Done,
    Backlog,
    OnlineShare,
    Agency,
    SystemHealth,
    Offline,
    SourcesOnline,
    SourcesOffline,
    ReadingsPerS,
    RejectedPerS,
    Screens,
    LostMessages,
    Broker,
    DataStore,
    Spooling,
    Platforms,
    Availability,
    Latency,
    Incident,
    Incidents,
    NoIncident,
    Hotspots,
    ByCategory,
    ByChannel,
    ByArea,
    Today,
    Map,
    Grid,
    Boundaries,
    NoGauge,
    Stations,
    Gauges,
    Corridors,
    CityWide,
    WorstStation,
    SensorValue,
    Since,
    Up,
    Down,
    LayerAqi,
    LayerCongestion,
    LayerComplaints,
    LayerFlood,
    LayerOnTime,
    AirQualityTitle,
    TrafficTitle,
    Kmh,
    Cut,
    HighestAlarm,
    FloodingShort,
    ReceivedToday,
    RainMmh,
    UserName,
    Password,
    LogIn,
    LogOut,
    WrongLogin,
    ServerUnreachable,
    SessionEnded,
    LogoutFailed,
    NoAccessKey,
    NoAccessHint,
    KeyRefused,
    DisplaySessionEnded,
    Alerts,
    NoAlerts,
    SevCritical,
    SevWarning,
    SevInfo,
    StateOpen,
    StateAcknowledged,
    StateResolved,
    StateClosed,
    Acknowledge,
    Resolve,
    Cancel,
    NoteHint,
    ResolvedByItself,
    Threshold,
    Baseline,
    Silent,
    AlertsHeld,
    NotAllowed,
    NoSuchAlert,
    ActionFailed,
    AlertChanged,
}

pub fn t(lang: Lang, word: Word) -> &'static str {
    use Word::*;
    match (lang, word) {
        (Lang::Vi, OperationsCenter) => "Trung tâm điều hành (IOC)",
        (Lang::En, OperationsCenter) => "Operations center (IOC)",
        (Lang::Vi, KeyIndicators) => "Chỉ tiêu kinh tế - xã hội chủ yếu",
        (Lang::En, KeyIndicators) => "Key socio-economic indicators",
        (Lang::Vi, Environment) => "Môi trường",
        (Lang::En, Environment) => "Environment",
        (Lang::Vi, AirQuality) => "Chất lượng không khí",
        (Lang::En, AirQuality) => "Air quality",
        (Lang::Vi, Traffic) => "Giao thông",
        (Lang::En, Traffic) => "Traffic",
        (Lang::Vi, Area) => "Khu vực",
        (Lang::En, Area) => "Area",
        (Lang::Vi, AverageSpeed) => "Tốc độ trung bình",
        (Lang::En, AverageSpeed) => "Average speed",
        (Lang::Vi, Congestion) => "Ùn tắc",
        (Lang::En, Congestion) => "Congestion",
        (Lang::Vi, Updated) => "Cập nhật",
        (Lang::En, Updated) => "Updated",
        (Lang::Vi, StaleData) => "Dữ liệu cũ",
        (Lang::En, StaleData) => "Stale data",
        (Lang::Vi, NoData) => "Chưa có dữ liệu",
        (Lang::En, NoData) => "No data yet",
        (Lang::Vi, Online) => "Trực tuyến",
        (Lang::En, Online) => "Online",
        (Lang::Vi, Connecting) => "Đang kết nối",
        (Lang::En, Connecting) => "Connecting",
        (Lang::Vi, Reconnecting) => "Đang kết nối lại",
        (Lang::En, Reconnecting) => "Reconnecting",
        (Lang::Vi, Sources) => "nguồn",
        (Lang::En, Sources) => "sources",
        (Lang::Vi, Pm25) => "Bụi mịn PM2.5",
        (Lang::En, Pm25) => "PM2.5",
        (Lang::Vi, CongestionScale) => "mức 0–5",
        (Lang::En, CongestionScale) => "level 0–5",
        (Lang::Vi, Range1h) => "1 giờ",
        (Lang::En, Range1h) => "1 h",
        (Lang::Vi, Range24h) => "24 giờ",
        (Lang::En, Range24h) => "24 h",
        (Lang::Vi, Range7d) => "7 ngày",
        (Lang::En, Range7d) => "7 days",
        (Lang::Vi, LastHour) => "1 giờ qua",
        (Lang::En, LastHour) => "Last hour",
        (Lang::Vi, History) => "Lịch sử",
        (Lang::En, History) => "History",
        (Lang::Vi, ShowHistory) => "Xem lịch sử",
        (Lang::En, ShowHistory) => "Show history",
        (Lang::Vi, Close) => "Đóng",
        (Lang::En, Close) => "Close",
        (Lang::Vi, Loading) => "Đang tải…",
        (Lang::En, Loading) => "Loading…",
        (Lang::Vi, HistoryUnavailable) => "Không tải được dữ liệu lịch sử",
        (Lang::En, HistoryUnavailable) => "History unavailable",
        (Lang::Vi, Mean) => "Giá trị trung bình",
        (Lang::En, Mean) => "Mean",
        (Lang::Vi, MinMax) => "Thấp nhất – cao nhất",
        (Lang::En, MinMax) => "Min – max",
        (Lang::Vi, Latest) => "Mới nhất",
        (Lang::En, Latest) => "Latest",
        (Lang::Vi, RangeSwitch) => "Khoảng thời gian",
        (Lang::En, RangeSwitch) => "Time range",
        (Lang::Vi, LocalTime) => "Giờ Việt Nam (UTC+7)",
        (Lang::En, LocalTime) => "Vietnam time (UTC+7)",
        (Lang::Vi, Flooding) => "Ngập nước, triều cường",
        (Lang::En, Flooding) => "Flooding, high tide",
        (Lang::Vi, WaterLevel) => "Mực nước",
        (Lang::En, WaterLevel) => "Water level",
        (Lang::Vi, Rain) => "Mưa",
        (Lang::En, Rain) => "Rain",
        (Lang::Vi, BelowAlarm) => "Dưới BĐ1",
        (Lang::En, BelowAlarm) => "Below alarm 1",
        (Lang::Vi, PeakToday) => "Cao nhất hôm nay",
        (Lang::En, PeakToday) => "Today's peak",
        (Lang::Vi, GaugesAtAlarm) => "trạm đạt mức báo động",
        (Lang::En, GaugesAtAlarm) => "gauges at an alarm level",
        (Lang::Vi, Complaints) => "Phản ánh, kiến nghị (Tổng đài 1022)",
        (Lang::En, Complaints) => "Citizen complaints (1022)",
        (Lang::Vi, ComplaintsShort) => "Phản ánh (1022)",
        (Lang::En, ComplaintsShort) => "Complaints (1022)",
        (Lang::Vi, Received) => "Tiếp nhận",
        (Lang::En, Received) => "Received",
        (Lang::Vi, Resolved) => "Đã xử lý",
        (Lang::En, Resolved) => "Resolved",
        (Lang::Vi, InProgress) => "Đang xử lý",
        (Lang::En, InProgress) => "In progress",
        (Lang::Vi, Overdue) => "Quá hạn",
        (Lang::En, Overdue) => "Overdue",
        (Lang::Vi, OpenNow) => "Chưa xong",
        (Lang::En, OpenNow) => "Open",
        (Lang::Vi, Per10k) => "trên 10.000 dân",
        (Lang::En, Per10k) => "per 10,000 people",
        (Lang::Vi, OnTime) => "Đúng hạn",
        (Lang::En, OnTime) => "On time",
        (Lang::Vi, Late) => "Trễ hạn",
        (Lang::En, Late) => "Late",
        (Lang::Vi, PublicServices) => "Dịch vụ công",
        (Lang::En, PublicServices) => "Public services",
        (Lang::Vi, OnlineServices) => "Dịch vụ công trực tuyến",
        (Lang::En, OnlineServices) => "Online public services",
        (Lang::Vi, Dossiers) => "Hồ sơ",
        (Lang::En, Dossiers) => "Dossiers",
        (Lang::Vi, Done) => "Đã giải quyết",
        (Lang::En, Done) => "Done",
        (Lang::Vi, Backlog) => "Đang giải quyết",
        (Lang::En, Backlog) => "Open",
        (Lang::Vi, OnlineShare) => "Nộp trực tuyến",
        (Lang::En, OnlineShare) => "Filed online",
        (Lang::Vi, Agency) => "Cơ quan, đơn vị",
        (Lang::En, Agency) => "Agency",
        (Lang::Vi, SystemHealth) => "Tình trạng hệ thống",
        (Lang::En, SystemHealth) => "System health",
        (Lang::Vi, Offline) => "Mất kết nối",
        (Lang::En, Offline) => "Offline",
        (Lang::Vi, SourcesOnline) => "Nguồn trực tuyến",
        (Lang::En, SourcesOnline) => "Sources online",
        (Lang::Vi, SourcesOffline) => "Nguồn mất kết nối",
        (Lang::En, SourcesOffline) => "Sources offline",
        (Lang::Vi, ReadingsPerS) => "bản tin/giây",
        (Lang::En, ReadingsPerS) => "readings/s",
        (Lang::Vi, RejectedPerS) => "bị từ chối/giây",
        (Lang::En, RejectedPerS) => "rejected/s",
        (Lang::Vi, Screens) => "Màn hình đang xem",
        (Lang::En, Screens) => "Screens connected",
        (Lang::Vi, LostMessages) => "Bản tin bị mất",
        (Lang::En, LostMessages) => "Messages lost",
        (Lang::Vi, Broker) => "Máy chủ MQTT",
        (Lang::En, Broker) => "MQTT broker",
        (Lang::Vi, DataStore) => "Kho dữ liệu",
        (Lang::En, DataStore) => "Data store",
        (Lang::Vi, Spooling) => "Đang lưu tạm ra đĩa",
        (Lang::En, Spooling) => "Spooling to disk",
        (Lang::Vi, Platforms) => "Nền tảng của thành phố",
        (Lang::En, Platforms) => "City platforms",
        (Lang::Vi, Availability) => "Khả dụng hôm nay",
        (Lang::En, Availability) => "Available today",
        (Lang::Vi, Latency) => "Độ trễ",
        (Lang::En, Latency) => "Latency",
        (Lang::Vi, Incident) => "Sự cố",
        (Lang::En, Incident) => "Incident",
        (Lang::Vi, Incidents) => "Sự cố đang xảy ra",
        (Lang::En, Incidents) => "Open incidents",
        (Lang::Vi, NoIncident) => "Không có sự cố",
        (Lang::En, NoIncident) => "No incident",
        (Lang::Vi, Hotspots) => "Điểm ùn tắc",
        (Lang::En, Hotspots) => "Congestion hotspots",
        (Lang::Vi, ByCategory) => "Theo lĩnh vực",
        (Lang::En, ByCategory) => "By category",
        (Lang::Vi, ByChannel) => "Theo kênh tiếp nhận",
        (Lang::En, ByChannel) => "By channel",
        (Lang::Vi, ByArea) => "Theo khu vực",
        (Lang::En, ByArea) => "By area",
        (Lang::Vi, Today) => "Hôm nay",
        (Lang::En, Today) => "Today",
        (Lang::Vi, Map) => "Bản đồ",
        (Lang::En, Map) => "Map",
        (Lang::Vi, Grid) => "Lưới",
        (Lang::En, Grid) => "Grid",
        (Lang::Vi, Boundaries) => "Ranh giới",
        (Lang::En, Boundaries) => "Boundaries",
        (Lang::Vi, NoGauge) => "Không có trạm đo",
        (Lang::En, NoGauge) => "No gauge",
        (Lang::Vi, Stations) => "trạm quan trắc",
        (Lang::En, Stations) => "stations",
        (Lang::Vi, Gauges) => "trạm đo",
        (Lang::En, Gauges) => "gauges",
        (Lang::Vi, Corridors) => "tuyến đường",
        (Lang::En, Corridors) => "corridors",
        (Lang::Vi, CityWide) => "Toàn thành phố",
        (Lang::En, CityWide) => "Whole city",
        (Lang::Vi, WorstStation) => "Trạm cao nhất",
        (Lang::En, WorstStation) => "Worst station",
        (Lang::Vi, SensorValue) => "theo cảm biến",
        (Lang::En, SensorValue) => "sensor value",
        (Lang::Vi, Since) => "từ",
        (Lang::En, Since) => "since",
        (Lang::Vi, Up) => "Hoạt động",
        (Lang::En, Up) => "Up",
        (Lang::Vi, Down) => "Gián đoạn",
        (Lang::En, Down) => "Down",
        (Lang::Vi, LayerAqi) => "Chất lượng không khí (VN_AQI)",
        (Lang::En, LayerAqi) => "Air quality (VN_AQI)",
        (Lang::Vi, LayerCongestion) => "Ùn tắc (mức 0–5)",
        (Lang::En, LayerCongestion) => "Congestion (level 0–5)",
        (Lang::Vi, LayerComplaints) => "Phản ánh hôm nay / 10.000 dân",
        (Lang::En, LayerComplaints) => "Complaints today / 10,000 people",
        (Lang::Vi, LayerFlood) => "Mực nước (cm) và mức báo động",
        (Lang::En, LayerFlood) => "Water level (cm) and alarm level",
        (Lang::Vi, LayerOnTime) => "Hồ sơ đúng hạn",
        (Lang::En, LayerOnTime) => "Dossiers on time",
        (Lang::Vi, AirQualityTitle) => "Chất lượng không khí",
        (Lang::En, AirQualityTitle) => "Air quality",
        (Lang::Vi, TrafficTitle) => "Giao thông",
        (Lang::En, TrafficTitle) => "Traffic",
        (Lang::Vi, Kmh) => "km/h",
        (Lang::En, Kmh) => "km/h",
        (Lang::Vi, Cut) => "Mất kết nối máy chủ",
        (Lang::En, Cut) => "Cut off from the server",
        (Lang::Vi, FloodingShort) => "Ngập nước",
        (Lang::En, FloodingShort) => "Flooding",
        (Lang::Vi, ReceivedToday) => "Tiếp nhận hôm nay",
        (Lang::En, ReceivedToday) => "Received today",
        (Lang::Vi, HighestAlarm) => "Mức báo động cao nhất",
        (Lang::En, HighestAlarm) => "Highest alarm level",
        (Lang::Vi, RainMmh) => "Mưa lớn nhất (mm/h)",
        (Lang::En, RainMmh) => "Heaviest rain (mm/h)",
        (Lang::Vi, UserName) => "Tên đăng nhập",
        (Lang::En, UserName) => "User name",
        (Lang::Vi, Password) => "Mật khẩu",
        (Lang::En, Password) => "Password",
        (Lang::Vi, LogIn) => "Đăng nhập",
        (Lang::En, LogIn) => "Log in",
        (Lang::Vi, LogOut) => "Đăng xuất",
        (Lang::En, LogOut) => "Log out",
        (Lang::Vi, WrongLogin) => "Sai tên đăng nhập hoặc mật khẩu",
        (Lang::En, WrongLogin) => "Wrong user name or password",
        (Lang::Vi, ServerUnreachable) => "Không kết nối được máy chủ",
        (Lang::En, ServerUnreachable) => "Cannot reach the server",
        (Lang::Vi, SessionEnded) => "Phiên làm việc đã kết thúc, vui lòng đăng nhập lại",
        (Lang::En, SessionEnded) => "Your session has ended; please log in again",
        (Lang::Vi, LogoutFailed) => "Chưa đăng xuất được, hãy thử lại",
        (Lang::En, LogoutFailed) => "Could not log out; try again",
        (Lang::Vi, NoAccessKey) => "Màn hình chưa được cấp quyền",
        (Lang::En, NoAccessKey) => "This display has no access key",
        (Lang::Vi, NoAccessHint) => {
            "Quản trị viên tạo khóa hiển thị và mở địa chỉ có khóa trên màn hình này"
        }
        (Lang::En, NoAccessHint) => {
            "An admin creates a display key and opens its address on this screen"
        }
        (Lang::Vi, KeyRefused) => "Khóa hiển thị không hợp lệ hoặc đã bị thu hồi",
        (Lang::En, KeyRefused) => "The display key is unknown or has been revoked",
        (Lang::Vi, DisplaySessionEnded) => "Phiên hiển thị đã kết thúc",
        (Lang::En, DisplaySessionEnded) => "The display's session has ended",
        (Lang::Vi, Alerts) => "Cảnh báo",
        (Lang::En, Alerts) => "Alerts",
        (Lang::Vi, NoAlerts) => "Không có cảnh báo",
        (Lang::En, NoAlerts) => "No alerts",
        (Lang::Vi, SevCritical) => "Nghiêm trọng",
        (Lang::En, SevCritical) => "Critical",
        (Lang::Vi, SevWarning) => "Cảnh báo",
        (Lang::En, SevWarning) => "Warning",
        (Lang::Vi, SevInfo) => "Thông tin",
        (Lang::En, SevInfo) => "Info",
        (Lang::Vi, StateOpen) => "Mới",
        (Lang::En, StateOpen) => "Open",
        (Lang::Vi, StateAcknowledged) => "Đã xác nhận",
        (Lang::En, StateAcknowledged) => "Acknowledged",
        (Lang::Vi, StateResolved) => "Đã xử lý",
        (Lang::En, StateResolved) => "Resolved",
        (Lang::Vi, StateClosed) => "Đã đóng",
        (Lang::En, StateClosed) => "Closed",
        (Lang::Vi, Acknowledge) => "Xác nhận",
        (Lang::En, Acknowledge) => "Acknowledge",
        (Lang::Vi, Resolve) => "Đã xử lý",
        (Lang::En, Resolve) => "Resolve",
        (Lang::Vi, Cancel) => "Hủy",
        (Lang::En, Cancel) => "Cancel",
        (Lang::Vi, NoteHint) => "Ghi chú (không bắt buộc)",
        (Lang::En, NoteHint) => "Note (optional)",
        (Lang::Vi, ResolvedByItself) => "tự hết",
        (Lang::En, ResolvedByItself) => "cleared by itself",
        (Lang::Vi, Threshold) => "ngưỡng",
        (Lang::En, Threshold) => "threshold",
        (Lang::Vi, Baseline) => "mức nền",
        (Lang::En, Baseline) => "baseline",
        (Lang::Vi, Silent) => "không gửi dữ liệu",
        (Lang::En, Silent) => "silent for",
        (Lang::Vi, AlertsHeld) => "cảnh báo bị giữ lại (quá nhiều cùng lúc)",
        (Lang::En, AlertsHeld) => "alerts held back (too many at once)",
        (Lang::Vi, NotAllowed) => "Tài khoản của bạn không có quyền này",
        (Lang::En, NotAllowed) => "Your role may not do this",
        (Lang::Vi, NoSuchAlert) => "Không tìm thấy cảnh báo",
        (Lang::En, NoSuchAlert) => "No such alert",
        (Lang::Vi, ActionFailed) => "Không thực hiện được",
        (Lang::En, ActionFailed) => "Could not be done",
        (Lang::Vi, AlertChanged) => {
            "Không thực hiện được: cảnh báo đã được người khác xử lý (trạng thái ở trên)"
        }
        (Lang::En, AlertChanged) => "Could not be done: someone acted on this alert first",
    }
}

/// "Thử lại sau 42 giây" / "Try again in 42 s": the login is throttled.
pub fn try_again_in(lang: Lang, secs: u64) -> String {
    match lang {
        Lang::Vi => format!("Thử lại sau {secs} giây"),
        Lang::En => format!("Try again in {secs} s"),
    }
}

/// "Lỗi máy chủ (500)" / "Server error (500)".
pub fn server_error(lang: Lang, status: u16) -> String {
    match lang {
        Lang::Vi => format!("Lỗi máy chủ ({status})"),
        Lang::En => format!("Server error ({status})"),
    }
}

/// The name of a user's role.
pub fn role_name(lang: Lang, role: &str) -> String {
    let (vi, en) = match role {
        "admin" => ("Quản trị viên", "Administrator"),
        "supervisor" => ("Giám sát viên", "Supervisor"),
        "officer" => ("Cán bộ trực", "Duty officer"),
        "viewer" => ("Người xem", "Viewer"),
        "display" => ("Màn hình hiển thị", "Wall display"),
        other => (other, other),
    };
    (if lang == Lang::Vi { vi } else { en }).to_owned()
}

/// "Cập nhật 12 giây trước" / "Updated 12 s ago".
pub fn updated_ago(lang: Lang, age_ms: i64) -> String {
    match lang {
        Lang::Vi => format!("Cập nhật {} trước", span(lang, age_ms)),
        Lang::En => format!("Updated {} ago", span(lang, age_ms)),
    }
}

/// "12 phút trước" / "12 min ago".
pub fn ago(lang: Lang, age_ms: i64) -> String {
    match lang {
        Lang::Vi => format!("{} trước", span(lang, age_ms)),
        Lang::En => format!("{} ago", span(lang, age_ms)),
    }
}

/// A length of time in its largest whole unit: "12 phút" / "12 min".
pub fn span(lang: Lang, ms: i64) -> String {
    let s = (ms.max(0) / 1000) as u64;
    let (n, vi, en) = if s < 60 {
        (s, "giây", "s")
    } else if s < 3600 {
        (s / 60, "phút", "min")
    } else if s < 86_400 {
        (s / 3600, "giờ", "h")
    } else {
        (s / 86_400, "ngày", "d")
    };
    match lang {
        Lang::Vi => format!("{n} {vi}"),
        Lang::En => format!("{n} {en}"),
    }
}

/// "2 cảnh báo nghiêm trọng" / "2 critical alerts".
pub fn critical_alerts(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Vi, _) => format!("{n} cảnh báo nghiêm trọng"),
        (Lang::En, 1) => "1 critical alert".to_owned(),
        (Lang::En, _) => format!("{n} critical alerts"),
    }
}

/// The air-quality band of a VN_AQI value: its CSS class and its name.
pub fn aqi_band(lang: Lang, aqi: f64) -> (&'static str, &'static str) {
    let (class, vi, en) = match aqi.round() as i64 {
        i64::MIN..=50 => ("aqi-good", "Tốt", "Good"),
        51..=100 => ("aqi-moderate", "Trung bình", "Moderate"),
        101..=150 => ("aqi-poor", "Kém", "Poor"),
        151..=200 => ("aqi-bad", "Xấu", "Bad"),
        201..=300 => ("aqi-very-bad", "Rất xấu", "Very bad"),
        _ => ("aqi-hazardous", "Nguy hại", "Hazardous"),
    };
    (class, if lang == Lang::Vi { vi } else { en })
}

/// The name of a congestion level, 0 free flow .. 5 gridlock.
pub fn congestion_name(lang: Lang, level: f64) -> &'static str {
    let i = level.round().clamp(0.0, 5.0) as usize;
    const VI: [&str; 6] = [
        "Thông thoáng",
        "Đông nhẹ",
        "Đông",
        "Chậm",
        "Ùn tắc",
        "Kẹt cứng",
    ];
    const EN: [&str; 6] = [
        "Free flow",
        "Light",
        "Busy",
        "Slow",
        "Congested",
        "Gridlock",
    ];
    if lang == Lang::Vi { VI[i] } else { EN[i] }
}

/// An integer with the language's thousands separator: "12.345" / "12,345".
pub fn int(lang: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = if lang == Lang::Vi { '.' } else { ',' };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A number with `decimals` decimals, in the language's notation: "61,5" / "61.5".
pub fn dec(lang: Lang, v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    let whole = int(lang, whole.parse().unwrap_or(0));
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        let point = if lang == Lang::Vi { ',' } else { '.' };
        format!("{sign}{whole}{point}{frac}")
    }
}

/// A share 0..1 as a percentage: "97,5 %" / "97.5%".
pub fn pct(lang: Lang, share: f64) -> String {
    let n = dec(lang, share * 100.0, 1);
    if lang == Lang::Vi {
        format!("{n} %")
    } else {
        format!("{n}%")
    }
}

/// The name of a complaint category of the ingest contract.
pub fn category_name(lang: Lang, code: &str) -> String {
    let (vi, en) = match code {
        "traffic" => ("Giao thông", "Traffic"),
        "flooding" => ("Ngập nước", "Flooding"),
        "environment" => ("Môi trường", "Environment"),
        "urban_order" => ("Trật tự đô thị", "Urban order"),
        "security" => ("An ninh trật tự", "Public security"),
        "utilities" => ("Điện, nước", "Utilities"),
        "public_services" => ("Dịch vụ công", "Public services"),
        "health" => ("Y tế", "Health"),
        "education" => ("Giáo dục", "Education"),
        "other" => ("Khác", "Other"),
        other => (other, other),
    };
    (if lang == Lang::Vi { vi } else { en }).to_owned()
}

/// The name of a complaint channel of the ingest contract.
pub fn channel_name(lang: Lang, code: &str) -> String {
    let (vi, en) = match code {
        "hotline" => ("Tổng đài 1022", "1022 hotline"),
        "app" => ("Ứng dụng", "App"),
        "web" => ("Cổng thông tin", "Web portal"),
        "zalo" => ("Zalo", "Zalo"),
        other => (other, other),
    };
    (if lang == Lang::Vi { vi } else { en }).to_owned()
}

/// The name of an incident kind as the traffic detectors send it.
pub fn incident_name(lang: Lang, kind: &str) -> String {
    let (vi, en) = match kind {
        "accident" => ("Tai nạn", "Accident"),
        "breakdown" => ("Xe hỏng", "Breakdown"),
        "fallen_tree" => ("Cây đổ", "Fallen tree"),
        "flooding" => ("Ngập nước", "Flooding"),
        "roadworks" => ("Thi công", "Roadworks"),
        other => (other, other),
    };
    (if lang == Lang::Vi { vi } else { en }).to_owned()
}

/// The short name of a pollutant field.
pub fn pollutant_name(field: &str) -> &str {
    match field {
        "pm25_ugm3" => "PM2.5",
        "pm10_ugm3" => "PM10",
        "o3_ugm3" => "O₃",
        "no2_ugm3" => "NO₂",
        "so2_ugm3" => "SO₂",
        "co_ugm3" => "CO",
        other => other,
    }
}

/// The signal of the current language, provided by the app.
pub fn use_lang() -> RwSignal<Lang> {
    expect_context::<RwSignal<Lang>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(updated_ago(Lang::Vi, 12_400), "Cập nhật 12 giây trước");
        assert_eq!(updated_ago(Lang::En, 12_400), "Updated 12 s ago");
        assert_eq!(updated_ago(Lang::Vi, 180_000), "Cập nhật 3 phút trước");
        assert_eq!(updated_ago(Lang::Vi, -5), "Cập nhật 0 giây trước");
        assert_eq!(ago(Lang::Vi, 720_000), "12 phút trước");
        assert_eq!(ago(Lang::En, 720_000), "12 min ago");
        assert_eq!(span(Lang::Vi, 300_000), "5 phút");
        assert_eq!(critical_alerts(Lang::Vi, 2), "2 cảnh báo nghiêm trọng");
        assert_eq!(critical_alerts(Lang::En, 1), "1 critical alert");
        assert_eq!(critical_alerts(Lang::En, 3), "3 critical alerts");
    }

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(int(Lang::Vi, 1_234_567), "1.234.567");
        assert_eq!(int(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(int(Lang::Vi, 999), "999");
        assert_eq!(dec(Lang::Vi, 61.54, 1), "61,5");
        assert_eq!(dec(Lang::En, 1234.56, 1), "1,234.6");
        assert_eq!(dec(Lang::Vi, -0.04, 1), "0,0");
        assert_eq!(dec(Lang::Vi, -2.5, 1), "-2,5");
        assert_eq!(pct(Lang::Vi, 0.975), "97,5 %");
        assert_eq!(pct(Lang::En, 1.0), "100.0%");
        assert_eq!(category_name(Lang::Vi, "urban_order"), "Trật tự đô thị");
        assert_eq!(channel_name(Lang::En, "hotline"), "1022 hotline");
    }

    #[test]
    fn login_messages_read_naturally() {
        assert_eq!(try_again_in(Lang::Vi, 42), "Thử lại sau 42 giây");
        assert_eq!(try_again_in(Lang::En, 42), "Try again in 42 s");
        assert_eq!(server_error(Lang::En, 500), "Server error (500)");
        assert_eq!(role_name(Lang::Vi, "officer"), "Cán bộ trực");
        assert_eq!(role_name(Lang::En, "admin"), "Administrator");
        assert_eq!(role_name(Lang::Vi, "auditor"), "auditor");
    }

    #[test]
    fn aqi_bands_follow_vn_aqi() {
        assert_eq!(aqi_band(Lang::Vi, 50.0), ("aqi-good", "Tốt"));
        assert_eq!(aqi_band(Lang::Vi, 51.0), ("aqi-moderate", "Trung bình"));
        assert_eq!(aqi_band(Lang::Vi, 150.0).1, "Kém");
        assert_eq!(aqi_band(Lang::Vi, 151.0).1, "Xấu");
        assert_eq!(aqi_band(Lang::Vi, 300.0).1, "Rất xấu");
        assert_eq!(aqi_band(Lang::En, 301.0), ("aqi-hazardous", "Hazardous"));
    }
}
