//! The course of a case, a complaint or a dossier: its status changes, planned when it arrives
//! and sent one by one as their times come.

use crate::clock::MINUTE_MS;

/// A status change of a case's plan: when, and the status it moves to.
pub(crate) type Step = (i64, &'static str);

/// Times strictly rising, at least a minute apart.
pub(crate) fn fix_order(mut steps: Vec<Step>) -> Vec<Step> {
    for i in 1..steps.len() {
        if steps[i].0 < steps[i - 1].0 + MINUTE_MS {
            steps[i].0 = steps[i - 1].0 + MINUTE_MS;
        }
    }
    steps
}
