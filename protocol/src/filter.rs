//! MQTT topic filters: which filters are well formed, and which topics a filter matches, as
//! MQTT 3.1.1 §4.7 and MQTT 5 §4.7 define them. The server's embedded MQTT endpoint matches
//! its subscribers' filters with it, and the tests that subscribe check against the same rule.

/// Whether `filter` is a well-formed topic filter: not empty, `#` only as the last level and
/// alone in it, `+` alone in its level, no NUL.
pub fn is_valid(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len() - 1;
    levels.iter().enumerate().all(|(i, level)| match *level {
        "#" => i == last,
        "+" => true,
        l => !l.contains(['#', '+']),
    })
}

/// Whether `topic` is a valid topic name to publish to: not empty, no wildcard, no NUL.
pub fn is_valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['#', '+', '\0'])
}

/// Whether `filter` (well formed, see [`is_valid`]) matches `topic`. A topic that starts with
/// `$` is not matched by a filter that starts with a wildcard (§4.7.2).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('#') || filter.starts_with('+')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            // `#` matches the parent level too: `a/#` matches `a`.
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_the_standard_says() {
        for (filter, topic) in [
            ("ioc/v1/#", "ioc/v1/env/q1/aqs-1"),
            ("ioc/v1/#", "ioc/v1"),
            ("ioc/v1/+/q1/#", "ioc/v1/env/q1/aqs-1"),
            ("+/+", "/finance"),
            ("#", "a/b/c"),
            ("a/+/c", "a//c"),
            ("sport/tennis/player1", "sport/tennis/player1"),
            ("$SYS/#", "$SYS/broker/clients"),
        ] {
            assert!(matches(filter, topic), "{filter} should match {topic}");
        }
        for (filter, topic) in [
            ("ioc/v1/+/q1/#", "ioc/v1/env/q3/aqs-1"),
            ("a/+", "a/b/c"),
            ("+", "/finance"),
            ("a/b", "a/b/c"),
            ("a/b/c", "a/b"),
            ("#", "$SYS/broker"),
            ("+/broker", "$SYS/broker"),
        ] {
            assert!(!matches(filter, topic), "{filter} should not match {topic}");
        }
    }

    #[test]
    fn malformed_filters_and_topics_are_told_apart() {
        for ok in ["#", "+", "a/#", "a/+/b", "/", "+/+", "$SYS/#"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", "a/#/b", "a#", "a/b+", "#/a", "a\0b"] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert!(is_valid_topic("ioc/v1/env/q1/s"));
        for bad in ["", "a/+", "a/#", "a\0"] {
            assert!(!is_valid_topic(bad), "{bad:?}");
        }
    }
}
