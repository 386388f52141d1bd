//! The log file format CRI runtimes write for each container:
//! `<RFC 3339 time> <stdout|stderr> <P|F> <message>`, where `P` marks a fragment of a long line
//! that continues on the next record and `F` ends it.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{Error, Result};

/// Which output of the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One record of a container log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// When the runtime read the bytes.
    pub time: OffsetDateTime,
    /// The stream they came from.
    pub stream: Stream,
    /// True when the line continues in the next record.
    pub partial: bool,
    /// The bytes, without the newline.
    pub message: &'a str,
}

/// A whole line of output, its fragments joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When its first fragment was read.
    pub time: OffsetDateTime,
    /// The stream it came from.
    pub stream: Stream,
    /// The text, without the newline.
    pub message: String,
}

/// Parses one record (one line of the file, without its newline).
pub fn parse_record(line: &str) -> Result<LogRecord<'_>> {
    let malformed = |reason| Error::MalformedLogLine {
        line: line.chars().take(120).collect(),
        reason,
    };
    let mut parts = line.splitn(4, ' ');
    let time = parts.next().unwrap_or_default();
    let stream = parts.next().ok_or_else(|| malformed("no stream"))?;
    let tag = parts.next().ok_or_else(|| malformed("no P/F tag"))?;
    let message = parts.next().unwrap_or_default();
    let time =
        OffsetDateTime::parse(time, &Rfc3339).map_err(|_| malformed("the time is not RFC 3339"))?;
    let stream = match stream {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return Err(malformed("the stream is neither stdout nor stderr")),
    };
    // The tag may carry more flags after ':' in future versions; only the first one matters.
    let partial = match tag.split(':').next() {
        Some("P") => true,
        Some("F") => false,
        _ => return Err(malformed("the tag is neither P nor F")),
    };
    Ok(LogRecord {
        time,
        stream,
        partial,
        message,
    })
}

/// Parses a log file's text into whole lines, joining fragments per stream.
pub fn parse_lines(text: &str) -> Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    let mut pending: [Option<LogLine>; 2] = [None, None];
    for raw in text.lines().filter(|l| !l.is_empty()) {
        let record = parse_record(raw)?;
        let slot = &mut pending[record.stream as usize];
        let line = slot.get_or_insert_with(|| LogLine {
            time: record.time,
            stream: record.stream,
            message: String::new(),
        });
        line.message.push_str(record.message);
        if !record.partial {
            lines.extend(slot.take());
        }
    }
    // A fragment whose end was not written yet is still output the user should see.
    lines.extend(pending.into_iter().flatten());
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_record_keeps_spaces_in_the_message() {
        let record =
            parse_record("2026-11-27T10:00:00.123456789Z stdout F hello  big world").unwrap();
        assert_eq!(record.stream, Stream::Stdout);
        assert!(!record.partial);
        assert_eq!(record.message, "hello  big world");
        assert_eq!(record.time.nanosecond(), 123_456_789);
    }

    #[test]
    fn fragments_are_joined_per_stream() {
        let text = "2026-11-27T10:00:00Z stdout P abc\n\
                    2026-11-27T10:00:01Z stderr F oops\n\
                    2026-11-27T10:00:02Z stdout F def\n\
                    2026-11-27T10:00:03Z stdout F \n";
        let lines = parse_lines(text).unwrap();
        let messages: Vec<_> = lines
            .iter()
            .map(|l| (l.stream, l.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (Stream::Stderr, "oops"),
                (Stream::Stdout, "abcdef"),
                (Stream::Stdout, "")
            ]
        );
    }

    #[test]
    fn malformed_records_say_what_is_wrong() {
        let error = parse_record("yesterday stdout F hi")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("RFC 3339") && error.contains("yesterday"),
            "{error}"
        );
        let error = parse_record("2026-11-27T10:00:00Z stdin F hi")
            .unwrap_err()
            .to_string();
        assert!(error.contains("neither stdout nor stderr"), "{error}");
    }
}
