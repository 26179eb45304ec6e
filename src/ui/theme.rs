//! Colours shared by the panels: health badge colours (red/amber for problems, green only for
//! "up to date") and job-state colours. Light/dark follows the system (eframe's default); colours
//! are picked per theme here. Texts (times, sizes) are in [`super::format`].

use crate::engine::Health;
use crate::protocol::JobState;
use egui::Color32;

/// Badge colour for a health value. Green is used only for [`Health::UpToDate`].
pub fn health_color(health: Health, dark_mode: bool) -> Color32 {
    match health {
        Health::ResetRequired | Health::Error | Health::FailedEdits | Health::Conflicts => {
            red(dark_mode)
        }
        Health::LocalEditsPending | Health::Unknown | Health::SignInNeeded => amber(dark_mode),
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
        Health::SignInNeeded => "🔑",
        Health::Error => "✖",
        Health::Syncing => "⟳",
        Health::Conflicts => "≠",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn green_only_for_up_to_date() {
        for dark in [false, true] {
            for h in [
                Health::Paused,
                Health::Unknown,
                Health::ResetRequired,
                Health::SignInNeeded,
                Health::Error,
                Health::Syncing,
                Health::Conflicts,
                Health::FailedEdits,
                Health::LocalEditsPending,
            ] {
                assert_ne!(health_color(h, dark), green(dark), "{h:?}");
            }
        }
    }
}
