//! The city map: `GET /api/v1/city` ([`ioc_protocol::map::CityMap`]), asked for once there is
//! a session, and again until it comes.

use ioc_protocol::map::CityMap;

use super::get_text;

/// Why the city map did not come.
#[derive(Debug)]
pub enum CityError {
    /// No answer, or not a 200 (no session yet, the server starting): worth asking again.
    NoAnswer,
    /// A 200 whose body is not a city map.
    Unreadable(serde_json::Error),
}

/// Asks the server for the city map.
pub async fn city_map() -> Result<CityMap, CityError> {
    match get_text("/api/v1/city").await {
        Ok((200, text)) => serde_json::from_str(&text).map_err(CityError::Unreadable),
        _ => Err(CityError::NoAnswer),
    }
}
