//! The options of the benchmark and soak binaries: `--name value`.

use anyhow::Context;

/// The value after `--name`, if given.
pub fn text(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// The number after `--name`, or `default`; an error when it is not a number.
pub fn num(name: &str, default: u64) -> anyhow::Result<u64> {
    match text(name) {
        Some(v) => v
            .parse()
            .with_context(|| format!("{name} must be a number, not {v:?}")),
        None => Ok(default),
    }
}
