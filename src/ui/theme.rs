//! Colours and small formatting helpers shared by the panels: health badge colours (red/amber for
//! problems, green only for "up to date"), job-state colours and relative times ("3 min ago").
//! Light/dark follows the system (eframe's default); colours are picked per theme here.

use crate::engine::Health;
use crate::protocol::JobState;
use egui::Color32;

/// Badge colour for a health value. Green is used only for [`Health::UpToDate`].
pub fn health_color(health: Health, dark_mode: bool) -> Color32 {
    match health {
        Health::ResetRequired | Health::Error | Health::FailedEdits => red(dark_mode),
        Health::LocalEditsPending | Health::Unknown => amber(dark_mode),
        Health::Syncing => blue(dark_mode),
        Health::Paused => Color32::GRAY,
        Health::UpToDate => green(dark_mode),
    }
}

/// A short symbol that carries the health meaning without colour (for colour-blind users).
pub fn health_symbol(health: Health) -> &'static str {
    match health {
        Health::Paused => "⏸",
        Health::Unknown => "?",
        Health::ResetRequired => "⟲",
        Health::Error => "✖",
        Health::Syncing => "⟳",
        Health::FailedEdits => "⚠",
        Health::LocalEditsPending => "⬆",
        Health::UpToDate => "✔",
    }
}

pub fn job_state_color(state: &JobState, dark_mode: bool) -> Color32 {
    match state {
        JobState::Completed => green(dark_mode),
        JobState::CompletedWithErrors => amber(dark_mode),
        JobState::Failed => red(dark_mode),
        JobState::Pending | JobState::InProgress | JobState::Running(_) => blue(dark_mode),
    }
}

pub fn red(dark_mode: bool) -> Color32 {
    if dark_mode {
        Color32::from_rgb(0xF0, 0x60, 0x5A)
    } else {
        Color32::from_rgb(0xC0, 0x20, 0x1C)
    }
}

pub fn amber(dark_mode: bool) -> Color32 {
    if dark_mode {
        Color32::from_rgb(0xF2, 0xB1, 0x3C)
    } else {
        Color32::from_rgb(0xA8, 0x5F, 0x00)
    }
}

pub fn green(dark_mode: bool) -> Color32 {
    if dark_mode {
        Color32::from_rgb(0x5C, 0xC8, 0x6A)
    } else {
        Color32::from_rgb(0x1E, 0x7D, 0x32)
    }
}

pub fn blue(dark_mode: bool) -> Color32 {
    if dark_mode {
        Color32::from_rgb(0x6A, 0xA8, 0xF5)
    } else {
        Color32::from_rgb(0x1F, 0x5F, 0xBF)
    }
}

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
    fn green_only_for_up_to_date() {
        for dark in [false, true] {
            for h in [
                Health::Paused,
                Health::Unknown,
                Health::ResetRequired,
                Health::Error,
                Health::Syncing,
                Health::FailedEdits,
                Health::LocalEditsPending,
            ] {
                assert_ne!(health_color(h, dark), green(dark), "{h:?}");
            }
        }
    }
}
