//! The bands of Table 1: the ranges of the index, their names and their colours.

use serde::{Deserialize, Serialize};

/// The bands of Table 1 of the decision (and of the glossary), with its RGB colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// 0-50, Tốt, green.
    Good,
    /// 51-100, Trung bình, yellow.
    Moderate,
    /// 101-150, Kém, orange.
    Poor,
    /// 151-200, Xấu, red.
    Bad,
    /// 201-300, Rất xấu, purple.
    VeryBad,
    /// 301-500, Nguy hại, maroon.
    Hazardous,
}

impl Band {
    pub const ALL: [Band; 6] = [
        Band::Good,
        Band::Moderate,
        Band::Poor,
        Band::Bad,
        Band::VeryBad,
        Band::Hazardous,
    ];

    /// The band of a (whole) index; above 500 is still Hazardous.
    pub fn from_aqi(aqi: u32) -> Band {
        match aqi {
            0..=50 => Band::Good,
            51..=100 => Band::Moderate,
            101..=150 => Band::Poor,
            151..=200 => Band::Bad,
            201..=300 => Band::VeryBad,
            _ => Band::Hazardous,
        }
    }

    /// The indices of the band, both ends included.
    pub fn range(self) -> (u32, u32) {
        match self {
            Band::Good => (0, 50),
            Band::Moderate => (51, 100),
            Band::Poor => (101, 150),
            Band::Bad => (151, 200),
            Band::VeryBad => (201, 300),
            Band::Hazardous => (301, 500),
        }
    }

    /// "Chất lượng không khí" of Table 1, as the glossary writes it.
    pub fn name_vi(self) -> &'static str {
        match self {
            Band::Good => "Tốt",
            Band::Moderate => "Trung bình",
            Band::Poor => "Kém",
            Band::Bad => "Xấu",
            Band::VeryBad => "Rất xấu",
            Band::Hazardous => "Nguy hại",
        }
    }

    /// The English name of the glossary.
    pub fn name_en(self) -> &'static str {
        match self {
            Band::Good => "Good",
            Band::Moderate => "Moderate",
            Band::Poor => "Poor",
            Band::Bad => "Bad",
            Band::VeryBad => "Very bad",
            Band::Hazardous => "Hazardous",
        }
    }

    /// The colour's name in Table 1 ("Nâu", brown, for the colour the glossary calls maroon).
    pub fn color_name_vi(self) -> &'static str {
        match self {
            Band::Good => "Xanh",
            Band::Moderate => "Vàng",
            Band::Poor => "Da cam",
            Band::Bad => "Đỏ",
            Band::VeryBad => "Tím",
            Band::Hazardous => "Nâu",
        }
    }

    /// The RGB code of Table 1.
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Band::Good => (0, 228, 0),
            Band::Moderate => (255, 255, 0),
            Band::Poor => (255, 126, 0),
            Band::Bad => (255, 0, 0),
            Band::VeryBad => (143, 63, 151),
            Band::Hazardous => (126, 0, 35),
        }
    }

    /// [`Band::rgb`] as a CSS colour, `#rrggbb`.
    pub fn color_hex(self) -> &'static str {
        match self {
            Band::Good => "#00e400",
            Band::Moderate => "#ffff00",
            Band::Poor => "#ff7e00",
            Band::Bad => "#ff0000",
            Band::VeryBad => "#8f3f97",
            Band::Hazardous => "#7e0023",
        }
    }
}
