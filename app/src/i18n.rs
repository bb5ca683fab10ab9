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
}

pub fn t(lang: Lang, word: Word) -> &'static str {
    use Word::*;
    match (lang, word) {
        (Lang::Vi, OperationsCenter) => "Trung tâm điều hành (IOC)",
        (Lang::En, OperationsCenter) => "Operations center (IOC)",
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
    }
}

/// "Cập nhật 12 giây trước" / "Updated 12 s ago".
pub fn updated_ago(lang: Lang, age_ms: i64) -> String {
    let s = (age_ms.max(0) / 1000) as u64;
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
        Lang::Vi => format!("Cập nhật {n} {vi} trước"),
        Lang::En => format!("Updated {n} {en} ago"),
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
