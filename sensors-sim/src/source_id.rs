//! The source ids of the sensors the simulator adds with `--scale`: the preset's id for the
//! first sensor at a place, numbered ones for the others, valid source ids all.

/// The source id of the `k`-th (from 1) sensor at a place of the preset: the preset's id for
/// the first, `{id}-{k}` for the others (`--scale`), shortened to stay a valid source id.
pub(crate) fn scaled_id(id: &str, k: u32) -> String {
    if k <= 1 {
        return id.to_owned();
    }
    let suffix = format!("-{k}");
    let keep = id.len().min(64 - suffix.len());
    format!("{}{suffix}", &id[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_ids_stay_valid_source_ids() {
        assert_eq!(scaled_id("tc-ql1a", 1), "tc-ql1a");
        assert_eq!(scaled_id("tc-ql1a", 12), "tc-ql1a-12");
        let long = "a".repeat(64);
        let id = scaled_id(&long, 300);
        assert_eq!(id.len(), 64);
        assert!(ioc_protocol::topic::is_source_id(&id));
    }
}
