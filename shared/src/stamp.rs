//! Timestamps as the node's logs write them, and how they become points in time.
//!
//! Journals and klog headers print no year, `dmesg` prints seconds since boot, ipamd prints ISO 8601.
//! A [`Stamp`] keeps what the line said; [`Clock`] turns it into UTC once the whole bundle has been
//! read and the year (from the bundle name or a full timestamp) and the boot time are known.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A point in time as one log line gave it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Stamp {
    /// A complete UTC time.
    Full(DateTime<Utc>),
    /// Month, day and time of day, year unknown (journal prefix, klog header).
    NoYear(NoYear),
    /// Seconds since boot (`dmesg`).
    SinceBoot(f64),
}

/// A journal or klog time without its year; orders within one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoYear {
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// Seconds since midnight.
    pub secs: u32,
    /// Sub-second part.
    pub micros: u32,
}

impl NoYear {
    fn in_year(self, year: i32) -> Option<DateTime<Utc>> {
        let date = NaiveDate::from_ymd_opt(year, self.month, self.day)?;
        let time =
            chrono::NaiveTime::from_num_seconds_from_midnight_opt(self.secs, self.micros * 1000)?;
        Some(Utc.from_utc_datetime(&NaiveDateTime::new(date, time)))
    }
}

impl Stamp {
    /// The same point moved `secs` earlier (a year-less time does not cross midnight backwards).
    pub fn minus_secs(self, secs: u32) -> Stamp {
        match self {
            // At the edge of chrono's range the stamp stays as it was rather than overflow.
            Stamp::Full(t) => Stamp::Full(
                t.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(secs)))
                    .unwrap_or(t),
            ),
            Stamp::SinceBoot(b) => Stamp::SinceBoot((b - f64::from(secs)).max(0.0)),
            Stamp::NoYear(n) => Stamp::NoYear(NoYear {
                secs: n.secs.saturating_sub(secs),
                ..n
            }),
        }
    }
}

/// Resolves [`Stamp`]s once the reference year and boot time are known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// When the bundle was collected, or the latest full timestamp seen.
    pub reference: Option<DateTime<Utc>>,
    /// When the node booted.
    pub boot: Option<DateTime<Utc>>,
}

impl Clock {
    /// The UTC time of a stamp, when it can be known.
    pub fn resolve(&self, stamp: Stamp) -> Option<DateTime<Utc>> {
        match stamp {
            Stamp::Full(t) => Some(t),
            Stamp::NoYear(ny) => {
                let reference = self.reference?;
                let t = ny.in_year(reference.year())?;
                // A journal spans at most days or weeks; a month "after" the collection is last year's.
                let horizon = reference.checked_add_signed(chrono::TimeDelta::days(2))?;
                if t > horizon {
                    ny.in_year(reference.year().checked_sub(1)?)
                } else {
                    Some(t)
                }
            }
            Stamp::SinceBoot(secs) => {
                let boot = self.boot?;
                if !(0.0..=MAX_UPTIME_SECS).contains(&secs) {
                    return None;
                }
                let micros = (secs * 1e6) as i64;
                boot.checked_add_signed(chrono::TimeDelta::microseconds(micros))
            }
        }
    }

    /// Seconds from boot to `t`, when boot is known.
    pub fn since_boot(&self, t: DateTime<Utc>) -> Option<f64> {
        let boot = self.boot?;
        // Both ends are valid `DateTime`s, so their distance fits a `TimeDelta`; no overflow.
        Some(t.signed_duration_since(boot).num_milliseconds() as f64 / 1000.0)
    }
}

/// Largest believable uptime (100 years); a dmesg offset outside `0..=MAX_UPTIME_SECS` (or not a
/// finite number: `inf`, `NaN`) leaves its line undated.
pub const MAX_UPTIME_SECS: f64 = 100.0 * 366.0 * 86_400.0;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_from_name(b: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.as_slice() == b)
        .map(|i| i as u32 + 1)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `HH:MM:SS` at the start of `b`.
fn hms(b: &[u8]) -> Option<u32> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    (h < 24 && m < 60 && s < 61).then_some(h * 3600 + m * 60 + s)
}

/// Fraction digits after a `.`, as microseconds; returns (micros, bytes consumed including the dot).
fn fraction(b: &[u8]) -> (u32, usize) {
    if b.first() != Some(&b'.') {
        return (0, 0);
    }
    let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut micros = 0u32;
    for i in 0..6 {
        micros = micros * 10
            + b.get(1 + i)
                .filter(|_| i < n)
                .map_or(0, |c| u32::from(c - b'0'));
    }
    (micros, 1 + n)
}

/// Journal/syslog prefix: `May 20 12:33:17 host ...` (day may be space-padded).
pub fn parse_syslog(line: &[u8]) -> Option<NoYear> {
    if line.len() < 15 || line[3] != b' ' {
        return None;
    }
    let month = month_from_name(&line[0..3])?;
    let day = digits(line[4..6].trim_ascii_start())?;
    let secs = hms(&line[7..])?;
    Some(NoYear {
        month,
        day,
        secs,
        micros: 0,
    })
}

/// klog header anywhere in the line: `I0520 12:33:17.590878`.
pub fn parse_klog(line: &[u8]) -> Option<NoYear> {
    // The header follows the journal prefix; look at the first few candidate level letters only.
    let mut from = 0;
    for _ in 0..4 {
        let rel = line[from..]
            .iter()
            .position(|c| matches!(c, b'I' | b'W' | b'E' | b'F'))?;
        let at = from + rel;
        let h = &line[at..];
        if h.len() >= 21 && h[5] == b' ' && h[14] == b'.' {
            if let (Some(md), Some(secs)) = (digits(&h[1..5]), hms(&h[6..14])) {
                let (micros, _) = fraction(&h[14..]);
                let (month, day) = (md / 100, md % 100);
                if (1..=12).contains(&month) && (1..=31).contains(&day) {
                    return Some(NoYear {
                        month,
                        day,
                        secs,
                        micros,
                    });
                }
            }
        }
        from = at + 1;
    }
    None
}

/// ISO 8601 / RFC 3339 at `b`: `2022-05-12T01:14:59.005Z`, `2023-08-04T18:55:00+0000`.
pub fn parse_iso(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        digits(&b[0..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    let secs = hms(&b[11..])?;
    let (micros, used) = fraction(&b[19..]);
    let rest = &b[19 + used..];
    let offset_secs: i64 = match rest.first() {
        Some(b'+' | b'-') if rest.len() >= 5 => {
            let sign = if rest[0] == b'-' { -1 } else { 1 };
            let h = digits(&rest[1..3])?;
            let m = if rest[3] == b':' {
                digits(rest.get(4..6)?)?
            } else {
                digits(&rest[3..5])?
            };
            sign * i64::from(h * 3600 + m * 60)
        }
        _ => 0,
    };
    let time =
        chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs.min(86_399), micros * 1000)?;
    let t = Utc.from_utc_datetime(&NaiveDateTime::new(date, time));
    t.checked_sub_signed(chrono::TimeDelta::seconds(offset_secs))
}

/// `[  147.358790]` at the start of a dmesg line.
pub fn parse_dmesg_offset(line: &[u8]) -> Option<f64> {
    let rest = line.strip_prefix(b"[")?;
    let end = rest.iter().position(|&c| c == b']')?;
    let secs: f64 = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // `f64::from_str` also takes `inf`, `NaN` and `1e30`: none is an uptime.
    (0.0..=MAX_UPTIME_SECS).contains(&secs).then_some(secs)
}

/// `[Tue Nov 20 22:30:22 2018]` at the start of a `dmesg -T` line.
pub fn parse_dmesg_human(line: &[u8]) -> Option<DateTime<Utc>> {
    let rest = line.strip_prefix(b"[")?;
    let end = rest.iter().position(|&c| c == b']')?;
    let s = std::str::from_utf8(&rest[..end]).ok()?;
    let t = NaiveDateTime::parse_from_str(s.trim(), "%a %b %e %H:%M:%S %Y").ok()?;
    Some(Utc.from_utc_datetime(&t))
}

/// The zap JSON `"ts":"..."` field.
fn parse_zap_ts(line: &[u8]) -> Option<DateTime<Utc>> {
    let at = memchr::memmem::find(line, b"\"ts\":\"")?;
    parse_iso(&line[at + 6..])
}

/// The best timestamp a line offers.
pub fn parse_line(line: &[u8]) -> Option<Stamp> {
    let first = *line.first()?;
    if first.is_ascii_digit() {
        if let Some(t) = parse_iso(line) {
            return Some(Stamp::Full(t));
        }
    }
    if first == b'{' {
        return parse_zap_ts(line).map(Stamp::Full);
    }
    if first == b'[' {
        if let Some(t) = parse_dmesg_human(line) {
            return Some(Stamp::Full(t));
        }
        return parse_dmesg_offset(line).map(Stamp::SinceBoot);
    }
    // klog carries microseconds; prefer it over the journal prefix.
    if let Some(k) = parse_klog(line) {
        return Some(Stamp::NoYear(k));
    }
    if let Some(s) = parse_syslog(line) {
        // containerd under journald: `... containerd[1]: time="2026-10-19T05:12:13.1Z" level=...`
        if let Some(at) = memchr::memmem::find(line, b"time=\"") {
            if let Some(t) = parse_iso(&line[at + 6..]) {
                return Some(Stamp::Full(t));
            }
        }
        return Some(Stamp::NoYear(s));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_format() {
        let klog = parse_line(
            b"May 20 12:33:17 ip-1 kubelet[5313]: I0520 12:33:17.590878    5313 log.go:172] x",
        );
        assert_eq!(
            klog,
            Some(Stamp::NoYear(NoYear {
                month: 5,
                day: 20,
                secs: 45197,
                micros: 590878
            }))
        );
        let syslog = parse_line(b"Apr  8 07:44:28 ip-172-27-16-222 systemd: Started x");
        assert_eq!(
            syslog,
            Some(Stamp::NoYear(NoYear {
                month: 4,
                day: 8,
                secs: 27868,
                micros: 0
            }))
        );
        let zap = parse_line(br#"{"level":"info","ts":"2022-05-12T01:14:52.002Z","msg":"x"}"#);
        assert_eq!(zap, parse_iso(b"2022-05-12T01:14:52.002Z").map(Stamp::Full));
        let Some(Stamp::Full(t)) = parse_line(b"2023-08-04T18:55:00+0000 [eks-bootstrap] INFO: x")
        else {
            panic!("cloud-init stamp not parsed");
        };
        assert_eq!(t.to_rfc3339(), "2023-08-04T18:55:00+00:00");
        assert_eq!(
            parse_line(b"[  147.358790] INFO: task"),
            Some(Stamp::SinceBoot(147.35879))
        );
        let Some(Stamp::Full(h)) = parse_line(b"[Tue Nov 20 22:30:22 2018] x") else {
            panic!("dmesg -T")
        };
        assert_eq!(h.to_rfc3339(), "2018-11-20T22:30:22+00:00");
        assert_eq!(parse_line(b"garbage"), None);
        assert_eq!(parse_line(b""), None);
    }

    #[test]
    fn no_year_resolves_against_reference() {
        let reference = parse_iso(b"2026-01-03T00:00:00Z");
        let clock = Clock {
            reference,
            boot: None,
        };
        let dec = NoYear {
            month: 12,
            day: 30,
            secs: 0,
            micros: 0,
        };
        assert_eq!(
            clock.resolve(Stamp::NoYear(dec)).map(|t| t.year()),
            Some(2025),
            "a December line in a January bundle is last year's"
        );
    }

    #[test]
    fn offsets_handle_timezones() {
        let t = parse_iso(b"2026-10-19T07:12:13.5+02:00");
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2026-10-19T05:12:13.500+00:00".to_string())
        );
    }

    #[test]
    fn absurd_dmesg_uptime_is_undated_not_fatal() {
        let clock = Clock {
            reference: parse_iso(b"2026-10-19T08:12:00Z"),
            boot: parse_iso(b"2026-10-19T05:00:00Z"),
        };
        for line in [
            &b"[9999999999999.5] x"[..],
            b"[inf] x",
            b"[-inf] x",
            b"[1e30] x",
            b"[-1e30] x",
            b"[NaN] x",
            b"[-5.0] x",
        ] {
            assert_eq!(parse_line(line), None, "{}", String::from_utf8_lossy(line));
        }
        // Even a stamp built by hand past the range resolves to nothing instead of panicking.
        assert_eq!(clock.resolve(Stamp::SinceBoot(1e300)), None);
        assert_eq!(clock.resolve(Stamp::SinceBoot(f64::NAN)), None);
        let edge = Clock {
            reference: Some(DateTime::<Utc>::MAX_UTC),
            boot: Some(DateTime::<Utc>::MAX_UTC),
        };
        assert_eq!(edge.resolve(Stamp::SinceBoot(MAX_UPTIME_SECS)), None);
        let ny = NoYear {
            month: 12,
            day: 31,
            secs: 0,
            micros: 0,
        };
        let _ = edge.resolve(Stamp::NoYear(ny));
        let min = Stamp::Full(DateTime::<Utc>::MIN_UTC).minus_secs(u32::MAX);
        assert_eq!(min, Stamp::Full(DateTime::<Utc>::MIN_UTC));
    }

    /// Line prefixes of every dated source the analyzer reads (see docs/bundle-format.md).
    fn dated_prefix() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let num = "-?[0-9]{0,25}(\\.[0-9]{0,12})?(e-?[0-9]{1,4})?|inf|-inf|NaN|nan|infinity";
        prop_oneof![
            // dmesg.current / dmesg.boot: `[  147.358790] ...`
            num.prop_map(|n| format!("[{n}] ")),
            // dmesg -T
            "[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9 ]{1,3} [0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3} -?[0-9]{1,12}"
                .prop_map(|t| format!("[{t}] ")),
            // journal / syslog / messages, optionally with a klog header (kubelet, ipamd in journal)
            "(Jan|Feb|Dec|Xyz) [0-9 ]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [a-z0-9.-]{0,20} [a-z]{1,10}(\\[[0-9]{1,9}\\])?: ",
            "(Jan|Dec) [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} h kubelet\\[1\\]: [IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{0,12} ",
            // klog header alone (container logs, kubelet.log)
            "[IWEF][0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{0,12} ",
            // ipamd / plugin zap JSON
            "-?[0-9]{1,12}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:?[0-9]{2})?"
                .prop_map(|t| format!("{{\"level\":\"error\",\"ts\":\"{t}\",\"msg\":\"")),
            // cloud-init / nodeadm / user-data ISO stamps, containerd `time="..."` under journald
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([+-][0-9]{2}:?[0-9]{2})? ",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-]99:99 ",
            "(May|Dec) 20 12:33:17 h containerd\\[1\\]: time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})\" ",
            // io_throttling rows and anything else: no date, must not panic either
            "[0-9]{1,12} \\(.{0,10}\\) [0-9]{0,25}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_of_every_dated_source_never_panic(
            prefix in dated_prefix(),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            reference in proptest::option::of(-300_000_000_000i64..300_000_000_000i64),
            boot in proptest::option::of(-300_000_000_000i64..300_000_000_000i64),
            back in proptest::num::u32::ANY,
        ) {
            let mut line = prefix.into_bytes();
            line.extend_from_slice(&tail);
            let clock = Clock {
                reference: reference.and_then(|s| DateTime::from_timestamp(s, 0)),
                boot: boot.and_then(|s| DateTime::from_timestamp(s, 0)),
            };
            if let Some(stamp) = parse_line(&line) {
                if let Some(t) = clock.resolve(stamp) {
                    let _ = clock.since_boot(t);
                }
                let _ = clock.resolve(stamp.minus_secs(back));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(line in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let clock = Clock { reference: Some(DateTime::<Utc>::MAX_UTC), boot: Some(DateTime::<Utc>::MIN_UTC) };
            if let Some(stamp) = parse_line(&line) {
                let _ = clock.resolve(stamp).and_then(|t| clock.since_boot(t));
            }
        }
    }
}
