//! The one way the command line writes text ([`outln!`], [`errln!`], and [`write_json`] for
//! `--json`). Every line passes through [`printable`], so text that came from the network or
//! from files (a service's error message, a replica or layer name, an edit's description) cannot
//! drive the terminal: ESC and the sequences it starts (colours, OSC titles and links, cursor
//! moves), CR that overwrites the line, BEL, backspace, the C1 controls and the bidirectional
//! overrides are shown escaped (`\u{1b}`), never sent raw. A reader that stops reading
//! (`syncwatch replicas | head`) ends the output quietly: later writes to that stream are
//! dropped and the command finishes as usual, with no panic and no error line.
//! It formats nothing of its own and decides no exit code.

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set once stderr's reader has gone away.
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether `c` must not reach a terminal raw: C0 and C1 controls, DEL, and the bidirectional
/// embeddings, overrides and isolates (which reorder what the line appears to say).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character a terminal would act on written as an escape: `\r`, `\n`,
/// `\t`, and `\u{…}` for the others.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `--json` text made safe for a terminal: serde_json escapes the C0 controls already; DEL, the
/// C1 controls and the bidirectional overrides (which it leaves raw) become `\uXXXX`, the same
/// string to a JSON reader.
fn json_printable(json: &str) -> Cow<'_, str> {
    let raw_control = |c: char| c != '\n' && is_unsafe(c);
    if !json.chars().any(raw_control) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if raw_control(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes one line to stdout (escaped), unless its reader has gone away.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    let line = args.to_string();
    write_line(
        &mut std::io::stdout().lock(),
        &STDOUT_CLOSED,
        &printable(&line),
    );
}

/// Writes one line to stderr (escaped), unless its reader has gone away.
pub fn write_err(args: std::fmt::Arguments<'_>) {
    let line = args.to_string();
    write_line(
        &mut std::io::stderr().lock(),
        &STDERR_CLOSED,
        &printable(&line),
    );
}

/// Writes a value as pretty JSON on stdout, unless its reader has gone away.
pub fn write_json<T: serde::Serialize>(value: &T) -> Result<(), serde_json::Error> {
    let json = serde_json::to_string_pretty(value)?;
    write_line(
        &mut std::io::stdout().lock(),
        &STDOUT_CLOSED,
        &json_printable(&json),
    );
    Ok(())
}

/// Writes `text` and a newline; a reader that went away (EPIPE) closes the stream for good,
/// and any other write failure is dropped too: there is nowhere left to report it.
fn write_line(out: &mut impl Write, closed: &AtomicBool, text: &str) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        closed.store(true, Ordering::Relaxed);
    }
}

/// `println!` for the command line: one escaped line to stdout; quiet once nobody reads.
macro_rules! outln {
    () => {
        $crate::cli::terminal::write_out(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::terminal::write_out(format_args!($($arg)*))
    };
}

/// `eprintln!` for the command line: one escaped line to stderr; quiet once nobody reads.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::terminal::write_err(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped_and_other_text_kept() {
        assert!(matches!(printable("Hydrants – Zone 7 ✔"), Cow::Borrowed(_)));
        let hostile = "bad\u{1b}[31mred\u{1b}]0;title\u{7}\rover\u{9b}2J\u{202e}cba";
        let shown = printable(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert_eq!(
            shown,
            "bad\\u{1b}[31mred\\u{1b}]0;title\\u{7}\\rover\\u{9b}2J\\u{202e}cba"
        );
        assert_eq!(printable("a\nb\tc"), "a\\nb\\tc");
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let value = serde_json::json!({"e": "x\u{1b}]8;;\u{9b}y\u{7f}\u{202e}z"});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_printable(&json);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }

    #[test]
    fn a_closed_reader_closes_the_stream_quietly() {
        struct Gone;
        impl Write for Gone {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let closed = AtomicBool::new(false);
        write_line(&mut Gone, &closed, "line");
        assert!(closed.load(Ordering::Relaxed));
        write_line(&mut Gone, &closed, "and the next is dropped");
    }
}
