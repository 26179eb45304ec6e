//! How the panels write times, durations and sizes: relative times ("3 min ago", "in 42 min")
//! and when they next change, timestamps, byte sizes, durations and intervals. Text only; no
//! colours, no egui.

/// "just now", "42 s ago", "3 min ago", "5 h ago", "2 days ago"; "never" for `None`.
pub fn relative_time(then_ms: Option<i64>, now_ms: i64) -> String {
    let Some(then_ms) = then_ms else {
        return "never".to_owned();
    };
    let secs = (now_ms - then_ms) / 1000;
    match secs {
        s if s < 0 => "in the future".to_owned(),
        s if s < 5 => "just now".to_owned(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 2 * 86_400 => "1 day ago".to_owned(),
        s => format!("{} days ago", s / 86_400),
    }
}

/// When a future time comes, from now: "in 42 min", "in 5 h 10 min", "in 14 days"; a time
/// already past reads as [`relative_time`] does ("3 min ago").
pub fn time_until(at_ms: i64, now_ms: i64) -> String {
    let secs = (at_ms - now_ms) / 1000;
    match secs {
        s if s < 0 => relative_time(Some(at_ms), now_ms),
        s if s < 60 => "in less than a minute".to_owned(),
        s if s < 3600 => format!("in {} min", s / 60),
        s if s < 2 * 86_400 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("in {h} h"),
            (h, m) => format!("in {h} h {m} min"),
        },
        s => format!("in {} days", s / 86_400),
    }
}

/// How long until [`relative_time`] of `then_ms` reads differently (at least a second, at most
/// an hour), so an idle window repaints only when a label would change.
pub fn relative_time_changes_in(then_ms: Option<i64>, now_ms: i64) -> std::time::Duration {
    const HOUR_MS: i64 = 3_600_000;
    let Some(then_ms) = then_ms else {
        return std::time::Duration::from_millis(HOUR_MS as u64);
    };
    let age = now_ms - then_ms;
    let step: i64 = match age {
        a if a < 60_000 => 1_000,
        a if a < HOUR_MS => 60_000,
        _ => HOUR_MS,
    };
    let until = if age < 0 { -age } else { step - age % step };
    std::time::Duration::from_millis(until.clamp(1_000, HOUR_MS) as u64)
}

/// Local wall-clock text of an epoch-millisecond time, e.g. "2026-11-22 17:03:12".
pub fn timestamp(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => format!("{ms} ms"),
    }
}

/// "812 bytes", "4.1 KB", "6.0 MB" (powers of 1024).
pub fn byte_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// "1.2 s", "3 min 4 s".
pub fn duration_text(millis: i64) -> String {
    let millis = millis.max(0);
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", millis as f64 / 1000.0)
    } else {
        let secs = millis / 1000;
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// "30 s", "5 min", "1 h 30 min".
pub fn interval_text(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 && s % 60 == 0 => format!("{} min", s / 60),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 10_000_000;
        assert_eq!(relative_time(None, now), "never");
        assert_eq!(relative_time(Some(now - 1000), now), "just now");
        assert_eq!(relative_time(Some(now - 42_000), now), "42 s ago");
        assert_eq!(relative_time(Some(now - 180_000), now), "3 min ago");
        assert_eq!(relative_time(Some(now - 5 * 3_600_000), now), "5 h ago");
        let secs = |d: std::time::Duration| d.as_secs();
        assert_eq!(secs(relative_time_changes_in(Some(now - 42_000), now)), 1);
        assert_eq!(secs(relative_time_changes_in(Some(now - 180_000), now)), 60);
        assert_eq!(secs(relative_time_changes_in(Some(now - 200_000), now)), 40);
        assert_eq!(
            secs(relative_time_changes_in(
                Some(now - 5 * 3_600_000 - 1_000),
                now
            )),
            3599
        );
        assert_eq!(secs(relative_time_changes_in(None, now)), 3600);
    }

    #[test]
    fn times_until_read_naturally() {
        let now = 10_000_000_000;
        assert_eq!(time_until(now + 42 * 60_000 + 30_000, now), "in 42 min");
        assert_eq!(time_until(now + 3_600_000, now), "in 1 h");
        assert_eq!(time_until(now + 310 * 60_000, now), "in 5 h 10 min");
        assert_eq!(time_until(now + 14 * 86_400_000, now), "in 14 days");
        assert_eq!(time_until(now - 180_000, now), "3 min ago");
    }
}
