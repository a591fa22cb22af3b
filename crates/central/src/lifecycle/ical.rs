//! The machine-readable calendar of maintenance windows (P-5.1.7, P-4.1.7) and service
//! retirements (TT-3.12, TT-3.14), so participants' systems can subscribe to it instead of
//! reading notices: iCalendar (RFC 5545) and JSON.
//!
//! The iCalendar writer follows RFC 5545 to the letter where clients differ: CRLF line ends
//! (§3.1), lines folded at 75 octets without splitting a UTF-8 character (§3.1), TEXT values
//! escaped (`\\`, `\;`, `\,`, `\n`; §3.3.11), times in UTC form `YYYYMMDDTHHMMSSZ` (§3.3.5).

use egov_xroad::ServiceId;
use serde::Serialize;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::notices::{self, NoticeKind};
use super::services::{self, RetirementKind};
use super::{local_date, start_of_day};
use crate::{CentralError, CentralStore};

/// Longest physical line in octets, excluding the CRLF (RFC 5545 §3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// The calendar's `PRODID`.
pub const PRODID: &str = "-//egov//Central server lifecycle calendar//EN";

/// One event of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarEvent {
    /// Globally unique and stable across downloads.
    pub uid: String,
    /// `maintenance`, `version-retirement` or `service-disconnection`.
    pub kind: NoticeKind,
    /// One-line summary.
    pub summary: String,
    /// Details.
    pub description: String,
    /// Start.
    #[serde(with = "super::timefmt::rfc3339")]
    pub start: OffsetDateTime,
    /// End (exclusive).
    #[serde(with = "super::timefmt::rfc3339")]
    pub end: OffsetDateTime,
    /// When it was announced (iCalendar `DTSTAMP`).
    #[serde(with = "super::timefmt::rfc3339")]
    pub stamp: OffsetDateTime,
    /// The service concerned, if any.
    pub service_id: Option<ServiceId>,
    /// Who announced it: `operator` or a member id.
    pub announced_by: String,
}

/// Escapes an iCalendar TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line
/// breaks; other control characters (not allowed in TEXT) are dropped.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                // CRLF and a lone CR are one line break
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line (RFC 5545 §3.1): no physical line exceeds 75 octets; continuation
/// lines start with one space; a UTF-8 character is never split. The result has CRLF between
/// physical lines and none at the end.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 24);
    let mut octets = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if octets + width > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            octets = 1;
        }
        out.push(c);
        octets += width;
    }
    out
}

/// A UTC DATE-TIME in the form `YYYYMMDDTHHMMSSZ` (RFC 5545 §3.3.5, form #2).
pub fn utc_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The events as an iCalendar stream (`text/calendar`).
pub fn to_ical(events: &[CalendarEvent]) -> String {
    let mut out = String::new();
    let mut put = |line: String| {
        out.push_str(&fold(&line));
        out.push_str("\r\n");
    };
    put("BEGIN:VCALENDAR".into());
    put("VERSION:2.0".into());
    put(format!("PRODID:{PRODID}"));
    put("CALSCALE:GREGORIAN".into());
    put("METHOD:PUBLISH".into());
    put(format!("X-WR-CALNAME:{}", escape_text("e-Government: maintenance windows and service retirements")));
    for e in events {
        put("BEGIN:VEVENT".into());
        put(format!("UID:{}", escape_text(&e.uid)));
        put(format!("DTSTAMP:{}", utc_stamp(e.stamp)));
        put(format!("DTSTART:{}", utc_stamp(e.start)));
        put(format!("DTEND:{}", utc_stamp(e.end)));
        put(format!("SUMMARY:{}", escape_text(&e.summary)));
        put(format!("DESCRIPTION:{}", escape_text(&e.description)));
        put(format!("CATEGORIES:{}", escape_text(e.kind.as_str())));
        put("TRANSP:TRANSPARENT".into());
        put("END:VEVENT".into());
    }
    put("END:VCALENDAR".into());
    out
}

/// The events as JSON: `{"events": [...]}`.
pub fn to_json(events: &[CalendarEvent]) -> serde_json::Value {
    serde_json::json!({ "events": events })
}

/// The calendar's events that end at or after `since`: maintenance windows and announced
/// service retirements (a retirement is the whole first day the service no longer answers,
/// in Baku time), by start.
pub async fn load_events(store: &CentralStore, since: OffsetDateTime) -> Result<Vec<CalendarEvent>, CentralError> {
    let mut events = Vec::new();
    for n in notices::maintenance_windows(store, since).await? {
        let (Some(start), Some(end)) = (n.starts_at, n.ends_at) else { continue };
        events.push(CalendarEvent {
            uid: format!("maintenance-{}@egov-central", n.id),
            kind: NoticeKind::Maintenance,
            summary: n.title,
            description: n.body,
            start,
            end,
            stamp: n.created_at,
            service_id: n.service_id,
            announced_by: n.sender,
        });
    }
    // a retirement event lasts its whole day, so one that began before `since` may still run
    let first_day = local_date(since - Duration::DAY);
    for s in services::retirements(store, first_day).await? {
        let Some(r) = &s.retirement else { continue };
        let start = start_of_day(r.retires_on);
        let end = start + Duration::DAY;
        if end < since {
            continue;
        }
        let (kind, summary, description) = match r.kind {
            RetirementKind::Version => (
                NoticeKind::VersionRetirement,
                format!("{} stops", s.service_id),
                format!(
                    "{} ({}) stops answering; use the new version {}.{}",
                    s.service_name,
                    s.service_id,
                    r.successor.as_ref().map(ToString::to_string).unwrap_or_default(),
                    r.reason.as_deref().map(|n| format!("\n{n}")).unwrap_or_default()
                ),
            ),
            RetirementKind::Disconnection => (
                NoticeKind::ServiceDisconnection,
                format!("{} is disconnected", s.service_id),
                format!(
                    "{} ({}) is disconnected. Reasons: {}",
                    s.service_name,
                    s.service_id,
                    r.reason.as_deref().unwrap_or_default()
                ),
            ),
        };
        events.push(CalendarEvent {
            uid: format!("retirement-{}@egov-central", s.id),
            kind,
            summary,
            description,
            start,
            end,
            stamp: r.announced_at,
            service_id: Some(s.service_id.clone()),
            announced_by: s.decided_by.clone().unwrap_or_else(|| super::OPERATOR.to_owned()),
        });
    }
    events.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("one\ntwo\r\nthree\rfour"), r"one\ntwo\nthree\nfour");
        assert_eq!(escape_text("tab\there\u{7}"), "tab here");
        // colon and double quote need no escaping in TEXT
        assert_eq!(escape_text("a:\"b\""), "a:\"b\"");
    }

    #[test]
    fn folds_at_75_octets() {
        let short = "SUMMARY:short";
        assert_eq!(fold(short), short);
        let exact = format!("DESCRIPTION:{}", "x".repeat(75 - 12));
        assert_eq!(exact.len(), 75);
        assert_eq!(fold(&exact), exact);
        let long = format!("DESCRIPTION:{}", "x".repeat(200));
        let folded = fold(&long);
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 75);
        assert_eq!(lines[1].len(), 75);
        assert!(lines[1].starts_with(' ') && !lines[1].starts_with("  "));
        assert_eq!(lines[2], format!(" {}", "x".repeat(212 - 75 - 74)));
        // unfolding (remove CRLF + one space) restores the line
        assert_eq!(folded.replace("\r\n ", ""), long);
    }

    #[test]
    fn never_splits_utf8() {
        // "ə" is 2 octets: after "SUMMARY:" (8) + 33 × "ə" (66) = 74 octets, the next "ə" would
        // make 76, so it moves to the next line
        let line = format!("SUMMARY:{}", "ə".repeat(40));
        let folded = fold(&line);
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(lines[0].len(), 74);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE_OCTETS));
        assert_eq!(folded.replace("\r\n ", ""), line);
    }

    #[test]
    fn writes_a_calendar() {
        let e = CalendarEvent {
            uid: "maintenance-1@egov-central".into(),
            kind: NoticeKind::Maintenance,
            summary: "Registry maintenance; DB upgrade, phase 1".into(),
            description: format!("Line one\nLine two: {}", "ü".repeat(60)),
            start: datetime!(2026-04-04 20:00 UTC),
            end: datetime!(2026-04-05 02:30 +04:00),
            stamp: datetime!(2026-03-30 09:15:07 UTC),
            service_id: None,
            announced_by: "operator".into(),
        };
        let cal = to_ical(std::slice::from_ref(&e));
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        assert!(cal.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(!cal.replace("\r\n", "").contains('\n'), "bare LF in output");
        assert!(cal.split("\r\n").all(|l| l.len() <= MAX_LINE_OCTETS));
        assert!(cal.contains("\r\nDTSTART:20260404T200000Z\r\n"));
        assert!(cal.contains("\r\nDTEND:20260404T223000Z\r\n"));
        assert!(cal.contains("\r\nDTSTAMP:20260330T091507Z\r\n"));
        assert!(cal.contains("\r\nSUMMARY:Registry maintenance\\; DB upgrade\\, phase 1\r\n"));
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:Line one\\nLine two: {}\r\n", "ü".repeat(60))));
        assert_eq!(cal.matches("BEGIN:VEVENT").count(), 1);

        let json = to_json(&[e]);
        assert_eq!(json["events"][0]["start"], "2026-04-04T20:00:00Z");
        assert_eq!(json["events"][0]["end"], "2026-04-04T22:30:00Z");
        assert_eq!(json["events"][0]["kind"], "maintenance");
    }

    /// Parses the output with Python's `icalendar` package when it is installed (skipped, with
    /// a notice, when it is not).
    #[test]
    fn python_icalendar_accepts_it() {
        let e = CalendarEvent {
            uid: "retirement-2@egov-central".into(),
            kind: NoticeKind::VersionRetirement,
            summary: "AZ/GOV/1400000001/registry/getPerson/v1 stops".into(),
            description: format!("Köhnə versiya; use v2, please.\n{}", "ş".repeat(80)),
            start: datetime!(2026-05-09 20:00 UTC),
            end: datetime!(2026-05-10 20:00 UTC),
            stamp: datetime!(2026-04-01 10:00 UTC),
            service_id: None,
            announced_by: "operator".into(),
        };
        let cal = to_ical(std::slice::from_ref(&e));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ics");
        std::fs::write(&path, &cal).unwrap();
        let script = r#"
import sys
try:
    import icalendar
except ImportError:
    print("SKIP"); sys.exit(0)
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
ev = [c for c in cal.walk('VEVENT')][0]
print(str(ev['SUMMARY']))
print(str(ev['DESCRIPTION']))
print(ev['DTSTART'].dt.isoformat())
print(ev['DTEND'].dt.isoformat())
"#;
        let out = match std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output() {
            Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
            Ok(out) => panic!("icalendar refused the calendar: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => {
                eprintln!("*** SKIPPED: python3 not available to check the iCalendar output ***");
                return;
            }
        };
        if out.trim() == "SKIP" {
            eprintln!("*** SKIPPED: Python package icalendar not installed (pip install icalendar) ***");
            return;
        }
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], e.summary);
        assert_eq!(lines[1], "Köhnə versiya; use v2, please.");
        assert_eq!(lines[2], "ş".repeat(80));
        assert_eq!(lines[3], "2026-05-09T20:00:00+00:00");
        assert_eq!(lines[4], "2026-05-10T20:00:00+00:00");
    }
}
