//! Tests of the indicators service.
