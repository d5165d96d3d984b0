//! What iorready shows as text (log lines, messages, the run summary):
//! control characters that come from outside data (a file name with a
//! newline or an escape sequence, an API's message) are escaped, so no
//! input can forge a log line, move a terminal's cursor or hide text.

use std::borrow::Cow;
use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// `text` with every control character written as a visible escape
/// (`\n`, `\t`, `\x1b`, `\0`, `\u{85}`...); text without any is returned
/// as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// One log line as it may be written: its control characters escaped, but
/// the final line break kept, and, when `colour` is on, the colour
/// sequences (`ESC [ digits ; m`) the logger itself writes.
pub fn escape_log_line(line: &str, colour: bool) -> Cow<'_, str> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let clean = |s: &str| !s.chars().any(char::is_control);
    if clean(body) && (colour || !body.contains('\x1b')) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if colour && c == '\x1b' {
            if let Some(len) = colour_sequence(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        push_escaped(&mut out, c);
        rest = &rest[c.len_utf8()..];
    }
    if body.len() < line.len() {
        out.push('\n');
    }
    Cow::Owned(out)
}

/// The length of the SGR (colour) sequence `text` starts with, if it does.
fn colour_sequence(text: &str) -> Option<usize> {
    let params = text.strip_prefix("\x1b[")?;
    let len = params.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (params.as_bytes().get(len) == Some(&b'm')).then_some(2 + len + 1)
}

/// Text log lines to stderr with their control characters escaped (see
/// [`escape_log_line`]).
#[derive(Debug, Clone, Copy)]
pub struct EscapedStderr {
    /// Whether the logger writes colour sequences (only to a terminal).
    pub colour: bool,
}

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = EscapedLine;

    fn make_writer(&'a self) -> Self::Writer {
        EscapedLine {
            colour: self.colour,
            buf: Vec::new(),
        }
    }
}

/// One event's text, gathered and written escaped when dropped: the
/// logger writes an event in pieces, and a control character must be
/// judged with what follows it.
#[derive(Debug)]
pub struct EscapedLine {
    colour: bool,
    buf: Vec<u8>,
}

impl Write for EscapedLine {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EscapedLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        // A log line that cannot be written has nowhere else to go.
        let _ = io::stderr()
            .lock()
            .write_all(escape_log_line(&text, self.colour).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_a_file_name_cannot_start_a_new_log_line() {
        let line = "WARN x.xlsx\nERROR forged: not scored\n";
        assert_eq!(escape_log_line(line, false), "WARN x.xlsx\\nERROR forged: not scored\n");
    }

    #[test]
    fn escape_and_nul_are_shown_not_obeyed() {
        assert_eq!(escape_controls("a\x1b[2Kb\0c"), "a\\x1b[2Kb\\0c");
    }

    #[test]
    fn the_loggers_own_colours_stay_on_a_terminal_but_cursor_moves_do_not() {
        let line = "\x1b[33mWARN\x1b[0m a\x1b[1Ab\n";
        assert_eq!(escape_log_line(line, true), "\x1b[33mWARN\x1b[0m a\\x1b[1Ab\n");
    }

    #[test]
    fn text_without_control_characters_is_not_copied() {
        assert!(matches!(escape_controls("Meridian.xlsx"), Cow::Borrowed(_)));
    }
}
