//! How each indicator of the catalogue behaves: what shape its series has (a flow, a level, a
//! year-on-year index), how the pandemic and Tết move it, and how its districts relate to the
//! city. The indicators of Ho Chi Minh City's catalogue are named here by code; any other
//! indicator (another city's catalogue) gets the default of its kind.

use ioc_protocol::indicator::{Indicator, Kind};

use super::calendar::TetEffect;

/// What an indicator's series is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Shape {
    /// A sum over the period, of a yearly total spread over its months.
    Flow,
    /// A level or rate, moving from one year's end to the next.
    Level,
    /// A ratio of an underlying activity (output, prices) to the same period a year earlier.
    Yoy(Yoy),
}

/// A year-on-year figure of an underlying activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Yoy {
    /// `true`: a growth rate in % (6.5); `false`: an index with the year before at 100 (106.5).
    pub(super) growth: bool,
    /// Of the year to date rather than of the period (the average CPI since January).
    pub(super) to_date: bool,
    /// The month-to-month noise of the activity (relative).
    pub(super) noise: f64,
}

/// How the pandemic moves an indicator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pandemic {
    None,
    /// The share of the value lost at the lockdown's depth (negative: it rises: claims,
    /// suspensions, relief).
    Scale(f64),
    /// Points added at the lockdown's depth, for a rate (hotel occupancy -35).
    Points(f64),
    /// Foreign visitors: the border closure, not the lockdown.
    Borders,
}

/// How an area's value relates to the city's, where the area has no targets of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spread {
    /// A count or a sum: the districts share the city's total (by population, unevenly).
    Share,
    /// A rate, a ratio or a score: each district scattered around the city's value.
    Scatter,
}

/// Everything the model needs to know of an indicator beyond the catalogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Behaviour {
    pub(super) shape: Shape,
    pub(super) pandemic: Pandemic,
    pub(super) tet: TetEffect,
    pub(super) spread: Spread,
}

const fn yoy(growth: bool, to_date: bool, noise: f64) -> Shape {
    Shape::Yoy(Yoy {
        growth,
        to_date,
        noise,
    })
}

/// The behaviour of an indicator.
pub(super) fn behaviour(indicator: &Indicator) -> Behaviour {
    let code = indicator.code.as_str();
    let shape = match code {
        "grdp_growth" => yoy(true, false, 0.008),
        "iip" => yoy(false, false, 0.01),
        "industrial_employment" => yoy(false, false, 0.005),
        "cpi_yoy" => yoy(false, false, 0.002),
        "cpi_average" => yoy(false, true, 0.002),
        "core_inflation" => yoy(true, false, 0.002),
        "food_price_index" | "housing_price_index" => yoy(false, false, 0.004),
        _ => match indicator.kind {
            Kind::Flow => Shape::Flow,
            Kind::Level => Shape::Level,
        },
    };
    Behaviour {
        shape,
        pandemic: pandemic(code, indicator.kind),
        tet: tet(code),
        spread: spread(indicator),
    }
}

fn pandemic(code: &str, kind: Kind) -> Pandemic {
    use Pandemic::{Borders, Points, Scale};
    match code {
        "international_visitors" => Borders,
        // Flows: the share lost at the depth of the lockdown.
        "domestic_visitors" | "tourism_revenue" => Scale(0.85),
        "bus_passengers" | "library_visits" => Scale(0.95),
        "cultural_events" => Scale(0.9),
        "jobs_created" => Scale(0.7),
        "new_enterprises"
        | "new_enterprise_capital"
        | "fdi_projects"
        | "building_permits"
        | "vocational_enrolment"
        | "traffic_accidents" => Scale(0.6),
        "retail_sales"
        | "fdi_registered"
        | "enterprises_resumed"
        | "land_certificates"
        | "canal_houses_relocated"
        | "traffic_deaths" => Scale(0.5),
        "industrial_output" | "social_investment" => Scale(0.45),
        "fdi_disbursed"
        | "land_use_revenue"
        | "classrooms_built"
        | "social_housing_units"
        | "criminal_offences"
        | "drug_rehab" => Scale(0.4),
        "grdp_value" => Scale(0.35),
        "exports"
        | "imports"
        | "customs_revenue"
        | "budget_revenue"
        | "domestic_revenue"
        | "gold_medals"
        | "innovative_startups" => Scale(0.3),
        "grdp_growth" => Scale(0.32),
        "iip" => Scale(0.45),
        "industrial_employment" => Scale(0.25),
        "electricity_sold" | "fires" | "fire_deaths" => Scale(0.2),
        "seaport_cargo" => Scale(0.15),
        "agri_output" => Scale(0.1),
        "labour_force" => Scale(0.08),
        "budget_spending" => Scale(-0.2),
        "social_allowance_recipients" => Scale(-0.4),
        "enterprises_suspended" => Scale(-1.0),
        "unemployment_claims" => Scale(-1.5),
        "welfare_support_spending" => Scale(-2.0),
        "dengue_cases"
        | "cpi_yoy"
        | "cpi_average"
        | "core_inflation"
        | "food_price_index"
        | "housing_price_index" => Pandemic::None,
        // Rates: points moved at the depth of the lockdown.
        "hotel_occupancy" => Points(-35.0),
        "bed_occupancy" => Points(55.0),
        "unemployment_rate" => Points(5.0),
        "online_dossier_share" => Points(8.0),
        "good_air_days" => Points(12.0),
        "cashless_payments" => Points(5.0),
        "child_vaccination" => Points(-12.0),
        "public_investment_disbursement" => Points(-10.0),
        "on_time_dossier_share" | "feedback_on_time" => Points(-6.0),
        "industrial_zone_occupancy" => Points(-4.0),
        // Any other flow loses a little; any other level does not move.
        _ => match kind {
            Kind::Flow => Scale(0.2),
            Kind::Level => Pandemic::None,
        },
    }
}

fn tet(code: &str) -> TetEffect {
    match code {
        "retail_sales"
        | "domestic_visitors"
        | "tourism_revenue"
        | "international_visitors"
        | "welfare_support_spending" => TetEffect::Consumption,
        "industrial_output"
        | "iip"
        | "exports"
        | "imports"
        | "customs_revenue"
        | "seaport_cargo"
        | "electricity_sold"
        | "building_permits"
        | "jobs_created"
        | "new_enterprises"
        | "enterprises_resumed"
        | "fdi_registered"
        | "fdi_projects"
        | "bus_passengers"
        | "library_visits" => TetEffect::Production,
        _ => TetEffect::None,
    }
}

/// A flow, or a level counted in things (outlets, pupils, hotspots), is shared among the
/// districts; a level in % or per something (m² per person), or a score in points, is
/// scattered around the city's.
fn spread(indicator: &Indicator) -> Spread {
    let unit = indicator.unit.as_str();
    match indicator.kind {
        Kind::Flow => Spread::Share,
        Kind::Level if unit == "%" || unit == "điểm" || unit.contains('/') => Spread::Scatter,
        Kind::Level => Spread::Share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::indicator::Catalogue;

    #[test]
    fn every_indicator_of_the_catalogue_has_a_behaviour_of_its_kind() {
        let catalogue = Catalogue::built_in();
        for i in &catalogue.indicators {
            let b = behaviour(i);
            match (b.shape, i.kind) {
                (Shape::Flow, Kind::Flow) | (Shape::Level | Shape::Yoy(_), Kind::Level) => {}
                other => panic!("{}: {other:?}", i.code),
            }
            if let Pandemic::Points(_) = b.pandemic {
                assert_eq!(i.unit, "%", "{}: points for a rate only", i.code);
            }
        }
        let by = |code: &str| behaviour(catalogue.indicator(code).unwrap());
        assert_eq!(by("dti_score").spread, Spread::Scatter);
        assert_eq!(by("pupils").spread, Spread::Share);
        assert_eq!(by("congestion_hotspots").spread, Spread::Share);
        assert_eq!(by("park_area_per_person").spread, Spread::Scatter);
        assert_eq!(by("retail_sales").tet, TetEffect::Consumption);
    }
}
