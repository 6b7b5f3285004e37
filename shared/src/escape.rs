//! Escaping at the render boundary, one function per format and context.
//!
//! Everything a report holds may come from the bundle (member names, log lines, values parsed from
//! files), and a bundle is written by whoever controls the node. Each renderer passes every such
//! field through exactly one of these functions; nothing else in `render` escapes.

/// Whether `c` must never reach an output as itself: C0 and C1 controls (ESC, BEL, CSI, OSC, ...),
/// DEL, and the Unicode bidirectional overrides that reorder what a reader sees.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Text for a terminal: every control character (also newline; a field is one line) becomes `�`,
/// tabs become spaces, so no escape sequence (colour, clear screen, OSC window title) survives.
pub fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if is_hostile(c) => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Serialised JSON with every character [`is_hostile`] that JSON allows raw (DEL, C1 controls, bidi
/// overrides) written as a `\uXXXX` escape instead: the same document to a parser, but no byte a
/// terminal acts on when the report is printed. serde_json already escapes C0 controls.
pub fn json(serialised: &str) -> String {
    let mut o = String::with_capacity(serialised.len());
    for c in serialised.chars() {
        if is_hostile(c) && !matches!(c, '\n' | '\t') {
            // Outside strings serde_json writes only ASCII structure, so such a character is always
            // inside a string, where an escape means the same character.
            o.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            o.push(c);
        }
    }
    o
}

/// Text for HTML element content and attribute values: markup characters become entities and
/// control characters `�`.
pub fn html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' => o.push(' '),
            c if is_hostile(c) => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Prose for Markdown (also inside a table cell): every character Markdown gives a meaning to is
/// backslash-escaped, so bundle text makes no emphasis, link, image, HTML or table column; bare
/// URLs are broken with a zero-width space so no autolink forms.
pub fn markdown_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    // Block syntax (heading, list, rule, setext) only counts at the start of the text; a leading
    // run of digits before `.` or `)` would start an ordered list.
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    let mut chars = s.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let leading = i == 0 || (i == digits && digits > 0);
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => {
                o.push('\\');
                o.push(c);
            }
            '#' | '-' | '+' | '=' if i == 0 => {
                o.push('\\');
                o.push(c);
            }
            '.' | ')' if leading && i > 0 => {
                o.push('\\');
                o.push(c);
            }
            ':' if chars.peek().map(|&(_, n)| n) == Some('/') => o.push_str(":\u{200b}"),
            '.' if o.ends_with("www") => o.push_str("\u{200b}."),
            '\n' | '\r' | '\t' => o.push(' '),
            c if is_hostile(c) => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Log text as a Markdown code span: nothing inside is interpreted (no HTML, links or emphasis).
/// The fence is one backtick longer than the longest run in the text, so backticks in the text
/// cannot close it; `|` is escaped for table cells (GitHub strips the backslash there).
pub fn markdown_code(s: &str) -> String {
    let body: String = s
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_hostile(c) => '\u{fffd}',
            c => c,
        })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space on each side keeps a leading or trailing backtick from touching the fence.
    let pad = if body.starts_with('`') || body.ends_with('`') || body.is_empty() {
        " "
    } else {
        ""
    };
    let body = body.replace('|', "\\|");
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_drops_every_escape() {
        let s = terminal("a\x1b]0;title\x07b\x1b[2J\u{9b}31mc\u{202e}d\ne");
        assert!(!s.chars().any(is_hostile), "{s:?}");
        assert!(s.starts_with('a') && s.ends_with('e'));
    }

    #[test]
    fn json_escapes_c1_and_keeps_meaning() {
        let v = serde_json::json!({"k": "a\u{9b}31m\u{7f}\u{202e}b"});
        let text = json(&serde_json::to_string_pretty(&v).unwrap_or_default());
        assert!(!text.chars().any(is_hostile_raw));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, v);
    }

    fn is_hostile_raw(c: char) -> bool {
        is_hostile(c) && c != '\n'
    }

    #[test]
    fn html_escapes_markup_and_controls() {
        assert_eq!(
            html("<script>alert('x')</script> & \"y\"\x1b"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;\u{fffd}"
        );
    }

    #[test]
    fn markdown_text_is_inert() {
        let s = markdown_text("**b** _i_ [x](javascript:alert(1)) <img> | https://e.x www.e.x");
        for (i, c) in s.char_indices() {
            if "*_[]<>|".contains(c) {
                assert!(s[..i].ends_with('\\'), "unescaped {c} in {s}");
            }
        }
        assert!(!s.contains("://") && !s.contains("www."));
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(markdown_code("a"), "`a`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x``"), "``` `x`` ```");
        assert_eq!(markdown_code("a|b"), "`a\\|b`");
        assert_eq!(markdown_code(""), "`  `");
    }
}
