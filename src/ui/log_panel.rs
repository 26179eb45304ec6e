//! The sync error log (the default sync error handler's view): timestamp, replica, code and
//! message of every line the engine stored, this run's and earlier runs' alike, filterable by
//! time range, text and the selected replica, and exported as CSV (the engine writes the file).
//! The filtered index list is rebuilt only when the log, the filter or (for "the last hour" and
//! the like) the minute changes. Draws and filters only; it writes nothing.

use super::{format, theme};
use crate::engine::{LocalReplicaId, LogEntry};
use egui::{Align, Layout, RichText};
use egui_extras::{Column, TableBuilder};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Which lines by time: the recent past, or between two typed local times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeRange {
    #[default]
    All,
    LastHour,
    LastDay,
    LastWeek,
    LastMonth,
    /// Between the panel's "from" and "to" texts (either may be empty: open).
    Between,
}

impl TimeRange {
    pub const ALL: [TimeRange; 6] = [
        TimeRange::All,
        TimeRange::LastHour,
        TimeRange::LastDay,
        TimeRange::LastWeek,
        TimeRange::LastMonth,
        TimeRange::Between,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::All => "All time",
            TimeRange::LastHour => "Last hour",
            TimeRange::LastDay => "Last 24 hours",
            TimeRange::LastWeek => "Last 7 days",
            TimeRange::LastMonth => "Last 30 days",
            TimeRange::Between => "Between…",
        }
    }

    fn span_ms(self) -> Option<i64> {
        match self {
            TimeRange::LastHour => Some(HOUR_MS),
            TimeRange::LastDay => Some(DAY_MS),
            TimeRange::LastWeek => Some(7 * DAY_MS),
            TimeRange::LastMonth => Some(30 * DAY_MS),
            TimeRange::All | TimeRange::Between => None,
        }
    }
}

/// A typed local time as epoch milliseconds: `YYYY-MM-DD HH:MM[:SS]`, or `YYYY-MM-DD` (its
/// start, or with `end_of_day` its last millisecond). `Err` with the hint to show.
pub fn parse_local_time(text: &str, end_of_day: bool) -> Result<Option<i64>, &'static str> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone};
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            if end_of_day {
                date.and_hms_milli_opt(23, 59, 59, 999)
            } else {
                date.and_hms_opt(0, 0, 0)
            }
        })
        .ok_or("use YYYY-MM-DD or YYYY-MM-DD HH:MM")?;
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| Some(t.timestamp_millis()))
        .ok_or("that local time does not exist (clock change)")
}

/// What the log panel asks of the window.
#[derive(Debug, Clone, PartialEq)]
pub enum LogPanelAction {
    None,
    /// Export these lines (the ones shown, oldest first) as CSV.
    Export(Vec<LogEntry>),
}

/// The log panel's filter and cache.
#[derive(Debug, Default)]
pub struct LogPanelState {
    pub search: String,
    pub only_selected: bool,
    pub range: TimeRange,
    /// The bounds of [`TimeRange::Between`], as typed (local time).
    pub from: String,
    pub to: String,
    cache_key: Option<CacheKey>,
    indices: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq)]
struct CacheKey {
    len: usize,
    last_at_ms: i64,
    search: String,
    only_selected: bool,
    selected: Option<LocalReplicaId>,
    bounds: (Option<i64>, Option<i64>),
}

impl LogPanelState {
    /// The time bounds the filter applies (inclusive), from the range and, for the relative
    /// ranges, `now_ms`. A "from"/"to" that does not read as a time is left open.
    pub fn bounds(&self, now_ms: i64) -> (Option<i64>, Option<i64>) {
        match self.range {
            TimeRange::Between => (
                parse_local_time(&self.from, false).ok().flatten(),
                parse_local_time(&self.to, true).ok().flatten(),
            ),
            range => (range.span_ms().map(|span| now_ms - span), None),
        }
    }

    fn refresh(&mut self, log: &[LogEntry], selected: Option<LocalReplicaId>, now_ms: i64) {
        // The relative ranges move with the clock: re-filter once a minute.
        let minute = now_ms - now_ms.rem_euclid(60_000);
        let key = CacheKey {
            len: log.len(),
            last_at_ms: log.last().map_or(0, |e| e.at_ms),
            search: self.search.clone(),
            only_selected: self.only_selected,
            selected,
            bounds: self.bounds(minute),
        };
        if self.cache_key.as_ref() == Some(&key) {
            return;
        }
        let needle = self.search.trim().to_lowercase();
        let (from, to) = key.bounds;
        self.indices = log
            .iter()
            .enumerate()
            .filter(|(_, e)| from.is_none_or(|f| e.at_ms >= f) && to.is_none_or(|t| e.at_ms <= t))
            .filter(|(_, e)| !self.only_selected || (selected.is_some() && e.replica == selected))
            .filter(|(_, e)| {
                needle.is_empty()
                    || e.message.to_lowercase().contains(&needle)
                    || e.replica_name.to_lowercase().contains(&needle)
                    || e.code.is_some_and(|c| c.to_string().contains(&needle))
            })
            .map(|(i, _)| i as u32)
            .rev() // newest first
            .collect();
        self.cache_key = Some(key);
    }

    /// Entries shown, newest first (indices into the log).
    pub fn shown(&self) -> &[u32] {
        &self.indices
    }

    /// The entries shown, oldest first (what an export writes).
    fn shown_entries(&self, log: &[LogEntry]) -> Vec<LogEntry> {
        self.indices
            .iter()
            .rev()
            .filter_map(|i| log.get(*i as usize).cloned())
            .collect()
    }
}

/// Draws the log: its filters, Export, and the table.
pub fn log_panel_ui(
    ui: &mut egui::Ui,
    log: &[LogEntry],
    state: &mut LogPanelState,
    selected: Option<LocalReplicaId>,
    now_ms: i64,
) -> LogPanelAction {
    let mut action = LogPanelAction::None;
    state.refresh(log, selected, now_ms);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Sync error log").strong());
        ui.separator();
        let label = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("text, replica or code")
                .desired_width(180.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut state.only_selected, "Selected replica only");
        time_range_ui(ui, state);
        ui.label(format!("{} of {} entries", state.indices.len(), log.len()));
        let export = ui
            .add_enabled(!state.indices.is_empty(), egui::Button::new("Export log…"))
            .on_hover_text("Save the lines shown as CSV");
        if export.clicked() {
            action = LogPanelAction::Export(state.shown_entries(log));
        }
    });
    state.refresh(log, selected, now_ms);
    log_table_ui(ui, log, state);
    action
}

/// The range picker and, for "Between…", the two local times with a hint when one is unreadable.
fn time_range_ui(ui: &mut egui::Ui, state: &mut LogPanelState) {
    let label = ui.label("Period");
    egui::ComboBox::from_id_salt("log-time-range")
        .selected_text(state.range.label())
        .show_ui(ui, |ui| {
            for range in TimeRange::ALL {
                ui.selectable_value(&mut state.range, range, range.label());
            }
        })
        .response
        .labelled_by(label.id);
    if state.range != TimeRange::Between {
        return;
    }
    for (name, text, end_of_day) in [
        ("From", &mut state.from, false),
        ("To", &mut state.to, true),
    ] {
        let label = ui.label(name);
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text("YYYY-MM-DD HH:MM")
                .desired_width(120.0),
        )
        .labelled_by(label.id);
        if let Err(hint) = parse_local_time(text, end_of_day) {
            ui.colored_label(
                theme::red(ui.visuals().dark_mode),
                format!("{name}: {hint}"),
            );
        }
    }
}

fn log_table_ui(ui: &mut egui::Ui, log: &[LogEntry], state: &LogPanelState) {
    let dark = ui.visuals().dark_mode;
    let max_height = ui.available_height() - 24.0;
    TableBuilder::new(ui)
        .id_salt("log-table")
        .striped(true)
        .resizable(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::initial(150.0).clip(true))
        .column(Column::initial(170.0).clip(true))
        .column(Column::initial(50.0))
        .column(Column::remainder().clip(true))
        // Fill the panel's width, not its height: otherwise the table makes the panel grow.
        .auto_shrink([false, true])
        .max_scroll_height(max_height.max(40.0))
        .header(18.0, |mut h| {
            for title in ["Time", "Replica", "Code", "Message"] {
                h.col(|ui| {
                    ui.label(RichText::new(title).strong());
                });
            }
        })
        .body(|body| {
            body.rows(18.0, state.indices.len(), |mut row| {
                let Some(entry) = log.get(state.indices[row.index()] as usize) else {
                    return;
                };
                row.col(|ui| {
                    ui.label(format::timestamp(entry.at_ms));
                });
                row.col(|ui| {
                    ui.label(&entry.replica_name);
                });
                row.col(|ui| {
                    ui.label(entry.code.map_or_else(String::new, |c| c.to_string()));
                });
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(
                            RichText::new(&entry.message).color(text_color(dark, entry.code)),
                        )
                        .truncate(),
                    );
                });
            });
        });
}

/// Coded errors in the problem colour, plain notes in the normal text colour.
fn text_color(dark: bool, code: Option<i64>) -> egui::Color32 {
    match code {
        Some(_) => theme::red(dark),
        None if dark => egui::Color32::from_gray(220),
        None => egui::Color32::from_gray(30),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at_ms: i64, message: &str) -> LogEntry {
        LogEntry {
            at_ms,
            replica: None,
            replica_name: String::new(),
            code: None,
            message: message.into(),
        }
    }

    #[test]
    fn relative_ranges_keep_the_recent_lines_newest_first() {
        let now = 1_800_000_000_000;
        let log = [
            line(now - 40 * DAY_MS, "last season"),
            line(now - 3 * DAY_MS, "this week"),
            line(now - 2 * HOUR_MS, "this morning"),
            line(now - 60_000, "just now"),
        ];
        let mut state = LogPanelState::default();
        let shown = |state: &mut LogPanelState| {
            state.refresh(&log, None, now);
            state
                .shown_entries(&log)
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(&mut state).len(), 4);
        state.range = TimeRange::LastHour;
        assert_eq!(shown(&mut state), ["just now"]);
        state.range = TimeRange::LastDay;
        assert_eq!(shown(&mut state), ["this morning", "just now"]);
        state.range = TimeRange::LastWeek;
        assert_eq!(shown(&mut state), ["this week", "this morning", "just now"]);
        assert_eq!(state.shown(), [3, 2, 1], "the table shows the newest first");
        state.range = TimeRange::LastMonth;
        assert_eq!(shown(&mut state).len(), 3);
    }

    #[test]
    fn between_reads_local_times_and_whole_days() {
        let start = parse_local_time("2026-11-30", false).unwrap().unwrap();
        let end = parse_local_time("2026-11-30", true).unwrap().unwrap();
        assert_eq!(
            end - start,
            DAY_MS - 1,
            "a date to a date is that whole day"
        );
        let noon = parse_local_time("2026-11-30 12:00", false)
            .unwrap()
            .unwrap();
        assert_eq!(noon - start, 12 * HOUR_MS);
        assert_eq!(parse_local_time("  ", false), Ok(None));
        assert!(parse_local_time("30/11/2026", false).is_err());

        let log = [
            line(start - 1, "the day before"),
            line(noon, "noon"),
            line(end, "last millisecond"),
            line(end + 1, "the day after"),
        ];
        let mut state = LogPanelState {
            range: TimeRange::Between,
            from: "2026-11-30".into(),
            to: "2026-11-30".into(),
            ..LogPanelState::default()
        };
        state.refresh(&log, None, 0);
        let shown: Vec<String> = state
            .shown_entries(&log)
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(shown, ["noon", "last millisecond"]);
        // An unreadable bound is left open rather than hiding everything.
        state.to = "tomorrow".into();
        state.refresh(&log, None, 0);
        assert_eq!(state.shown().len(), 3);
    }
}
