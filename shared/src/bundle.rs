//! Streaming reader for EKS Logs Collector bundles.
//!
//! Accepts the collector's `.tar.gz` (members `./kubelet/kubelet.log`, ...), the same archive re-packed
//! with one leading folder, a plain `.tar`, or the extracted folder. Nothing is extracted to disk: each
//! member is handed to a [`MemberSink`] as a `Read`, and memory stays bounded whatever the bundle size.
//!
//! For gzip input the outer stream is inflated on a second thread, so inflating and scanning overlap
//! on two cores; chunks are recycled, so at most [`PIPE_CHUNKS`] × [`PIPE_CHUNK_BYTES`] are in flight.
//!
//! Damage (a truncated or corrupt archive) is not an error: everything before it is analysed and the
//! [`ReadSummary`] records where reading stopped. Links, devices and unsafe paths are skipped and counted.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

/// Default cap on uncompressed member bytes read from one bundle (16 GiB).
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 16 << 30;
/// Default cap on the uncompressed bytes read from one member (4 GiB); the rest of it is skipped.
pub const DEFAULT_MAX_MEMBER_BYTES: u64 = 4 << 30;
/// Default cap on one line (64 KiB); longer lines are cut, never buffered whole.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 10;
/// Default cap on members read (100,000; the collector writes a few hundred).
pub const DEFAULT_MAX_MEMBERS: u64 = 100_000;
/// Bytes per chunk passed from the inflating thread.
pub const PIPE_CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between the inflating thread and the scanner.
pub const PIPE_CHUNKS: usize = 4;

/// The reader's resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Total uncompressed member bytes read before stopping.
    pub max_total_bytes: u64,
    /// Uncompressed bytes read from one member before skipping its rest.
    pub max_member_bytes: u64,
    /// Longest line kept; the rest of a longer line is dropped.
    pub max_line_bytes: usize,
    /// Members read before stopping.
    pub max_members: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_member_bytes: DEFAULT_MAX_MEMBER_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_members: DEFAULT_MAX_MEMBERS,
        }
    }
}

/// Why the input could not be read at all (as opposed to damage part-way, which is reported).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The path does not exist or cannot be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// The input could not be read from the start.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The input's name.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is neither gzip nor tar.
    #[error("{path} is not a log bundle (expected a .tar.gz, a .tar or a folder)")]
    NotABundle {
        /// The path given.
        path: String,
    },
    /// The archive held no member the collector writes.
    #[error("{path} holds no EKS Logs Collector files (read {members} members, none known)")]
    NoKnownMembers {
        /// The path given.
        path: String,
        /// Members seen.
        members: u64,
    },
}

/// What a sink says after reading a member.
pub type SinkResult = io::Result<()>;

/// Receives the members of a bundle, one at a time, in archive order.
pub trait MemberSink {
    /// Reads one regular-file member. `path` is relative to the bundle root (leading `./` and any
    /// leading folder removed; a trailing `.gz` kept, the data already inflated). An error returned
    /// from `data` means the member (or the archive) is damaged; return it unchanged.
    fn member(&mut self, path: &str, data: &mut dyn Read) -> SinkResult;
}

/// Counts of members passed over, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Symbolic links (never followed).
    pub symlinks: u64,
    /// Hard links.
    pub hard_links: u64,
    /// Character and block devices, FIFOs and other special files.
    pub special: u64,
    /// Absolute paths or paths with `..`.
    pub unsafe_paths: u64,
    /// Members past the member-count limit.
    pub over_member_limit: u64,
}

impl Skipped {
    /// All skipped members.
    pub fn total(&self) -> u64 {
        self.symlinks + self.hard_links + self.special + self.unsafe_paths + self.over_member_limit
    }
}

/// Where reading stopped early or a member was damaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// The member being read, if any.
    pub member: Option<String>,
    /// Uncompressed bundle bytes read before the damage.
    pub after_bytes: u64,
    /// What went wrong.
    pub reason: String,
    /// Whether reading stopped here (false: one member was damaged, the rest was read).
    pub stopped: bool,
}

/// What the reader saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadSummary {
    /// Regular-file members read.
    pub members_read: u64,
    /// Uncompressed member bytes read.
    pub bytes_read: u64,
    /// Size of the input file (compressed), when it is a file.
    pub input_bytes: Option<u64>,
    /// Members skipped, by reason.
    pub skipped: Skipped,
    /// Members cut at the per-member limit.
    pub members_truncated: Vec<String>,
    /// Damage met, in order.
    pub damage: Vec<Damage>,
}

/// Reads a bundle from `path` (an archive or an extracted folder), handing each member to `sink`.
///
/// `progress`, when given, is advanced with the compressed bytes read (for a progress bar).
pub fn read_bundle(
    path: &Path,
    limits: &Limits,
    sink: &mut dyn MemberSink,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ReadSummary, BundleError> {
    let shown = path.display().to_string();
    let open_err = |source| BundleError::Open {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    if meta.is_dir() {
        let mut walker = Walker {
            limits,
            summary: ReadSummary::default(),
            sink,
            known: 0,
        };
        walker.walk_dir(path, path);
        return walker.finish(&shown);
    }
    let file = File::open(path).map_err(open_err)?;
    let mut summary = read_stream(file, &shown, limits, sink, progress)?;
    summary.input_bytes = Some(meta.len());
    Ok(summary)
}

/// Reads a bundle archive (gzip or plain tar, sniffed from its first bytes) from a stream, such as an
/// S3 object body. `name` is used in errors. Nothing is buffered beyond the pipe's chunks.
pub fn read_stream<R: Read + Send + 'static>(
    input: R,
    name: &str,
    limits: &Limits,
    sink: &mut dyn MemberSink,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ReadSummary, BundleError> {
    let mut counted = Counted {
        inner: input,
        progress,
    };
    let mut magic = [0u8; 512];
    let n = read_full(&mut counted, &mut magic).map_err(|source| BundleError::Read {
        path: name.to_string(),
        source,
    })?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(counted);
    let mut walker = Walker {
        limits,
        summary: ReadSummary::default(),
        sink,
        known: 0,
    };
    if n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
        let outer_failed = Arc::new(AtomicBool::new(false));
        let pipe = spawn_inflater(head, outer_failed.clone());
        walker.walk_tar(pipe, &outer_failed);
    } else if n >= 262 && &magic[257..262] == b"ustar" {
        walker.walk_tar(
            BufReader::with_capacity(256 << 10, head),
            &AtomicBool::new(false),
        );
    } else {
        return Err(BundleError::NotABundle {
            path: name.to_string(),
        });
    }
    walker.finish(name)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Top-level folders the collector writes; used to spot (and strip) one extra leading folder.
const KNOWN_ROOTS: &[&str] = &[
    "system",
    "kernel",
    "storage",
    "networking",
    "containerd",
    "docker",
    "kubelet",
    "nodeadm",
    "ipamd",
    "cni",
    "sysctls",
    "var_log",
    "modinfo",
    "cmdline",
    "gpu",
];

/// Normalises a member path: rejects absolute and `..` paths, drops `./` and one leading folder.
pub fn normalize_member_path(raw: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.len() >= 3
        && !KNOWN_ROOTS.contains(&parts[0].as_str())
        && KNOWN_ROOTS.contains(&parts[1].as_str())
    {
        parts.remove(0);
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

struct Walker<'a> {
    limits: &'a Limits,
    summary: ReadSummary,
    sink: &'a mut dyn MemberSink,
    /// Members whose path the collector writes; zero means "not a bundle".
    known: u64,
}

impl Walker<'_> {
    /// A bundle with no member the collector writes is not a bundle, unless damage explains it.
    fn finish(self, name: &str) -> Result<ReadSummary, BundleError> {
        if self.known == 0 && self.summary.damage.is_empty() {
            return Err(BundleError::NoKnownMembers {
                path: name.to_string(),
                members: self.summary.members_read,
            });
        }
        Ok(self.summary)
    }

    /// False when reading must stop (a limit).
    fn admit(&mut self) -> bool {
        if self.summary.members_read >= self.limits.max_members {
            self.summary.skipped.over_member_limit += 1;
            if self.summary.skipped.over_member_limit == 1 {
                self.stop(
                    None,
                    format!("member limit of {} reached", self.limits.max_members),
                );
            }
            return false;
        }
        if self.summary.bytes_read >= self.limits.max_total_bytes {
            self.stop(
                None,
                format!(
                    "total byte limit of {} reached",
                    self.limits.max_total_bytes
                ),
            );
            return false;
        }
        true
    }

    fn stop(&mut self, member: Option<String>, reason: String) {
        self.summary.damage.push(Damage {
            member,
            after_bytes: self.summary.bytes_read,
            reason,
            stopped: true,
        });
    }

    /// Reads one member through the sink. Returns the error when it came from the outer stream.
    fn read_member(
        &mut self,
        path: String,
        data: &mut dyn Read,
        outer_failed: &AtomicBool,
    ) -> Option<io::Error> {
        self.summary.members_read += 1;
        if crate::source::SourceKind::classify(strip_gz(&path)) != crate::source::SourceKind::Other
        {
            self.known += 1;
        }
        let budget = self.limits.max_member_bytes.min(
            self.limits
                .max_total_bytes
                .saturating_sub(self.summary.bytes_read),
        );
        // Rotated logs are gzip inside the archive; sniff the magic so a mislabelled `.gz` is read as text.
        let mut peek = BufReader::with_capacity(64 << 10, data);
        let gzipped =
            path.ends_with(".gz") && peek.fill_buf().is_ok_and(|h| h.starts_with(&[0x1f, 0x8b]));
        let result = if gzipped {
            let mut inflated = Limited::new(flate2::bufread::MultiGzDecoder::new(peek), budget);
            let r = self.sink.member(&path, &mut inflated);
            self.account(&path, &inflated);
            r
        } else {
            let mut limited = Limited::new(peek, budget);
            let r = self.sink.member(&path, &mut limited);
            self.account(&path, &limited);
            r
        };
        match result {
            Ok(()) => None,
            Err(e) if outer_failed.load(Ordering::Relaxed) => {
                self.stop(Some(path), describe_io(&e));
                Some(e)
            }
            Err(e) => {
                self.summary.damage.push(Damage {
                    member: Some(path),
                    after_bytes: self.summary.bytes_read,
                    reason: describe_io(&e),
                    stopped: false,
                });
                None
            }
        }
    }

    fn account<R>(&mut self, path: &str, limited: &Limited<R>) {
        self.summary.bytes_read += limited.read;
        if limited.hit_limit {
            self.summary.members_truncated.push(path.to_string());
            if self.summary.bytes_read >= self.limits.max_total_bytes {
                self.stop(
                    Some(path.to_string()),
                    format!(
                        "total byte limit of {} reached",
                        self.limits.max_total_bytes
                    ),
                );
            }
        }
    }

    fn walk_tar<R: Read>(&mut self, input: R, outer_failed: &AtomicBool) {
        let mut archive = tar::Archive::new(input);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.stop(None, describe_io(&e)),
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => return self.stop(None, describe_io(&e)),
            };
            let kind = entry.header().entry_type();
            if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
                continue;
            }
            if kind.is_symlink() {
                self.summary.skipped.symlinks += 1;
                continue;
            }
            if kind.is_hard_link() {
                self.summary.skipped.hard_links += 1;
                continue;
            }
            if !(kind.is_file() || kind.is_contiguous()) {
                self.summary.skipped.special += 1;
                continue;
            }
            let Some(path) = entry.path().ok().and_then(|p| normalize_member_path(&p)) else {
                self.summary.skipped.unsafe_paths += 1;
                continue;
            };
            if !self.admit() {
                if self.summary.bytes_read >= self.limits.max_total_bytes {
                    return;
                }
                continue;
            }
            if self.read_member(path, &mut entry, outer_failed).is_some() {
                return;
            }
            if self.summary.damage.last().is_some_and(|d| d.stopped) {
                return;
            }
        }
    }

    fn walk_dir(&mut self, root: &Path, dir: &Path) {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(Result::ok).collect(),
            Err(e) => {
                let member = dir.strip_prefix(root).ok().map(|p| p.display().to_string());
                self.summary.damage.push(Damage {
                    member,
                    after_bytes: self.summary.bytes_read,
                    reason: describe_io(&e),
                    stopped: false,
                });
                return;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let full = entry.path();
            // symlink_metadata: never follow a link out of the bundle.
            let Ok(meta) = std::fs::symlink_metadata(&full) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                self.summary.skipped.symlinks += 1;
            } else if ft.is_dir() {
                self.walk_dir(root, &full);
                if self.summary.damage.last().is_some_and(|d| d.stopped) {
                    return;
                }
            } else if !ft.is_file() {
                self.summary.skipped.special += 1;
            } else {
                let Some(path) = full.strip_prefix(root).ok().and_then(normalize_member_path)
                else {
                    self.summary.skipped.unsafe_paths += 1;
                    continue;
                };
                if !self.admit() {
                    return;
                }
                match File::open(&full) {
                    Ok(f) => {
                        let mut r = BufReader::with_capacity(256 << 10, f);
                        self.read_member(path, &mut r, &AtomicBool::new(false));
                    }
                    Err(e) => self.summary.damage.push(Damage {
                        member: Some(path),
                        after_bytes: self.summary.bytes_read,
                        reason: describe_io(&e),
                        stopped: false,
                    }),
                }
            }
        }
    }
}

/// The path a rotated `.gz` member stands for (`ipamd-x.log.gz` → `ipamd-x.log`).
pub fn strip_gz(path: &str) -> &str {
    path.strip_suffix(".gz").unwrap_or(path)
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => format!("archive ends early (truncated): {e}"),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => format!("corrupt data: {e}"),
        _ => e.to_string(),
    }
}

/// Stops after `budget` bytes; the caller learns whether the limit cut the member.
struct Limited<R> {
    inner: R,
    budget: u64,
    read: u64,
    hit_limit: bool,
}

impl<R> Limited<R> {
    fn new(inner: R, budget: u64) -> Self {
        Limited {
            inner,
            budget,
            read: 0,
            hit_limit: false,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget - self.read;
        if left == 0 {
            // Peek one byte so a member of exactly `budget` bytes is not reported as cut.
            let mut probe = [0u8; 1];
            if !self.hit_limit && self.inner.read(&mut probe)? > 0 {
                self.hit_limit = true;
            }
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Counts compressed bytes for the progress bar.
struct Counted<R> {
    inner: R,
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

type Chunk = io::Result<Vec<u8>>;

/// Inflates `input` on its own thread; the returned reader yields the inflated bytes in order.
fn spawn_inflater<R: Read + Send + 'static>(input: R, failed: Arc<AtomicBool>) -> PipeReader {
    let (tx, rx) = sync_channel::<Chunk>(PIPE_CHUNKS);
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(PIPE_CHUNKS + 2);
    std::thread::spawn(move || inflate_loop(input, &tx, &recycle_rx, &failed));
    PipeReader {
        rx,
        recycle: recycle_tx,
        current: Vec::new(),
        pos: 0,
        done: false,
    }
}

fn inflate_loop(
    input: impl Read,
    tx: &SyncSender<Chunk>,
    recycle: &Receiver<Vec<u8>>,
    failed: &AtomicBool,
) {
    let mut gz = MultiGzDecoder::new(BufReader::with_capacity(256 << 10, input));
    loop {
        let mut buf = recycle
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(PIPE_CHUNK_BYTES));
        buf.resize(PIPE_CHUNK_BYTES, 0);
        let mut filled = 0;
        let mut error = None;
        while filled < buf.len() {
            match gz.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        buf.truncate(filled);
        let eof = filled == 0 && error.is_none();
        if filled > 0 && tx.send(Ok(buf)).is_err() {
            return;
        }
        if let Some(e) = error {
            failed.store(true, Ordering::Relaxed);
            let _ = tx.send(Err(e));
            return;
        }
        if eof {
            return;
        }
    }
}

/// The reading end of the inflating thread.
struct PipeReader {
    rx: Receiver<Chunk>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let old = std::mem::replace(&mut self.current, chunk);
                    let _ = self.recycle.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_dot_and_one_leading_folder() {
        let n = |p: &str| normalize_member_path(Path::new(p));
        assert_eq!(
            n("./kubelet/kubelet.log").as_deref(),
            Some("kubelet/kubelet.log")
        );
        assert_eq!(
            n("eks_i-0abc_2026-10-19_0812-UTC_0.7.9/kubelet/kubelet.log").as_deref(),
            Some("kubelet/kubelet.log")
        );
        assert_eq!(
            n("./eks_i-0abc/var_log/aws-routed-eni/ipamd.log").as_deref(),
            Some("var_log/aws-routed-eni/ipamd.log")
        );
        assert_eq!(n("../etc/passwd"), None);
        assert_eq!(n("/etc/passwd"), None);
        assert_eq!(n("kubelet/../../x"), None);
        assert_eq!(n("./"), None);
    }

    #[test]
    fn limited_reports_cut_only_when_more_data_follows() {
        let mut exact = Limited::new(&b"abcd"[..], 4);
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert!(!exact.hit_limit);
        let mut longer = Limited::new(&b"abcdef"[..], 4);
        out.clear();
        longer.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        assert!(longer.hit_limit);
    }
}
