//! Streaming reader for EKS Logs Collector bundles.
//!
//! Accepts the collector's `.tar.gz` (members `./kubelet/kubelet.log`, ...), the same archive re-packed
//! with one leading folder, a plain `.tar`, or the extracted folder. Nothing is extracted to disk: each
//! member is handed to a [`MemberSink`] as a `Read`, and memory stays bounded whatever the bundle size.
//!
//! For gzip input the outer stream is inflated on a second thread, so inflating and scanning overlap
//! on two cores; chunks are recycled, so at most [`PIPE_CHUNKS`] × [`PIPE_CHUNK_BYTES`] are in flight.
//! The files of an extracted folder are read on the scanning thread, into a buffer of
//! [`FOLDER_BUFFER_BYTES`]: reading them ahead on a second thread cost more CPU (the kernel's copy
//! into buffers another core had just read, a wake-up per chunk) than it saved in wall time.
//!
//! Damage (a truncated or corrupt archive) is not an error: everything before it is analysed and the
//! [`ReadSummary`] records where reading stopped. Links, devices and unsafe paths are skipped and counted.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

/// Default cap on the bytes inflated from one bundle (16 GiB): every byte the archive inflates to counts,
/// whether kept, skipped (links, unsafe paths, members past a limit, the rest of a cut member) or
/// tar framing, and so do the bytes of rotated `.gz` members inflated inside it.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 16 << 30;
/// Default cap on the uncompressed bytes read from one member (4 GiB); the rest of it is skipped.
pub const DEFAULT_MAX_MEMBER_BYTES: u64 = 4 << 30;
/// Default cap on one line (64 KiB); longer lines are cut, never buffered whole.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 10;
/// Default cap on members read (100,000; the collector writes a few hundred).
pub const DEFAULT_MAX_MEMBERS: u64 = 100_000;
/// Default cap on inflated bytes per compressed byte read (200). Log bundles inflate 5–30×; gzip's
/// own ceiling is about 1032×, which only a crafted bomb reaches.
pub const DEFAULT_MAX_RATIO: u64 = 200;
/// Inflated bytes always allowed before the ratio guard applies (64 MiB), so a small bundle of very
/// repetitive logs is never stopped by it.
pub const RATIO_GRACE_BYTES: u64 = 64 << 20;
/// Longest GNU long-name/long-link or PAX extension header read (64 KiB). A larger one is skipped
/// (its bytes counted against the total) together with the member it describes, and counted in
/// [`Skipped::oversized_headers`]: the `tar` crate would buffer it whole.
pub const MAX_HEADER_EXTENSION_BYTES: u64 = 64 << 10;
/// Bytes per chunk passed from the inflating thread.
pub const PIPE_CHUNK_BYTES: usize = 1 << 20;
/// Chunks in flight between the inflating thread and the scanner.
pub const PIPE_CHUNKS: usize = 4;
/// Buffer a rotated `.gz` member is inflated into (256 KiB), and read from in place.
pub const INFLATE_BUFFER_BYTES: usize = 256 << 10;
/// Read buffer for a file of an extracted folder (256 KiB), searched in place. 64 KiB (ripgrep's
/// size) to 1 MiB measured the same on a 1 GiB folder: the kernel's copy out of the page cache
/// costs the same per byte, and the buffer stays in a 2 MiB L2 either way.
pub const FOLDER_BUFFER_BYTES: usize = 256 << 10;

fn default_max_ratio() -> u64 {
    DEFAULT_MAX_RATIO
}

/// The reader's resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Total bytes inflated (kept or skipped) before stopping.
    pub max_total_bytes: u64,
    /// Uncompressed bytes read from one member before skipping its rest.
    pub max_member_bytes: u64,
    /// Longest line kept; the rest of a longer line is dropped.
    pub max_line_bytes: usize,
    /// Members read before stopping.
    pub max_members: u64,
    /// Inflated bytes per compressed byte before stopping (after [`RATIO_GRACE_BYTES`]); 0 turns the
    /// guard off.
    #[serde(default = "default_max_ratio")]
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_member_bytes: DEFAULT_MAX_MEMBER_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_members: DEFAULT_MAX_MEMBERS,
            max_ratio: DEFAULT_MAX_RATIO,
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
    /// leading folder removed; a trailing `.gz` kept, the data already inflated). `data` hands out
    /// the reader's own buffers (the inflating thread's chunks, a file's read buffer): a sink that
    /// reads with `fill_buf`/`consume` sees the bytes where they were produced, without a copy. An
    /// error returned from `data` means the member (or the archive) is damaged; return it unchanged.
    fn member(&mut self, path: &str, data: &mut dyn BufRead) -> SinkResult;
}

/// Counts of members passed over, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Symbolic links (never followed).
    pub symlinks: u64,
    /// Hard links.
    pub hard_links: u64,
    /// Character and block devices, FIFOs, sparse files and other special files.
    pub special: u64,
    /// Absolute paths or paths with `..`.
    pub unsafe_paths: u64,
    /// Members past the member-count limit.
    pub over_member_limit: u64,
    /// Members whose GNU long name or PAX header exceeded [`MAX_HEADER_EXTENSION_BYTES`].
    #[serde(default)]
    pub oversized_headers: u64,
}

impl Skipped {
    /// All skipped members.
    pub fn total(&self) -> u64 {
        self.symlinks
            + self.hard_links
            + self.special
            + self.unsafe_paths
            + self.over_member_limit
            + self.oversized_headers
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

/// A reader limit that ends reading early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopLimit {
    /// `--max-total-bytes`.
    TotalBytes,
    /// `--max-ratio`.
    Ratio,
    /// `--max-members`.
    Members,
}

impl StopLimit {
    /// The command-line flag (and report value) naming the limit.
    pub fn flag(self) -> &'static str {
        match self {
            StopLimit::TotalBytes => "max-total-bytes",
            StopLimit::Ratio => "max-ratio",
            StopLimit::Members => "max-members",
        }
    }

    fn reason(self, limits: &Limits) -> String {
        match self {
            StopLimit::TotalBytes => format!(
                "total byte limit of {} reached (--max-total-bytes; every inflated byte counts)",
                limits.max_total_bytes
            ),
            StopLimit::Ratio => format!(
                "compression ratio limit of {}:1 reached (--max-ratio; a likely gzip bomb)",
                limits.max_ratio
            ),
            StopLimit::Members => format!(
                "member limit of {} reached (--max-members)",
                limits.max_members
            ),
        }
    }
}

/// What the reader saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadSummary {
    /// Regular-file members read.
    pub members_read: u64,
    /// Uncompressed member bytes read (kept and scanned).
    pub bytes_read: u64,
    /// Every byte inflated: archive framing, skipped members and the rest of cut members included;
    /// this is what `max_total_bytes` bounds.
    pub inflated_bytes: u64,
    /// Size of the input file (compressed), when it is a file.
    pub input_bytes: Option<u64>,
    /// Members skipped, by reason.
    pub skipped: Skipped,
    /// Members cut at the per-member limit.
    pub members_truncated: Vec<String>,
    /// Damage met, in order.
    pub damage: Vec<Damage>,
    /// The limit that stopped reading (`max-total-bytes`, `max-ratio`, `max-members`), if one did.
    pub stopped_by: Option<String>,
}

/// Reads a bundle from `path` (an archive or an extracted folder), handing each member to `sink`.
///
/// `progress`, when given, is advanced with the compressed bytes read (for a progress bar). Anything
/// that is neither a regular file nor a folder (a FIFO, a device) is refused before it is opened, so
/// reading never blocks on it.
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
        let meter = Meter::new(limits, None);
        let mut walker = Walker::new(limits, sink, &meter);
        walker.walk_dir(path, path);
        return walker.finish(&shown);
    }
    if !meta.is_file() {
        return Err(BundleError::NotABundle { path: shown });
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
    let compressed = Arc::new(AtomicU64::new(0));
    let mut counted = Counted {
        inner: input,
        progress,
        compressed: compressed.clone(),
    };
    let mut magic = [0u8; 512];
    let n = read_full(&mut counted, &mut magic).map_err(|source| BundleError::Read {
        path: name.to_string(),
        source,
    })?;
    let head = io::Cursor::new(magic[..n].to_vec()).chain(counted);
    let meter = Meter::new(limits, Some(compressed));
    let mut walker = Walker::new(limits, sink, &meter);
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

/// Counts every inflated byte of one bundle and refuses to hand out more than the limits allow.
///
/// Every reader that produces inflated bytes (the tar stream, a rotated `.gz` member's decoder, a
/// folder's files) reads through [`Metered`], so the total can never pass `max_total_bytes`, and the
/// ratio guard sees the true inflation.
struct Meter {
    max_total: u64,
    max_ratio: u64,
    compressed: Option<Arc<AtomicU64>>,
    inflated: Cell<u64>,
    tripped: Cell<Option<StopLimit>>,
}

impl Meter {
    fn new(limits: &Limits, compressed: Option<Arc<AtomicU64>>) -> Self {
        Meter {
            max_total: limits.max_total_bytes,
            max_ratio: limits.max_ratio,
            compressed,
            inflated: Cell::new(0),
            tripped: Cell::new(None),
        }
    }

    /// Bytes that may still be inflated, or the limit that forbids any more.
    fn allowance(&self) -> Result<u64, StopLimit> {
        if let Some(limit) = self.tripped.get() {
            return Err(limit);
        }
        let used = self.inflated.get();
        let mut left = self.max_total.saturating_sub(used);
        let mut limit = StopLimit::TotalBytes;
        if let Some(c) = self.compressed.as_ref().filter(|_| self.max_ratio > 0) {
            let allowed = c
                .load(Ordering::Relaxed)
                .saturating_mul(self.max_ratio)
                .max(RATIO_GRACE_BYTES);
            let ratio_left = allowed.saturating_sub(used);
            if ratio_left < left {
                left = ratio_left;
                limit = StopLimit::Ratio;
            }
        }
        if left == 0 {
            self.tripped.set(Some(limit));
            return Err(limit);
        }
        Ok(left)
    }

    fn add(&self, n: usize) {
        self.inflated
            .set(self.inflated.get().saturating_add(n as u64));
    }
}

/// The error a [`Metered`] reader returns once a limit is reached; the walker reads the reason from
/// the [`Meter`].
fn limit_error(limit: StopLimit) -> io::Error {
    io::Error::other(format!("reader limit reached: {}", limit.flag()))
}

/// Counts what `inner` yields against the [`Meter`], and stops at its allowance. Read as a
/// `BufRead`, bytes count when consumed.
struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: BufRead> BufRead for Metered<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let left = self.meter.allowance().map_err(limit_error)?;
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(usize::try_from(left).unwrap_or(usize::MAX))])
    }

    fn consume(&mut self, n: usize) {
        self.meter.add(n);
        self.inner.consume(n);
    }
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.meter.allowance().map_err(limit_error)?;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.meter.add(n);
        Ok(n)
    }
}

/// Framing state carried from extension headers (GNU `L`/`K`, PAX `x`) to the member they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
    pax_size: Option<u64>,
    pax_sparse: bool,
    /// An extension was too large to read: skip the member it belongs to.
    oversized: bool,
}

/// How reading one tar entry ended.
enum Step {
    Next,
    End,
}

struct Walker<'a> {
    limits: &'a Limits,
    summary: ReadSummary,
    sink: &'a mut dyn MemberSink,
    meter: &'a Meter,
    /// Members whose path the collector writes; zero means "not a bundle".
    known: u64,
    /// The first tar header was not a tar header (a gzip of something else).
    not_tar: bool,
    /// The member being read, for damage met while skipping its rest.
    current: Option<String>,
}

impl<'a> Walker<'a> {
    fn new(limits: &'a Limits, sink: &'a mut dyn MemberSink, meter: &'a Meter) -> Self {
        Walker {
            limits,
            summary: ReadSummary::default(),
            sink,
            meter,
            known: 0,
            not_tar: false,
            current: None,
        }
    }

    /// A bundle with no member the collector writes is not a bundle, unless damage explains it.
    fn finish(mut self, name: &str) -> Result<ReadSummary, BundleError> {
        if self.not_tar {
            return Err(BundleError::NotABundle {
                path: name.to_string(),
            });
        }
        self.summary.inflated_bytes = self.meter.inflated.get();
        if self.known == 0 && self.summary.damage.is_empty() {
            return Err(BundleError::NoKnownMembers {
                path: name.to_string(),
                members: self.summary.members_read,
            });
        }
        Ok(self.summary)
    }

    /// False when the member must not be read (a limit).
    fn admit(&mut self) -> bool {
        if self.summary.members_read >= self.limits.max_members {
            self.summary.skipped.over_member_limit += 1;
            if self.summary.skipped.over_member_limit == 1 {
                self.stop_at(None, StopLimit::Members);
            }
            return false;
        }
        true
    }

    fn stopped(&self) -> bool {
        self.summary.damage.last().is_some_and(|d| d.stopped)
    }

    fn stop(&mut self, member: Option<String>, reason: String) {
        self.summary.damage.push(Damage {
            member,
            after_bytes: self.summary.bytes_read,
            reason,
            stopped: true,
        });
    }

    fn stop_at(&mut self, member: Option<String>, limit: StopLimit) {
        self.summary.stopped_by = Some(limit.flag().to_string());
        self.stop(member, limit.reason(self.limits));
    }

    /// Stops for a read error: a tripped limit when the meter says so, else damage.
    fn stop_for(&mut self, member: Option<String>, e: &io::Error) {
        match self.meter.tripped.get() {
            Some(limit) => self.stop_at(member, limit),
            None => self.stop(member, describe_io(e)),
        }
    }

    /// Reads one member through the sink. True when reading must stop (a limit or the outer stream).
    fn read_member(
        &mut self,
        path: String,
        data: &mut dyn BufRead,
        outer_failed: &AtomicBool,
    ) -> bool {
        self.summary.members_read += 1;
        self.current = Some(path.clone());
        if crate::source::SourceKind::classify(strip_gz(&path)) != crate::source::SourceKind::Other
        {
            self.known += 1;
        }
        let budget = self.limits.max_member_bytes;
        // Rotated logs are gzip inside the archive; sniff the magic so a mislabelled `.gz` is read as text.
        let gzipped =
            path.ends_with(".gz") && data.fill_buf().is_ok_and(|h| h.starts_with(&[0x1f, 0x8b]));
        let result = if gzipped {
            let inflate = Metered {
                inner: flate2::bufread::MultiGzDecoder::new(data),
                meter: self.meter,
            };
            // The limit sits below the buffer, so nothing past it is inflated (or counted).
            let mut inflated =
                BufReader::with_capacity(INFLATE_BUFFER_BYTES, Limited::new(inflate, budget));
            let r = self.sink.member(&path, &mut inflated);
            self.account(&path, inflated.get_ref());
            r
        } else {
            let mut limited = Limited::new(data, budget);
            let r = self.sink.member(&path, &mut limited);
            self.account(&path, &limited);
            r
        };
        match result {
            Ok(()) => false,
            Err(e)
                if self.meter.tripped.get().is_some() || outer_failed.load(Ordering::Relaxed) =>
            {
                self.stop_for(Some(path), &e);
                true
            }
            Err(e) => {
                self.summary.damage.push(Damage {
                    member: Some(path),
                    after_bytes: self.summary.bytes_read,
                    reason: describe_io(&e),
                    stopped: false,
                });
                false
            }
        }
    }

    fn account<R>(&mut self, path: &str, limited: &Limited<R>) {
        self.summary.bytes_read += limited.read;
        if limited.hit_limit || self.meter.tripped.get().is_some() {
            self.summary.members_truncated.push(path.to_string());
        }
    }

    /// Walks a tar stream header by header. Extension headers (GNU long names, PAX) are read here,
    /// bounded, instead of by the `tar` crate, which would buffer them whole; `tar` only parses the
    /// 512-byte header blocks.
    fn walk_tar<R: BufRead>(&mut self, input: R, outer_failed: &AtomicBool) {
        let mut input = Metered {
            inner: input,
            meter: self.meter,
        };
        let mut pending = Pending::default();
        let mut first = true;
        loop {
            match self.tar_entry(&mut input, &mut pending, first, outer_failed) {
                Ok(Step::Next) => {}
                Ok(Step::End) => return,
                Err(e) => {
                    let member = self.current.take();
                    return self.stop_for(member, &e);
                }
            }
            first = false;
        }
    }

    fn tar_entry<R: BufRead>(
        &mut self,
        input: &mut R,
        pending: &mut Pending,
        first: bool,
        outer_failed: &AtomicBool,
    ) -> io::Result<Step> {
        let mut block = [0u8; 512];
        let got = read_full(input, &mut block)?;
        if got == 0 && !first {
            return Ok(Step::End);
        }
        if got < block.len() {
            if first {
                self.not_tar = true;
                return Ok(Step::End);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "tar header cut short",
            ));
        }
        if block.iter().all(|&b| b == 0) {
            return Ok(Step::End);
        }
        let header = tar::Header::from_byte_slice(&block);
        if !checksum_ok(&block, header) {
            if first {
                self.not_tar = true;
                return Ok(Step::End);
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "tar header checksum mismatch",
            ));
        }
        let kind = header.entry_type();
        let extension =
            kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions();
        // A PAX `size` describes the member that follows, never another extension header.
        let size = match pending.pax_size.filter(|_| !extension) {
            Some(s) => s,
            None => header.entry_size()?,
        };
        let padding = (512 - size % 512) % 512;
        let mut body = (&mut *input).take(size);
        if extension {
            match read_extension(&mut body, size)? {
                None => {
                    // Counted once, here; the member it belongs to is skipped silently below.
                    if !pending.oversized {
                        self.summary.skipped.oversized_headers += 1;
                    }
                    pending.oversized = true;
                }
                Some(data) if kind.is_gnu_longname() => {
                    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                    pending.long_name = Some(data[..end].to_vec());
                }
                Some(data) if kind.is_pax_local_extensions() => pending.absorb_pax(&data),
                Some(_) => {} // a long link name: links are never followed
            }
            skip_exact(input, padding)?;
            return Ok(Step::Next);
        }
        let taken = std::mem::take(pending);
        if self.tar_member(&mut body, header, kind, taken, outer_failed) {
            return Ok(Step::End);
        }
        // The rest of a member the sink did not read (cut, skipped) is inflated and counted too.
        let rest = body.limit();
        skip_exact(&mut body, rest)?;
        skip_exact(input, padding)?;
        self.current = None;
        Ok(Step::Next)
    }

    /// One non-extension entry; true when reading must stop.
    fn tar_member(
        &mut self,
        body: &mut dyn BufRead,
        header: &tar::Header,
        kind: tar::EntryType,
        pending: Pending,
        outer_failed: &AtomicBool,
    ) -> bool {
        if pending.oversized || kind.is_dir() || kind.is_pax_global_extensions() {
            return false;
        }
        if kind.is_symlink() {
            self.summary.skipped.symlinks += 1;
            return false;
        }
        if kind.is_hard_link() {
            self.summary.skipped.hard_links += 1;
            return false;
        }
        if !(kind.is_file() || kind.is_contiguous()) || pending.pax_sparse {
            self.summary.skipped.special += 1;
            return false;
        }
        let raw = pending
            .long_name
            .or(pending.pax_path)
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let Some(path) = normalize_member_path(Path::new(&raw)) else {
            self.summary.skipped.unsafe_paths += 1;
            return false;
        };
        if !self.admit() {
            return false;
        }
        self.read_member(path, body, outer_failed)
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
                if self.stopped() {
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
                        // No larger than the file (most of a bundle's files are a few bytes), nor
                        // so small that a file whose size is misreported is read byte by byte.
                        let capacity = usize::try_from(meta.len())
                            .unwrap_or(usize::MAX)
                            .clamp(8 << 10, FOLDER_BUFFER_BYTES);
                        let mut r = Metered {
                            inner: BufReader::with_capacity(capacity, f),
                            meter: self.meter,
                        };
                        if self.read_member(path, &mut r, &AtomicBool::new(false)) {
                            return;
                        }
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

impl Pending {
    fn absorb_pax(&mut self, data: &[u8]) {
        for ext in tar::PaxExtensions::new(data).flatten() {
            match ext.key() {
                Ok("path") => self.pax_path = Some(ext.value_bytes().to_vec()),
                Ok("size") => {
                    self.pax_size = ext.value().ok().and_then(|v| v.trim().parse().ok());
                }
                Ok(k) if k.starts_with("GNU.sparse.") => self.pax_sparse = true,
                _ => {}
            }
        }
    }
}

/// The header's stored checksum matches its bytes (the checksum field counted as spaces).
fn checksum_ok(block: &[u8; 512], header: &tar::Header) -> bool {
    let Ok(stored) = header.cksum() else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

/// An extension header's data, or `None` when it is too large to keep (then it is skipped, counted).
fn read_extension(body: &mut impl Read, size: u64) -> io::Result<Option<Vec<u8>>> {
    if size > MAX_HEADER_EXTENSION_BYTES {
        skip_exact(body, size)?;
        return Ok(None);
    }
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    body.take(size).read_to_end(&mut data)?;
    if (data.len() as u64) < size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "tar extension header cut short",
        ));
    }
    Ok(Some(data))
}

/// Reads and drops exactly `n` bytes; an early end is a truncated archive.
fn skip_exact(r: &mut (impl Read + ?Sized), n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), &mut io::sink())?;
    if copied < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "archive ends inside a member",
        ));
    }
    Ok(())
}

/// Reads `data` to its end without looking at it, where the reader holds it (no copy); returns the
/// bytes read. A sink must consume what it does not read: the tar stream goes on after it.
pub fn drain(data: &mut dyn BufRead) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match data.fill_buf() {
            Ok([]) => return Ok(total),
            Ok(chunk) => {
                let n = chunk.len();
                total += n as u64;
                data.consume(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
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

impl<R: BufRead> BufRead for Limited<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let left = self.budget - self.read;
        if left == 0 {
            // As in `read`: more data behind the limit means the member was cut.
            if !self.hit_limit && !self.inner.fill_buf()?.is_empty() {
                self.hit_limit = true;
            }
            return Ok(&[]);
        }
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(usize::try_from(left).unwrap_or(usize::MAX))])
    }

    fn consume(&mut self, n: usize) {
        self.read += n as u64;
        self.inner.consume(n);
    }
}

/// Counts compressed bytes, for the ratio guard and the progress bar.
struct Counted<R> {
    inner: R,
    progress: Option<Arc<AtomicU64>>,
    compressed: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.compressed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Chunk = io::Result<Vec<u8>>;

/// Inflates `input` on its own thread; the returned reader yields the inflated bytes in order.
fn spawn_inflater<R: Read + Send + 'static>(input: R, failed: Arc<AtomicBool>) -> PipeReader {
    spawn_pipe(
        MultiGzDecoder::new(BufReader::with_capacity(256 << 10, input)),
        PIPE_CHUNK_BYTES,
        failed,
    )
}

/// Reads `source` ahead on its own thread, so producing the bytes (inflating) overlaps with
/// scanning them; the returned reader yields them in order.
fn spawn_pipe<R: Read + Send + 'static>(
    source: R,
    chunk_bytes: usize,
    failed: Arc<AtomicBool>,
) -> PipeReader {
    let (tx, rx) = sync_channel::<Chunk>(PIPE_CHUNKS);
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(PIPE_CHUNKS + 2);
    std::thread::spawn(move || pump(source, chunk_bytes, &tx, &recycle_rx, &failed));
    PipeReader {
        rx,
        recycle: recycle_tx,
        current: Vec::new(),
        pos: 0,
        done: false,
    }
}

fn pump(
    mut source: impl Read,
    chunk_bytes: usize,
    tx: &SyncSender<Chunk>,
    recycle: &Receiver<Vec<u8>>,
    failed: &AtomicBool,
) {
    loop {
        let mut buf = recycle
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(chunk_bytes));
        buf.resize(chunk_bytes, 0);
        let mut filled = 0;
        let mut error = None;
        while filled < buf.len() {
            match source.read(&mut buf[filled..]) {
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

/// The reading end of a [`spawn_pipe`] thread.
struct PipeReader {
    rx: Receiver<Chunk>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.fill_buf()?;
        let n = buf.len().min(chunk.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PipeReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(&[]);
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
                    return Ok(&[]);
                }
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.current.len());
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

    /// Collects every member's bytes as a scanner reads them, from the reader's own buffers.
    #[derive(Default)]
    struct Collect {
        members: Vec<(String, Vec<u8>, usize)>,
    }

    impl MemberSink for Collect {
        fn member(&mut self, path: &str, data: &mut dyn BufRead) -> SinkResult {
            let (mut bytes, mut largest) = (Vec::new(), 0);
            loop {
                let chunk = data.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                largest = largest.max(chunk.len());
                bytes.extend_from_slice(chunk);
                let n = chunk.len();
                data.consume(n);
            }
            self.members.push((path.to_string(), bytes, largest));
            Ok(())
        }
    }

    /// A folder's files are read on the scanning thread into buffers of at most
    /// [`FOLDER_BUFFER_BYTES`] (no larger than the file): a file larger than the buffer, one of an
    /// odd size and an empty one are handed out whole and in order.
    #[test]
    fn folder_files_of_any_size_are_handed_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var_log")).unwrap();
        std::fs::create_dir_all(dir.path().join("kubelet")).unwrap();
        let big: Vec<u8> = (0..FOLDER_BUFFER_BYTES * 2 + 12_345)
            .map(|i| {
                if i % 97 == 96 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        std::fs::write(dir.path().join("var_log/messages"), &big).unwrap();
        std::fs::write(dir.path().join("kubelet/kubelet.log"), b"one line\n").unwrap();
        std::fs::write(dir.path().join("kubelet/empty.txt"), b"").unwrap();
        let mut sink = Collect::default();
        let summary = read_bundle(dir.path(), &Limits::default(), &mut sink, None).unwrap();
        let got: Vec<_> = sink
            .members
            .iter()
            .map(|(p, b, _)| (p.as_str(), b.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("kubelet/empty.txt", 0),
                ("kubelet/kubelet.log", 9),
                ("var_log/messages", big.len())
            ]
        );
        let (_, bytes, largest) = &sink.members[2];
        assert!(bytes == &big, "the large file's bytes changed");
        assert_eq!(*largest, FOLDER_BUFFER_BYTES);
        assert_eq!(sink.members[1].2, 9);
        assert_eq!(summary.bytes_read, big.len() as u64 + 9);
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
