//! The core crate imports in one direction: each module of `shared/src` refers only to modules
//! above it in the crate map of `shared/src/lib.rs`. A cycle needs at least one edge pointing up,
//! so checking every edge against the map's order rules out cycles and names the edge to remove.
//!
//! Read from the source, not from the compiler: every `crate::` path (in `use` lines and inline,
//! `use crate::{a::X, b::Y}` groups included) and every `super::` chain that climbs out of its
//! top-level module counts; comments, strings and character literals do not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A reference from one top-level module to another.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: String,
    to: String,
    /// `rules/oom_kill.rs:12`.
    at: String,
}

/// The modules in the order of the crate map: its table rows `| [`name`] | ... |`.
fn crate_map_order(lib: &str) -> Vec<String> {
    lib.lines()
        .skip_while(|l| !l.starts_with("//! ## Crate map"))
        .filter_map(|l| l.strip_prefix("//! | [`"))
        .filter_map(|l| l.split_once("`]").map(|(name, _)| name.to_owned()))
        .collect()
}

/// `pub mod x;` / `mod x;` declarations of the crate root.
fn declared_modules(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// Items the crate root re-exports (`pub use analyze::{Analyzer, Options};`), by name → module, so
/// `crate::Analyzer` counts as a reference to `analyze`.
fn root_items(lib: &str) -> BTreeMap<String, String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub use "))
        .filter_map(|l| l.strip_suffix(';'))
        .filter_map(|l| l.split_once("::"))
        .flat_map(|(module, items)| {
            items
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(move |i| (i.to_owned(), module.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `src` with comments, string literals and character literals blanked (newlines kept, so line
/// numbers stay right), leaving only code for the path search.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, s: &[char]| {
        out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let end = match c[i] {
            '/' if next == Some('/') => (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len()),
            '/' if next == Some('*') => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match (c.get(j), c.get(j + 1)) {
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            j += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            j += 2;
                            if depth == 0 {
                                break j;
                            }
                        }
                        (Some(_), _) => j += 1,
                        (None, _) => break c.len(),
                    }
                }
            }
            'r' if (i == 0
                || !ident(c[i - 1])
                || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))))
                && matches!(next, Some('"' | '#')) =>
            {
                let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
                if c.get(i + 1 + hashes) != Some(&'"') {
                    out.push(c[i]);
                    i += 1;
                    continue;
                }
                let mut j = i + 2 + hashes;
                loop {
                    if j >= c.len() {
                        break c.len();
                    }
                    if c[j] == '"'
                        && c[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&ch| ch == '#')
                            .count()
                            == hashes
                    {
                        break j + 1 + hashes;
                    }
                    j += 1;
                }
            }
            '"' => {
                let mut j = i + 1;
                while j < c.len() && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                (j + 1).min(c.len())
            }
            '\'' if next == Some('\\') => (i + 3..c.len())
                .find(|&j| c[j] == '\'')
                .map_or(c.len(), |j| j + 1),
            '\'' if c.get(i + 2) == Some(&'\'') => i + 3,
            ch => {
                out.push(ch);
                i += 1;
                continue;
            }
        };
        blank(&mut out, &c[i..end]);
        i = end;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other(char),
}

fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((
                match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    other => Tok::Other(other),
                },
                line,
            ));
            i += 1;
        }
    }
    out
}

/// The first segment of each path that starts at token `at` (one path, or each entry of a
/// `{...}` group).
fn first_segments(toks: &[(Tok, usize)], at: usize) -> Vec<String> {
    match toks.get(at) {
        Some((Tok::Ident(name), _)) => vec![name.clone()],
        Some((Tok::Open, _)) => {
            let mut out = Vec::new();
            let mut depth = 0usize;
            let mut entry_start = true;
            for (t, _) in &toks[at..] {
                match t {
                    Tok::Open => {
                        depth += 1;
                        entry_start = depth == 1;
                        continue;
                    }
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Comma if depth == 1 => {
                        entry_start = true;
                        continue;
                    }
                    Tok::Ident(name) if entry_start && depth == 1 => out.push(name.clone()),
                    _ => {}
                }
                entry_start = false;
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Every reference from the file at `rel` (relative to `src/`) to another top-level module.
fn edges_of(rel: &str, src: &str) -> Vec<Edge> {
    let mut file_path: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if file_path.last().is_some_and(|l| l == "mod") {
        file_path.pop();
    }
    let from = file_path[0].clone();
    let toks = tokens(&code_only(src));
    let mut edges = Vec::new();
    // Inline `mod name {` blocks: (brace depth outside the block).
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut push = |to: String, line: usize| {
        if to != from {
            edges.push(Edge {
                from: from.clone(),
                to,
                at: format!("{rel}:{line}"),
            });
        }
    };
    for i in 0..toks.len() {
        let (tok, line) = &toks[i];
        let after_sep = i > 0 && matches!(toks[i - 1].0, Tok::PathSep | Tok::Other('$'));
        match tok {
            Tok::Open => {
                if i >= 2
                    && toks[i - 2].0 == Tok::Ident("mod".into())
                    && matches!(toks[i - 1].0, Tok::Ident(_))
                {
                    inline.push(depth);
                }
                depth += 1;
            }
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            Tok::Ident(w)
                if w == "crate"
                    && !after_sep
                    && toks.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep) =>
            {
                for to in first_segments(&toks, i + 2) {
                    push(to, *line);
                }
            }
            Tok::Ident(w) if w == "super" && !after_sep => {
                let mut ups = 0;
                let mut j = i;
                while toks.get(j).map(|t| &t.0) == Some(&Tok::Ident("super".into()))
                    && toks.get(j + 1).map(|t| &t.0) == Some(&Tok::PathSep)
                {
                    ups += 1;
                    j += 2;
                }
                // Climbing to the crate root from `file_path` + the inline modules open here.
                if ups >= file_path.len() + inline.len() {
                    for to in first_segments(&toks, j) {
                        push(to, *line);
                    }
                }
            }
            _ => {}
        }
    }
    edges
}

/// Edges that break the order, as readable lines; empty when the layering holds.
fn violations(
    order: &[String],
    root: &BTreeMap<String, String>,
    files: &[(String, String)],
) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|o| o == m);
    let mut out = Vec::new();
    for (rel, src) in files {
        for mut e in edges_of(rel, src) {
            if let Some(module) = root.get(&e.to) {
                e.to.clone_from(module);
            }
            if e.to == e.from {
                continue;
            }
            match (rank(&e.from), rank(&e.to)) {
                (Some(f), Some(t)) if t > f => out.push(format!(
                    "{} → {} at {}: `{}` is below `{}` in the crate map (a backward edge; with the forward ones it makes a cycle)",
                    e.from, e.to, e.at, e.to, e.from
                )),
                (Some(_), Some(_)) => {}
                (None, _) => out.push(format!("module `{}` ({}) is not in the crate map", e.from, e.at)),
                (_, None) => out.push(format!(
                    "{} → crate::{} at {}: not a module of the crate map (refer to items by their module)",
                    e.from, e.to, e.at
                )),
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, root, out)?;
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if rel != "lib.rs" {
                out.push((rel, std::fs::read_to_string(&p)?));
            }
        }
    }
    Ok(())
}

#[test]
fn core_modules_import_only_from_modules_above_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let order = crate_map_order(&lib);
    let declared = declared_modules(&lib);
    let mapped: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(
        mapped.len(),
        order.len(),
        "a module is listed twice in the crate map"
    );
    assert_eq!(
        declared, mapped,
        "modules declared (left) and in the crate map (right) differ"
    );
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files).expect("read the core's sources");
    assert!(files.len() > 20, "read the core's sources");
    let bad = violations(&order, &root_items(&lib), &files);
    assert!(
        bad.is_empty(),
        "the core's layering is broken:\n{}",
        bad.join("\n")
    );
}

fn order(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn file(rel: &str, src: &str) -> (String, String) {
    (rel.to_owned(), src.to_owned())
}

#[test]
fn an_upward_use_is_named_with_its_place() {
    let files = [
        file("low.rs", "use crate::high::Thing;\n"),
        file("high.rs", "use crate::low::Other;\n"),
    ];
    let bad = violations(&order(&["low", "high"]), &BTreeMap::new(), &files);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("low → high at low.rs:1"), "{}", bad[0]);
}

#[test]
fn groups_inline_paths_and_escaping_super_count() {
    let files = [
        file("a.rs", "use crate::{b::X, c::{self, Y}};\n"),
        file("b/mod.rs", "fn f() { let _ = crate::d::g(); }\n"),
        file("b/inner.rs", "use super::Z;\nuse super::super::e::W;\n"),
        file(
            "c.rs",
            "mod tests {\n    use super::super::e::V;\n    use super::*;\n}\n",
        ),
    ];
    let bad = violations(&order(&["a", "b", "c", "d", "e"]), &BTreeMap::new(), &files);
    let edges: Vec<&str> = bad
        .iter()
        .map(|l| l.split(" at ").next().unwrap_or_default())
        .collect();
    assert_eq!(edges, ["a → b", "a → c", "b → d", "b → e", "c → e"]);
}

#[test]
fn comments_strings_and_macro_paths_are_not_edges() {
    let src = "//! [`crate::high`]\n/* crate::high */\nconst S: &str = \"crate::high::X\";\n\
               const R: &str = r#\"use crate::high;\"#;\nconst C: char = '\"';\nfn f<'a>(_: &'a str) {}\n\
               macro_rules! m { () => { $crate::high::x() }; }\n";
    assert!(violations(
        &order(&["low", "high"]),
        &BTreeMap::new(),
        &[file("low.rs", src)]
    )
    .is_empty());
}

#[test]
fn a_root_re_export_counts_as_its_module() {
    let root = root_items("pub use high::{Thing, Other};\npub use low::Base;\n");
    assert_eq!(root.get("Other").map(String::as_str), Some("high"));
    let bad = violations(
        &order(&["low", "high"]),
        &root,
        &[file("low.rs", "fn f(_: crate::Thing) {}\n")],
    );
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("low → high at low.rs:1"), "{}", bad[0]);
}

#[test]
fn an_unmapped_module_or_root_item_is_reported() {
    let files = [
        file("low.rs", "use crate::Report;\n"),
        file("stray.rs", "use crate::low::X;\n"),
    ];
    let bad = violations(&order(&["low"]), &BTreeMap::new(), &files);
    assert_eq!(bad.len(), 2, "{bad:?}");
}
