//! The scanner: one pass over every log member, all signatures at once.
//!
//! Like a grep, it searches whole buffers, not lines: one SIMD literal search (aho-corasick's packed
//! Teddy, the searcher ripgrep uses for `-F -f`) of the literals of every signature that reads the
//! member's kind runs over each buffer, and only a buffer position that matches is widened to its
//! line, numbered (newlines counted since the previous hit) and checked against the signatures'
//! regexes. Lines that match nothing cost only that search. The buffers are the reader's own (the
//! inflating thread's chunks, a file's read buffer), searched where they are; only a line split
//! between two of them is copied, at most `max_line` bytes.
//!
//! Kubelet lines show twice on AL2 (`kubelet/kubelet.log` and `var_log/messages`): they are counted
//! once, by a hash of the text after the syslog tag. Kernel lines show in several views (`dmesg`,
//! `dmesg -T`, syslog): each view is counted apart and the largest view wins.
//!
//! # Where the time goes
//!
//! `perf record` of the analysis (`cargo build --profile profiling -p eks-remedy-core --bench
//! analyze`, the same code as `eks-remedy analyze` without the CLI) on the 1 GiB generated bundles
//! of `bench/analyzer.sh`, share of all CPU samples, on the shared 2-core machine under load
//! (issue 12, third round):
//!
//! | | folder, plain | folder, look-alike | `.tar.gz`, plain | `.tar.gz`, look-alike |
//! |---|---|---|---|---|
//! | kernel: `read` copies out of the page cache, and its page lookups | 64 % + 6 % | 69 % + 6 % | 9 % + 1 % | 5 % + 1 % |
//! | literal search over the buffers (slim Teddy, the kind's literals) | 15 % | 12 % | 13 % | 14 % |
//! | inflate (zlib-rs) incl. CRC-32 | 6.5 % (rotated `.gz`) | 5.2 % | 68 % | 68 % |
//! | newline counting (`memchr` count, SIMD) | 2.7 % | 2.4 % | 2.2 % | 2.2 % |
//! | candidate lines: overlapping literal search, regex confirmation | < 0.5 % | 1.4 % | < 0.5 % | 1.0 % |
//! | widening to lines, kubelet de-duplication hashing, per-member set-up | < 0.5 % | < 0.5 % | < 0.5 % | < 0.5 % |
//!
//! Each member is searched only for the literals of the signatures that read its kind (one finder
//! per [`SourceKind`]): `messages` for 20 literals, kubelet's log for 14, ipamd's for 17,
//! containerd's for 5, a container log for one, instead of all 40 everywhere. That took the search
//! from fat Teddy (16 bytes a step, 28–36 % of a folder's samples) to slim Teddy or `memmem`, and
//! the analysis's user CPU on a folder from about 0.5 s to 0.3 s, below `rg -j1`'s 0.4 s for the
//! same literals. Lines are numbered by a SIMD count of each buffer's newlines (every line must be
//! counted: a later hit's line number depends on it).
//!
//! On a folder, what is left is mostly the kernel's copy out of the page cache, which `rg` pays as
//! well, and it varies several-fold on this virtual machine from minute to minute (0.3–1.4 s of
//! system time for the same 1 GiB). The files are read on the scanning thread into a buffer of
//! [`crate::bundle::FOLDER_BUFFER_BYTES`]: 64 KiB to 1 MiB buffers measured the same, and reading
//! ahead on a second thread cost more CPU than it saved. The scanner searches the reader's buffers
//! in place (the inflating thread's chunks, a file's read buffer); only a line split between two
//! buffers is copied. A line that holds a literal but matches no signature costs its overlapping
//! search and the signatures' regexes: about 1 % at 2 % of lines.
//!
//! Earlier (issue 12), the buffer search was a standard-semantics automaton, which aho-corasick runs
//! without its SIMD prefilter (that prefilter exists only for leftmost match kinds): every byte
//! walked the automaton, ~550 MB/s of CPU. The search is leftmost-first (Teddy) and the standard
//! automaton is kept only for the overlapping search inside a candidate line.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::io::{self, BufRead};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::Regex;

use crate::bundle::{drain, strip_gz, MemberSink, SinkResult};
use crate::facts::{Facts, KUBELET_START};
use crate::occurrences::{Occurrences, Sample};
use crate::report::excerpt;
use crate::rule::Rule;
use crate::signature::Signature;
use crate::source::SourceKind;
use crate::stamp::{parse_line, Stamp};

/// Distinct kubelet lines remembered per signature for de-duplication; past it, lines are counted
/// without de-duplication (an over-count, never a miss).
pub const MAX_DEDUP_KEYS: usize = 1 << 16;
/// First lines of a member shown to [`Facts::head_line`].
const HEAD_LINES: u64 = 5;

/// Who owns a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Facts,
    Rule(usize),
}

struct CompiledSig {
    owner: Owner,
    sig: &'static Signature,
    confirm: Option<Regex>,
    reject: Option<Regex>,
    tally: Option<Regex>,
    backdate: Option<Regex>,
    sources: Vec<SourceKind>,
}

/// Where a matched line's count goes.
#[derive(Default)]
struct SigState {
    plain: Occurrences,
    kubelet: Occurrences,
    kubelet_seen: HashSet<u64>,
    kernel: [Occurrences; 4],
}

impl SigState {
    fn merged(self) -> Occurrences {
        let SigState {
            mut plain,
            kubelet,
            kernel,
            ..
        } = self;
        plain.absorb(kubelet);
        if let Some(widest) = kernel.into_iter().max_by_key(|o| o.count) {
            plain.absorb(widest);
        }
        plain
    }
}

/// A signature could not be compiled (a bug in the catalogue, caught by the catalogue test).
#[derive(Debug, thiserror::Error)]
#[error("signature {owner}/{name}: {source}")]
pub struct SignatureError {
    owner: String,
    name: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The compiled catalogue, shareable across analyses.
pub struct Engine {
    /// Per source kind (as index): the literals of the signatures that read that kind,
    /// leftmost-first, for the whole-buffer search (`None`: no signature reads it). A member is
    /// searched only for what can count in it: a container log for one literal, `messages` for 20,
    /// not all 40; fewer literals make fewer false candidates and let aho-corasick pick a cheaper
    /// searcher (slim Teddy at 32 bytes a step up to 32 literals, `memmem` for one). Only a leftmost
    /// automaton gets aho-corasick's packed SIMD prefilter (Teddy); a standard one would walk its
    /// automaton over every byte (that was ~350 MB/s, a quarter of ripgrep's speed).
    finders: Vec<Option<AhoCorasick>>,
    /// The same literals with standard semantics: every literal of one candidate line, overlapping.
    automaton: AhoCorasick,
    /// Per automaton pattern: the signatures using that literal.
    by_pattern: Vec<Vec<usize>>,
    sigs: Vec<CompiledSig>,
    /// Per source kind (as index): does any signature read it?
    scanned: Vec<bool>,
    rule_count: usize,
}

fn kind_index(k: SourceKind) -> usize {
    k as usize
}

const KIND_COUNT: usize = SourceKind::Other as usize + 1;

impl Engine {
    /// Compiles the facts' and the rules' signatures.
    pub fn new(rules: &[&dyn Rule]) -> Result<Engine, SignatureError> {
        let mut sigs = Vec::new();
        let owners = std::iter::once((Owner::Facts, crate::facts::SIGNATURES)).chain(
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| (Owner::Rule(i), r.signatures())),
        );
        for (owner, list) in owners {
            for sig in list {
                let compile = |p: Option<&'static str>| -> Result<Option<Regex>, SignatureError> {
                    p.map(Regex::new).transpose().map_err(|e| SignatureError {
                        owner: match owner {
                            Owner::Facts => "facts".to_string(),
                            Owner::Rule(i) => rules[i].meta().id.to_string(),
                        },
                        name: sig.name,
                        source: Box::new(e),
                    })
                };
                sigs.push(CompiledSig {
                    owner,
                    sig,
                    confirm: compile(sig.confirm)?,
                    reject: compile(sig.reject)?,
                    tally: compile(sig.tally)?,
                    backdate: compile(sig.backdate)?,
                    sources: sig.sources.to_vec(),
                });
            }
        }
        let mut literals: Vec<&str> = Vec::new();
        let mut by_pattern: Vec<Vec<usize>> = Vec::new();
        for (i, s) in sigs.iter().enumerate() {
            match literals.iter().position(|l| *l == s.sig.literal) {
                Some(p) => by_pattern[p].push(i),
                None => {
                    literals.push(s.sig.literal);
                    by_pattern.push(vec![i]);
                }
            }
        }
        let build = |kind: MatchKind, literals: &[&str], name: &'static str| {
            AhoCorasick::builder()
                .match_kind(kind)
                .build(literals)
                .map_err(|e| SignatureError {
                    owner: "engine".into(),
                    name,
                    source: Box::new(e),
                })
        };
        let automaton = build(MatchKind::Standard, &literals, "automaton")?;
        let mut finders = Vec::with_capacity(KIND_COUNT);
        for k in 0..KIND_COUNT {
            let reads = |si: &usize| sigs[*si].sources.iter().any(|s| kind_index(*s) == k);
            let wanted: Vec<&str> = literals
                .iter()
                .zip(&by_pattern)
                .filter(|(_, users)| users.iter().any(reads))
                .map(|(l, _)| *l)
                .collect();
            finders.push(if wanted.is_empty() {
                None
            } else {
                Some(build(MatchKind::LeftmostFirst, &wanted, "finder")?)
            });
        }
        let mut scanned = vec![false; KIND_COUNT];
        for s in &sigs {
            for k in &s.sources {
                scanned[kind_index(*k)] = true;
            }
        }
        scanned[kind_index(SourceKind::KubeletLog)] = true;
        Ok(Engine {
            finders,
            automaton,
            by_pattern,
            sigs,
            scanned,
            rule_count: rules.len(),
        })
    }
}

/// Scans one bundle with an [`Engine`]; a [`MemberSink`].
pub struct Scanner<'e> {
    engine: &'e Engine,
    states: Vec<SigState>,
    /// Parsed structured files and head lines.
    pub facts: Facts,
    /// Lines cut at the line limit.
    pub lines_cut: u64,
    max_line: usize,
    buf: Vec<u8>,
    hasher: std::collections::hash_map::RandomState,
    /// Pattern ids seen on the current line (reused).
    line_patterns: Vec<usize>,
}

/// Per-member scanning state.
struct MemberCtx<'p> {
    path: &'p str,
    kind: SourceKind,
    line_no: u64,
    /// Latest kubelet start in this member, for grace periods.
    kubelet_start: Option<Stamp>,
}

/// Occurrences of one analysis, split by owner.
pub struct Counted {
    /// Marker occurrences for facts.
    pub markers: BTreeMap<&'static str, Occurrences>,
    /// Per rule (in catalogue order): signature name → occurrences.
    pub rules: Vec<BTreeMap<&'static str, Occurrences>>,
}

impl<'e> Scanner<'e> {
    /// A scanner for one bundle; `max_line` is the line limit.
    pub fn new(engine: &'e Engine, max_line: usize) -> Self {
        Scanner {
            engine,
            states: engine.sigs.iter().map(|_| SigState::default()).collect(),
            facts: Facts::default(),
            lines_cut: 0,
            max_line: max_line.max(64),
            buf: Vec::new(),
            hasher: std::collections::hash_map::RandomState::new(),
            line_patterns: Vec::new(),
        }
    }

    /// Hands out the counts.
    pub fn finish(self) -> (Counted, Facts, u64) {
        let mut markers = BTreeMap::new();
        let mut rules: Vec<BTreeMap<&'static str, Occurrences>> =
            vec![BTreeMap::new(); self.engine.rule_count];
        for (state, cs) in self.states.into_iter().zip(&self.engine.sigs) {
            let occ = state.merged();
            match cs.owner {
                Owner::Facts => {
                    markers.insert(cs.sig.name, occ);
                }
                Owner::Rule(i) => {
                    rules[i].insert(cs.sig.name, occ);
                }
            }
        }
        (Counted { markers, rules }, self.facts, self.lines_cut)
    }

    /// Scans a member where the reader holds it: whole lines of each of the reader's buffers are
    /// searched in place; only a line that runs past the end of one buffer is copied, to be
    /// completed from the next. A line still unfinished after `max_line` bytes is cut there (its
    /// rest is dropped), so nothing is ever buffered whole.
    fn scan_log(&mut self, path: &str, kind: SourceKind, data: &mut dyn BufRead) -> SinkResult {
        let mut carry = std::mem::take(&mut self.buf);
        carry.clear();
        let max_line = self.max_line;
        let mut ctx = MemberCtx {
            path,
            kind,
            line_no: 0,
            kubelet_start: None,
        };
        let mut skipping = false; // dropping the rest of a line cut at the limit
        let result = loop {
            let chunk = match data.fill_buf() {
                Ok([]) => break Ok(()),
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            let n = chunk.len();
            let newline = memchr::memchr(b'\n', chunk);
            if skipping {
                skipping = newline.is_none();
                data.consume(newline.map_or(n, |i| i + 1));
                continue;
            }
            if !carry.is_empty() {
                // Complete the line begun in the previous buffer.
                let room = max_line - carry.len();
                match newline {
                    Some(i) if i <= room => {
                        carry.extend_from_slice(&chunk[..=i]);
                        self.scan_block(&mut ctx, &carry);
                        carry.clear();
                        data.consume(i + 1);
                    }
                    Some(i) => {
                        self.cut_line(&mut ctx, &mut carry, &chunk[..room]);
                        data.consume(i + 1);
                    }
                    None if n < room => {
                        carry.extend_from_slice(chunk);
                        data.consume(n);
                    }
                    None => {
                        self.cut_line(&mut ctx, &mut carry, &chunk[..room]);
                        skipping = true;
                        data.consume(n);
                    }
                }
                continue;
            }
            let rest = match newline.and_then(|_| memchr::memrchr(b'\n', chunk)) {
                Some(last) => {
                    self.scan_block(&mut ctx, &chunk[..=last]);
                    &chunk[last + 1..]
                }
                None => chunk,
            };
            if rest.len() >= max_line {
                self.cut_line(&mut ctx, &mut carry, &rest[..max_line]);
                skipping = true;
            } else {
                carry.extend_from_slice(rest);
            }
            data.consume(n);
        };
        // The unterminated last line, also when damage ended the member early.
        if !carry.is_empty() && !skipping {
            self.scan_block(&mut ctx, &carry);
        }
        carry.clear();
        self.buf = carry;
        result
    }

    /// Scans `head` + `tail` as one line cut at the line limit, and counts the cut.
    fn cut_line(&mut self, ctx: &mut MemberCtx<'_>, head: &mut Vec<u8>, tail: &[u8]) {
        self.lines_cut += 1;
        head.extend_from_slice(tail);
        head.push(b'\n');
        self.scan_block(ctx, head);
        head.clear();
    }

    /// Scans complete lines (a trailing newline is optional on the last one).
    fn scan_block(&mut self, ctx: &mut MemberCtx<'_>, block: &[u8]) {
        let mut counted_to = 0usize; // newlines before this offset are in ctx.line_no
        let mut next_line = 0usize; // lines before this offset are done
        if ctx.line_no < HEAD_LINES {
            // Without the final newline, so that no empty line is made up after it.
            let lines = block.strip_suffix(b"\n").unwrap_or(block);
            for line in lines
                .split(|&c| c == b'\n')
                .take((HEAD_LINES - ctx.line_no) as usize)
            {
                self.facts
                    .head_line(ctx.kind, ctx.path, ctx.line_no + 1, line);
            }
        }
        let mut line_no = ctx.line_no;
        let finder = self.engine.finders[kind_index(ctx.kind)].as_ref();
        // One candidate per line: after a hit the search resumes at the next line, so a line holding
        // several literals is widened and checked once (`on_line` finds all of them).
        while let Some(m) =
            finder.and_then(|f| f.find(aho_corasick::Input::new(block).range(next_line..)))
        {
            let start = memchr::memrchr(b'\n', &block[next_line..m.start()])
                .map_or(next_line, |i| next_line + i + 1);
            let end =
                memchr::memchr(b'\n', &block[m.start()..]).map_or(block.len(), |i| m.start() + i);
            line_no += memchr::memchr_iter(b'\n', &block[counted_to..start]).count() as u64;
            counted_to = start;
            let line = &block[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            ctx.line_no = line_no + 1;
            self.on_line(ctx, line, m.start() - start);
            next_line = end + 1;
            if next_line >= block.len() {
                break;
            }
        }
        let total = memchr::memchr_iter(b'\n', &block[counted_to..]).count() as u64;
        let unterminated = u64::from(!block.is_empty() && block.last() != Some(&b'\n'));
        ctx.line_no = line_no + total + unterminated;
    }

    /// Checks a candidate line against every signature whose literal it holds. `first` is where the
    /// leftmost literal of the member's kind starts: none of them starts before it (the buffer search
    /// would have stopped there), so the line's literals are looked for from there on; a literal of
    /// another kind found before it would be passed over anyway (its signatures do not read this
    /// member).
    fn on_line(&mut self, ctx: &mut MemberCtx<'_>, line: &[u8], first: usize) {
        let engine = self.engine;
        self.line_patterns.clear();
        for m in engine
            .automaton
            .find_overlapping_iter(&line[first.min(line.len())..])
        {
            let p = m.pattern().as_usize();
            if !self.line_patterns.contains(&p) {
                self.line_patterns.push(p);
            }
        }
        let mut stamp: Option<Option<Stamp>> = None;
        for pi in 0..self.line_patterns.len() {
            let p = self.line_patterns[pi];
            for &si in &engine.by_pattern[p] {
                let cs = &engine.sigs[si];
                if !cs.sources.contains(&ctx.kind) {
                    continue;
                }
                if cs.confirm.as_ref().is_some_and(|r| !r.is_match(line))
                    || cs.reject.as_ref().is_some_and(|r| r.is_match(line))
                {
                    continue;
                }
                let st = *stamp.get_or_insert_with(|| parse_line(line));
                self.record(si, ctx, line, st);
            }
        }
    }

    fn record(&mut self, si: usize, ctx: &mut MemberCtx<'_>, line: &[u8], stamp: Option<Stamp>) {
        let cs = &self.engine.sigs[si];
        let channel = Channel::of(ctx.kind, line);
        if cs.owner == Owner::Facts && cs.sig.name == KUBELET_START && channel == Channel::Kubelet {
            ctx.kubelet_start = stamp.or(ctx.kubelet_start);
        }
        let state = &mut self.states[si];
        let occ = match channel {
            Channel::Plain => &mut state.plain,
            Channel::Kernel(v) => &mut state.kernel[v],
            Channel::Kubelet => {
                if state.kubelet_seen.len() < MAX_DEDUP_KEYS
                    && !state
                        .kubelet_seen
                        .insert(self.hasher.hash_one(kubelet_key(line)))
                {
                    return;
                }
                &mut state.kubelet
            }
        };
        if let (Some(grace), Some(Stamp::NoYear(at)), Some(Stamp::NoYear(start))) =
            (cs.sig.grace_after_kubelet_start, stamp, ctx.kubelet_start)
        {
            let dt = i64::from(at.secs) - i64::from(start.secs);
            if at.month == start.month
                && at.day == start.day
                && (0..=i64::from(grace)).contains(&dt)
            {
                occ.in_grace += 1;
                return;
            }
        }
        let stamp = match (stamp, &cs.backdate) {
            (Some(st), Some(r)) => {
                let secs = r
                    .captures(line)
                    .and_then(|c| c.get(1))
                    .and_then(|m| std::str::from_utf8(m.as_bytes()).ok()?.parse().ok());
                Some(secs.map_or(st, |s| st.minus_secs(s)))
            }
            (st, _) => st,
        };
        let path = ctx.path;
        let line_no = ctx.line_no;
        occ.record(
            || Sample {
                file: path.to_string(),
                line: line_no,
                excerpt: excerpt(line),
                stamp,
            },
            stamp,
        );
        if let Some(r) = &cs.tally {
            if let Some(c) = r.captures(line).and_then(|c| c.get(1)) {
                occ.tally_value(&String::from_utf8_lossy(c.as_bytes()), 1);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Plain,
    Kubelet,
    Kernel(usize),
}

impl Channel {
    fn of(kind: SourceKind, line: &[u8]) -> Channel {
        match kind {
            SourceKind::KubeletLog => Channel::Kubelet,
            SourceKind::Messages => match syslog_tag(line) {
                Some(b"kubelet") => Channel::Kubelet,
                Some(b"kernel") => Channel::Kernel(2),
                _ => Channel::Plain,
            },
            k => k.kernel_view().map_or(Channel::Plain, Channel::Kernel),
        }
    }
}

/// The syslog tag of `Mon DD HH:MM:SS host tag[pid]: msg`.
fn syslog_tag(line: &[u8]) -> Option<&[u8]> {
    crate::stamp::parse_syslog(line)?;
    let rest = line.get(16..)?;
    let after_host = &rest[memchr::memchr(b' ', rest)? + 1..];
    let end = after_host
        .iter()
        .position(|&c| c == b'[' || c == b':' || c == b' ')?;
    Some(&after_host[..end])
}

/// The part of a kubelet line that is the same in the journal and in syslog: after `kubelet[pid]: `
/// or `kubelet: `.
fn kubelet_key(line: &[u8]) -> &[u8] {
    let key = match memchr::memmem::find(line, b"kubelet") {
        Some(i) => {
            let rest = &line[i + 7..];
            match memchr::memmem::find(rest, b": ") {
                Some(j) if j <= 12 => &rest[j + 2..],
                _ => line,
            }
        }
        None => line,
    };
    key.trim_ascii()
}

impl MemberSink for Scanner<'_> {
    fn member(&mut self, path: &str, data: &mut dyn BufRead) -> SinkResult {
        let kind = SourceKind::classify(strip_gz(path));
        self.facts.saw(kind, path);
        if kind.is_structured() {
            let mut reader: &mut dyn BufRead = &mut *data;
            self.facts
                .ingest_stream(kind, path, &mut reader, self.max_line)?;
            return drain(data).map(drop);
        }
        if self.engine.scanned[kind_index(kind)] {
            return self.scan_log(path, kind, data);
        }
        drain(data).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Severity;
    use crate::rule::RuleMeta;

    #[test]
    fn kubelet_key_matches_journal_and_syslog_forms() {
        let journal = b"May 20 12:33:17 ip-192-168-1-1.ec2.internal kubelet[5313]: E0520 12:33:17.590878    5313 x.go:1] boom";
        let syslog =
            b"May 20 12:33:17 ip-192-168-1-1 kubelet: E0520 12:33:17.590878    5313 x.go:1] boom";
        assert_eq!(kubelet_key(journal), kubelet_key(syslog));
    }

    /// A rule with one signature for containerd's log and one for `messages`, on literals no other
    /// signature uses.
    struct TwoKinds;

    static TWO_KINDS: RuleMeta = RuleMeta {
        id: "two-kinds",
        severity: Severity::Low,
        title: "test",
        why: "test",
        docs: &[],
    };

    static TWO_KINDS_SIGS: &[Signature] = &[
        Signature::new(
            "containerd",
            "zz-containerd-literal",
            &[SourceKind::ContainerdLog],
        ),
        Signature::new("messages", "zz-messages-literal", &[SourceKind::Messages]),
    ];

    impl Rule for TwoKinds {
        fn meta(&self) -> &'static RuleMeta {
            &TWO_KINDS
        }
        fn signatures(&self) -> &'static [Signature] {
            TWO_KINDS_SIGS
        }
        fn evaluate(&self, _: &crate::rule::EvalCtx<'_>) -> crate::rule::Verdict {
            crate::rule::Verdict::Clear
        }
    }

    fn two_kinds(path: &str, log: &[u8]) -> BTreeMap<&'static str, Occurrences> {
        let engine = Engine::new(&[&TwoKinds]).unwrap();
        let mut scanner = Scanner::new(&engine, 1 << 16);
        scanner.member(path, &mut &log[..]).unwrap();
        let (mut counted, ..) = scanner.finish();
        counted.rules.remove(0)
    }

    /// Each member is searched only for the literals of the signatures that read its kind: a
    /// literal of another kind earlier on the line must not hide this kind's literal, and alone it
    /// makes no hit; in a member of its own kind it is counted.
    #[test]
    fn another_kinds_literal_neither_hides_this_kinds_nor_counts() {
        let log = b"plain line\n\
            a zz-messages-literal b zz-containerd-literal c\n\
            zz-messages-literal alone\n";
        let in_containerd = two_kinds("containerd/containerd-log.txt", log);
        let hits = &in_containerd["containerd"];
        assert_eq!(hits.count, 1);
        assert_eq!(hits.first_samples.first().map(|s| s.line), Some(2));
        assert_eq!(in_containerd["messages"].count, 0);
        let in_messages = two_kinds("var_log/messages", log);
        assert_eq!(in_messages["messages"].count, 2);
        assert_eq!(in_messages["containerd"].count, 0);
    }

    #[test]
    fn syslog_tags() {
        assert_eq!(
            syslog_tag(b"Apr  8 07:44:28 ip-172-27-16-222 kubelet: E0408"),
            Some(&b"kubelet"[..])
        );
        assert_eq!(
            syslog_tag(b"Apr  8 07:44:28 ip-1 kernel: [1.0] x"),
            Some(&b"kernel"[..])
        );
        assert_eq!(
            syslog_tag(b"Apr  8 07:44:28 ip-1 containerd[99]: x"),
            Some(&b"containerd"[..])
        );
        assert_eq!(syslog_tag(b"not syslog"), None);
    }
}
