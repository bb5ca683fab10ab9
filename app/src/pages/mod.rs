//! The screens, one file each, and the header they share.
//!
//! - [`console`]: the officer console at `/`.
//! - [`indicators`]: the socio-economic indicators at `/indicators`: the groups, a group's
//!   cards, an indicator's detail.
//! - [`wall`]: the wall display at `/wall`, and its "no access" screen.
//! - [`login`]: the console's login page, and the full-screen messages shown before the app
//!   knows where it stands.
//! - [`header`]: title, city, clock, connection state, language switch, and the account.

pub mod console;
pub mod header;
pub mod indicators;
pub mod login;
pub mod wall;
