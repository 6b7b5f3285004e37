//! Facts about the node: parsed from the collector's small structured files and from a few marker
//! log lines (versions, starts, instance type). Rules read these; they never parse files themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::occurrences::Occurrences;
use crate::report::Evidence;
use crate::signature::{Signature, CNI, KERNEL, KUBELET, USER_DATA};
use crate::source::SourceKind;
use crate::stamp::{parse_syslog, Clock, Stamp};

/// Marker lines the scanner counts on behalf of [`Facts`].
pub const SIGNATURES: &[Signature] = &[
    Signature::new(KUBELET_START, "\"Kubelet version\"", KUBELET)
        .tally(r#"kubeletVersion="(v[0-9][^"]*)""#),
    Signature::new(IPAMD_START, "Starting L-IPAMD", CNI)
        .tally(r"Starting L-IPAMD\s+(v[0-9][\w.\-]*)"),
    Signature::new(APISERVER_OK, "Cluster Version is:", CNI)
        .tally(r"Cluster Version is: (v[0-9]+\.[0-9]+)"),
    Signature::new("custom-networking", "Custom networking enabled", CNI)
        .tally(r"Custom networking enabled:? (true|false)"),
    Signature::new("type-ipamd", "instance-type:", CNI)
        .tally(r"instance-type: ?([a-z0-9-]+\.[a-z0-9-]+)"),
    Signature::new(
        "type-nodeadm",
        "Instance details populated",
        &[SourceKind::NodeadmLog],
    )
    .tally(r#""type": ?"([a-z0-9-]+\.[a-z0-9-]+)""#),
    Signature::new("type-kernel", "Amazon EC2 ", KERNEL)
        .tally(r"Amazon EC2 ([a-z0-9-]+\.[a-z0-9-]+)/"),
    Signature::new(
        "kube-proxy-version",
        "\"Version info\"",
        &[SourceKind::ContainerLog],
    )
    .tally(r#"version="(v[0-9][^"]*)""#),
    Signature::new("bootstrap-max-pods", "--max-pods=", USER_DATA).tally(r"--max-pods=([0-9]+)"),
    Signature::new(
        BOOT,
        "Linux version",
        &[
            SourceKind::DmesgHuman,
            SourceKind::Messages,
            SourceKind::Dmesg,
        ],
    ),
];

/// Kubelet start marker (`"Kubelet version"` is logged once per start).
pub const KUBELET_START: &str = "kubelet-start";
/// ipamd start marker.
pub const IPAMD_START: &str = "ipamd-start";
/// ipamd reached the API server.
pub const APISERVER_OK: &str = "apiserver-ok";
/// Kernel boot banner.
pub const BOOT: &str = "boot";

/// Bytes kept of one JSON document (`ipamd-env-settings.json`, the CNI container dump), which must
/// be parsed whole; a larger one is reported cut in [`Facts::cut`] and no rule concludes from it.
/// Line-oriented structured files are parsed streaming, line by line, and are never cut here.
pub const MAX_STRUCTURED_BYTES: usize = 8 << 20;
/// Distinct values kept per collected fact (max-pods settings, hostname overrides); the rest are
/// counted in [`Facts::values_dropped`].
pub const MAX_DISTINCT_VALUES: usize = 16;
/// Longest value kept from a structured file (a DNS name is at most 253 characters).
pub const MAX_VALUE_CHARS: usize = 253;
/// VPC CNI environment entries kept.
pub const MAX_ENV_ENTRIES: usize = 512;
/// Distinct (API, error) pairs kept from the CNI metrics; the rest are summed under `other`.
pub const MAX_API_ERROR_KEYS: usize = 64;
/// Rows of `io_throttling.txt` kept (the largest delays).
pub const MAX_IO_ROWS: usize = 64;

/// A configured max-pods value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxPods {
    /// The value.
    pub value: u32,
    /// `flag` (command line, wins), `config` (kubelet config file) or `bootstrap` (user data argument).
    pub origin: &'static str,
    /// Where it was read.
    pub evidence: Evidence,
}

/// One row of `io_throttling.txt`.
#[derive(Debug, Clone, PartialEq)]
pub struct IoRow {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub comm: String,
    /// Block-IO delay in centiseconds.
    pub ticks: u64,
    /// Where.
    pub evidence: Evidence,
}

/// What `iptables-save.txt` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Iptables {
    /// `AWS-SNAT-CHAIN-0` present.
    pub aws_snat: bool,
    /// `AWS-CONNMARK-CHAIN-0` present.
    pub aws_connmark: bool,
    /// `KUBE-SERVICES` present.
    pub kube_services: bool,
    /// Rules (`-A` lines).
    pub rules: u64,
    /// The file.
    pub file: String,
}

/// What `services.txt` says about runtimes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Services {
    /// `docker.service` line, when active and running.
    pub docker_running: Option<Evidence>,
    /// `containerd.service` active and running.
    pub containerd_running: bool,
}

/// What the pipeline knows about the node's cluster from the EKS API (the CLI has none).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ClusterContext {
    /// Kubernetes version, `1.30`.
    pub version: Option<String>,
    /// API server endpoint.
    pub endpoint: Option<String>,
    /// Private endpoint access enabled.
    pub private_access: Option<bool>,
    /// Installed VPC CNI managed add-on version (`v1.18.3-eksbuild.1`).
    pub vpc_cni_addon_version: Option<String>,
    /// Default add-on version for the cluster's Kubernetes version.
    pub vpc_cni_default_version: Option<String>,
    /// The add-on's `configurationValues`.
    pub vpc_cni_configuration: Option<String>,
    /// The VPC CNI is self-managed (no managed add-on).
    pub self_managed_cni: bool,
}

/// Everything known about the node.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Instance id.
    pub instance_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// Instance type and its source.
    pub instance_type: Option<(String, &'static str)>,
    /// Kubelet version.
    pub kubelet_version: Option<String>,
    /// Cluster version (from ipamd).
    pub cluster_version: Option<String>,
    /// VPC CNI version.
    pub cni_version: Option<String>,
    /// kube-proxy version.
    pub kube_proxy_version: Option<String>,
    /// `al2` / `al2023`.
    pub os: Option<&'static str>,
    /// VPC CNI environment (ipamd settings and container env).
    pub cni_env: BTreeMap<String, String>,
    /// Where the CNI env was read.
    pub cni_env_file: Option<String>,
    /// Custom networking as ipamd logged it.
    pub custom_networking_log: Option<bool>,
    /// Max-pods settings seen, in no order.
    pub max_pods: Vec<MaxPods>,
    /// `--hostname-override` values seen.
    pub hostname_overrides: Vec<(String, Evidence)>,
    /// Host column of the kubelet journal's first lines.
    pub journal_host: Option<(String, Evidence)>,
    /// `iptables-save.txt`, when present.
    pub iptables: Option<Iptables>,
    /// `io_throttling.txt` rows.
    pub io_rows: Vec<IoRow>,
    /// Whether `io_throttling.txt` was present.
    pub io_throttling_present: bool,
    /// Services.
    pub services: Option<Services>,
    /// `awscni_aws_api_error_count` by (api, error).
    pub cni_api_errors: BTreeMap<(String, String), u64>,
    /// `awscni_ipamd_error_count` by (fn, error); `error` is empty where ipamd (v1.5+) exports only `fn`.
    pub cni_ipamd_errors: BTreeMap<(String, String), u64>,
    /// Where the metrics were read.
    pub cni_metrics_file: Option<String>,
    /// Marker occurrences (kubelet start, ipamd start, ...), by signature name.
    pub markers: BTreeMap<&'static str, Occurrences>,
    /// Source kinds present in the bundle.
    pub kinds_seen: BTreeSet<SourceKind>,
    /// (ENIs, IPv4 per ENI) from EC2, when the pipeline looked them up.
    pub type_limits: Option<(u32, u32)>,
    /// The cluster from the EKS API, in the pipeline.
    pub cluster: Option<ClusterContext>,
    /// Damage the reader met (truncation, corruption, limits).
    pub damage: Vec<crate::bundle::Damage>,
    /// The reader limit that stopped reading (`max-total-bytes`, `max-ratio`, `max-members`).
    pub stopped_by: Option<String>,
    /// Structured members read only in part: (path, why). Rules never conclude from them.
    pub cut: Vec<(String, String)>,
    /// Values not kept because a collection was full ([`MAX_DISTINCT_VALUES`] and the like).
    pub values_dropped: u64,
}

/// Cuts `s` to at most `max` characters.
fn clamp(mut s: String, max: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
    s
}

/// Calls `f` with each line of `data` (1-based number, `\r\n` handled), keeping at most `max_line`
/// bytes of a line and dropping the rest of it: memory stays one buffer whatever the file size.
pub fn for_each_line(
    data: &mut dyn Read,
    max_line: usize,
    mut f: impl FnMut(u64, &[u8]),
) -> io::Result<()> {
    let mut r = BufReader::with_capacity(64 << 10, data);
    let mut line = Vec::new();
    let mut no = 0u64;
    let mut open = false; // bytes of an unfinished line were seen
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if open {
                    f(no + 1, line.strip_suffix(b"\r").unwrap_or(&line));
                }
                return Err(e);
            }
        };
        if buf.is_empty() {
            if open {
                f(no + 1, line.strip_suffix(b"\r").unwrap_or(&line));
            }
            return Ok(());
        }
        let (part, used, ends) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = max_line.saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        open = true;
        r.consume(used);
        if ends {
            no += 1;
            f(no, line.strip_suffix(b"\r").unwrap_or(&line));
            line.clear();
            open = false;
        }
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| {
        Regex::new(pattern).unwrap_or_else(|e| panic!("built-in regex {pattern}: {e}"))
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ev(file: &str, line: Option<u64>, excerpt: &[u8]) -> Evidence {
    Evidence {
        file: file.to_string(),
        line,
        excerpt: crate::report::excerpt(excerpt),
        timestamp: None,
    }
}

impl Facts {
    /// Parses one structured member held in memory (tests, small inputs).
    pub fn ingest(&mut self, kind: SourceKind, path: &str, data: &[u8]) {
        // Reading a slice cannot fail.
        let _ = self.ingest_stream(
            kind,
            path,
            &mut &data[..],
            crate::bundle::DEFAULT_MAX_LINE_BYTES,
        );
    }

    /// Parses one structured member from a stream. Line-oriented files are parsed line by line
    /// (lines cut at `max_line`), so nothing is ever cut silently; JSON documents are read up to
    /// [`MAX_STRUCTURED_BYTES`] and, when longer, recorded in [`Facts::cut`] instead of parsed.
    pub fn ingest_stream(
        &mut self,
        kind: SourceKind,
        path: &str,
        data: &mut dyn Read,
        max_line: usize,
    ) -> io::Result<()> {
        match kind {
            SourceKind::IpamdEnv | SourceKind::CniEnvDump => {
                let mut bytes = Vec::new();
                data.take(MAX_STRUCTURED_BYTES as u64 + 1)
                    .read_to_end(&mut bytes)?;
                if bytes.len() > MAX_STRUCTURED_BYTES {
                    self.cut.push((
                        path.to_string(),
                        format!("larger than the {MAX_STRUCTURED_BYTES}-byte limit for JSON files"),
                    ));
                    return Ok(());
                }
                if kind == SourceKind::IpamdEnv {
                    self.parse_ipamd_env(path, &bytes);
                } else {
                    self.parse_cni_env_dump(path, &bytes);
                }
                return Ok(());
            }
            SourceKind::InstanceId => self.instance_id = None,
            SourceKind::Region => self.region = None,
            SourceKind::AvailabilityZone => self.availability_zone = None,
            SourceKind::IoThrottling => self.io_throttling_present = true,
            SourceKind::IptablesSave => {
                self.iptables = Some(Iptables {
                    file: path.to_string(),
                    ..Iptables::default()
                });
            }
            SourceKind::CniMetrics => self.cni_metrics_file = Some(path.to_string()),
            SourceKind::Services => self.services = Some(Services::default()),
            _ => {}
        }
        let result = for_each_line(data, max_line, |no, line| self.line(kind, path, no, line));
        if kind == SourceKind::IoThrottling {
            self.keep_top_io_rows();
        }
        result
    }

    /// One line of a line-oriented structured member.
    fn line(&mut self, kind: SourceKind, path: &str, no: u64, line: &[u8]) {
        let word = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = first_word(line);
            }
        };
        match kind {
            SourceKind::InstanceId => word(&mut self.instance_id),
            SourceKind::Region => word(&mut self.region),
            SourceKind::AvailabilityZone => word(&mut self.availability_zone),
            SourceKind::IoThrottling => self.io_throttling_line(path, no, line),
            SourceKind::IptablesSave => {
                if let Some(t) = self.iptables.as_mut() {
                    iptables_line(t, line);
                }
            }
            SourceKind::KubeletConfig => self.kubelet_config_line(path, no, line),
            SourceKind::KubeletService | SourceKind::Ps => self.command_line(path, no, line),
            SourceKind::CniMetrics => self.metrics_line(line),
            SourceKind::Services => self.services_line(path, no, line),
            SourceKind::ContainerdImages => {
                static R: OnceLock<Regex> = OnceLock::new();
                if let Some(c) = re(&R, r"amazon-k8s-cni:(v[0-9][\w.]*)").captures(line) {
                    self.cni_version
                        .get_or_insert_with(|| clamp(text(&c[1]), MAX_VALUE_CHARS));
                }
            }
            _ => {}
        }
    }

    fn push_max_pods(&mut self, m: MaxPods) {
        if self
            .max_pods
            .iter()
            .any(|k| k.value == m.value && k.origin == m.origin)
        {
            return;
        }
        if self.max_pods.len() >= MAX_DISTINCT_VALUES {
            self.values_dropped += 1;
            return;
        }
        self.max_pods.push(m);
    }

    /// Sees the first lines of a log member (only the kubelet journal's host column is used).
    pub fn head_line(&mut self, kind: SourceKind, path: &str, line_no: u64, line: &[u8]) {
        if kind != SourceKind::KubeletLog
            || self.journal_host.is_some()
            || parse_syslog(line).is_none()
        {
            return;
        }
        if let Some(host) = line.get(16..).and_then(|r| r.split(|&c| c == b' ').next()) {
            if !host.is_empty() {
                self.journal_host = Some((text(host), ev(path, Some(line_no), line)));
            }
        }
    }

    /// Notes that a member of `kind` exists.
    pub fn saw(&mut self, kind: SourceKind, path: &str) {
        self.kinds_seen.insert(kind);
        if kind == SourceKind::NodeadmLog || path.starts_with("kubelet/config.json") {
            self.os = Some("al2023");
        } else if path == "kubelet/kubelet-config.json" && self.os.is_none() {
            self.os = Some("al2");
        }
    }

    /// Whether a member of `kind` was in the bundle.
    pub fn has(&self, kind: SourceKind) -> bool {
        self.kinds_seen.contains(&kind)
    }

    /// Takes the marker occurrences and derives versions and the instance type from them.
    pub fn absorb_markers(
        &mut self,
        markers: BTreeMap<&'static str, Occurrences>,
        type_override: Option<&str>,
    ) {
        let last = |name: &str| markers.get(name).and_then(|o| o.last_value.clone());
        if let Some(v) = last(KUBELET_START) {
            self.kubelet_version = Some(v);
        }
        if let Some(v) = last(APISERVER_OK) {
            self.cluster_version = Some(v);
        }
        if let Some(v) = last(IPAMD_START) {
            self.cni_version = Some(v);
        }
        if let Some(v) = last("kube-proxy-version") {
            self.kube_proxy_version = Some(v);
        }
        if let Some(v) = last("custom-networking") {
            self.custom_networking_log = Some(v == "true");
        }
        if let Some(o) = markers.get("bootstrap-max-pods") {
            if let (Some(v), Some(s)) = (o.last_value.as_deref(), o.first_samples.first()) {
                if let Ok(value) = v.parse() {
                    let evidence = Evidence {
                        file: s.file.clone(),
                        line: Some(s.line),
                        excerpt: s.excerpt.clone(),
                        timestamp: None,
                    };
                    self.max_pods.push(MaxPods {
                        value,
                        origin: "bootstrap",
                        evidence,
                    });
                }
            }
        }
        self.instance_type = type_override.map(|t| (t.to_string(), "flag")).or_else(|| {
            [
                ("type-nodeadm", "nodeadm"),
                ("type-ipamd", "ipamd"),
                ("type-kernel", "kernel"),
            ]
            .into_iter()
            .find_map(|(sig, src)| last(sig).map(|t| (t, src)))
        });
        self.markers = markers;
    }

    /// The marker occurrences of `name`.
    pub fn marker(&self, name: &str) -> Option<&Occurrences> {
        self.markers.get(name).filter(|o| !o.is_empty())
    }

    /// The latest boot the bundle shows.
    pub fn boot_time(&self, clock: &Clock) -> Option<chrono::DateTime<chrono::Utc>> {
        let boot = self.markers.get(BOOT)?;
        // dmesg offsets are relative to boot and cannot place it; use stamped banners only.
        boot.first_samples
            .iter()
            .chain(boot.last_sample.iter())
            .filter_map(|s| s.stamp.filter(|st| !matches!(st, Stamp::SinceBoot(_))))
            .filter_map(|st| clock.resolve(st))
            .max()
    }

    /// The value of a VPC CNI setting (ipamd env or container env).
    pub fn cni_setting(&self, name: &str) -> Option<&str> {
        self.cni_env.get(name).map(String::as_str)
    }

    /// Whether a boolean VPC CNI setting is on.
    pub fn cni_flag(&self, name: &str) -> bool {
        self.cni_setting(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Keeps the [`MAX_IO_ROWS`] largest delays.
    fn keep_top_io_rows(&mut self) {
        self.io_rows.sort_by_key(|r| std::cmp::Reverse(r.ticks));
        self.io_rows.truncate(MAX_IO_ROWS);
    }

    fn io_throttling_line(&mut self, path: &str, no: u64, line: &[u8]) {
        {
            // `<pid> (<comm>) <ticks>`; comm may hold spaces and parentheses, so split at the last ')'.
            let (Some(open), Some(close)) = (
                line.iter().position(|&c| c == b'('),
                line.iter().rposition(|&c| c == b')'),
            ) else {
                return;
            };
            if close <= open {
                return;
            }
            let pid = std::str::from_utf8(&line[..open])
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let ticks = std::str::from_utf8(&line[close + 1..])
                .ok()
                .and_then(|s| s.trim().parse().ok());
            if let (Some(pid), Some(ticks)) = (pid, ticks) {
                let comm = clamp(text(&line[open + 1..close]), MAX_VALUE_CHARS);
                self.io_rows.push(IoRow {
                    pid,
                    comm,
                    ticks,
                    evidence: ev(path, Some(no), line),
                });
                // Trim now and then so a huge file never holds more than twice the rows kept.
                if self.io_rows.len() >= 2 * MAX_IO_ROWS {
                    self.keep_top_io_rows();
                }
            }
        }
    }

    fn kubelet_config_line(&mut self, path: &str, no: u64, line: &[u8]) {
        static R: OnceLock<Regex> = OnceLock::new();
        let r = re(&R, r#""maxPods"\s*:\s*([0-9]+)"#);
        if let Some(c) = r.captures(line) {
            if let Some(value) = std::str::from_utf8(&c[1]).ok().and_then(|s| s.parse().ok()) {
                self.push_max_pods(MaxPods {
                    value,
                    origin: "config",
                    evidence: ev(path, Some(no), line),
                });
            }
        }
    }

    fn command_line(&mut self, path: &str, no: u64, line: &[u8]) {
        static MAX: OnceLock<Regex> = OnceLock::new();
        static HOST: OnceLock<Regex> = OnceLock::new();
        let max = re(&MAX, r"--max-pods[= ]([0-9]+)");
        let host = re(&HOST, r"--hostname-override[= ]([^\s'\x22]+)");
        // The kubelet's flag dump (`FLAG: --max-pods="110"`) prints defaults; it is not a setting.
        if memchr::memmem::find(line, b"FLAG:").is_some() {
            return;
        }
        if let Some(c) = max.captures(line) {
            if let Some(value) = std::str::from_utf8(&c[1]).ok().and_then(|s| s.parse().ok()) {
                self.push_max_pods(MaxPods {
                    value,
                    origin: "flag",
                    evidence: ev(path, Some(no), line),
                });
            }
        }
        if let Some(c) = host.captures(line) {
            let value = clamp(text(&c[1]), MAX_VALUE_CHARS);
            // Shell variables (`$HOSTNAME`) in unit files are resolved at run time: not a name.
            if value.starts_with('$') || self.hostname_overrides.iter().any(|(v, _)| *v == value) {
                return;
            }
            if self.hostname_overrides.len() >= MAX_DISTINCT_VALUES {
                self.values_dropped += 1;
                return;
            }
            self.hostname_overrides
                .push((value, ev(path, Some(no), line)));
        }
    }

    fn parse_ipamd_env(&mut self, path: &str, data: &[u8]) {
        if let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(data)
        {
            for (k, v) in map {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                self.set_env(k, v, true);
            }
            self.cni_env_file = Some(path.to_string());
        }
    }

    fn parse_cni_env_dump(&mut self, path: &str, data: &[u8]) {
        // `ctr container info` objects back to back, not an array.
        for value in serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>() {
            let Ok(value) = value else { break };
            if let Some(image) = value.get("Image").and_then(|i| i.as_str()) {
                if let Some(tag) = image.rsplit_once(':').map(|(_, t)| t) {
                    if tag.starts_with('v') {
                        self.cni_version.get_or_insert_with(|| {
                            clamp(
                                tag.split('-').next().unwrap_or(tag).to_string(),
                                MAX_VALUE_CHARS,
                            )
                        });
                    }
                }
            }
            let env = value
                .pointer("/Spec/process/env")
                .and_then(|e| e.as_array());
            for kv in env.into_iter().flatten().filter_map(|e| e.as_str()) {
                if let Some((k, v)) = kv.split_once('=') {
                    self.set_env(k.to_string(), v.to_string(), false);
                }
            }
            self.cni_env_file.get_or_insert_with(|| path.to_string());
        }
    }

    /// Sets a VPC CNI variable (`replace`: ipamd's settings win over the container env). At most
    /// [`MAX_ENV_ENTRIES`] names are kept, names cut to [`MAX_VALUE_CHARS`], values to four times that.
    fn set_env(&mut self, k: String, v: String, replace: bool) {
        let exists = self.cni_env.contains_key(&k);
        if !exists && self.cni_env.len() >= MAX_ENV_ENTRIES {
            self.values_dropped += 1;
            return;
        }
        if exists && !replace {
            return;
        }
        self.cni_env
            .insert(clamp(k, MAX_VALUE_CHARS), clamp(v, 4 * MAX_VALUE_CHARS));
    }

    fn metrics_line(&mut self, line: &[u8]) {
        static ERR: OnceLock<Regex> = OnceLock::new();
        static BUILD: OnceLock<Regex> = OnceLock::new();
        let err = re(
            &ERR,
            r#"^awscni_aws_api_error_count\{(?:[^}]*?\b)?api="([^"]+)",error="([^"]+)"[^}]*\}\s+([0-9.e+]+)"#,
        );
        let build = re(&BUILD, r#"^awscni_build_info\{[^}]*version="(v[^"]+)""#);
        if let Some((labels, n)) = ipamd_error_sample(line) {
            let label = |name: &str| {
                clamp(
                    labels.get(name).cloned().unwrap_or_default(),
                    MAX_VALUE_CHARS,
                )
            };
            let mut key = (label("fn"), label("error"));
            if !self.cni_ipamd_errors.contains_key(&key)
                && self.cni_ipamd_errors.len() >= MAX_API_ERROR_KEYS
            {
                key = ("other".to_string(), "other".to_string());
            }
            let total = self.cni_ipamd_errors.entry(key).or_default();
            *total = total.saturating_add(n);
        } else if let Some(c) = err.captures(line) {
            let n = std::str::from_utf8(&c[3])
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
            let mut key = (
                clamp(text(&c[1]), MAX_VALUE_CHARS),
                clamp(text(&c[2]), MAX_VALUE_CHARS),
            );
            if !self.cni_api_errors.contains_key(&key)
                && self.cni_api_errors.len() >= MAX_API_ERROR_KEYS
            {
                key = ("other".to_string(), "other".to_string());
            }
            let total = self.cni_api_errors.entry(key).or_default();
            // `as` saturates (NaN → 0); the sum saturates too.
            *total = total.saturating_add(n as u64);
        } else if let Some(c) = build.captures(line) {
            self.cni_version
                .get_or_insert_with(|| clamp(text(&c[1]), MAX_VALUE_CHARS));
        }
    }

    fn services_line(&mut self, path: &str, no: u64, line: &[u8]) {
        let Some(s) = self.services.as_mut() else {
            return;
        };
        {
            let words: Vec<&[u8]> = line
                .split(|&c| c == b' ')
                .filter(|w| !w.is_empty())
                .collect();
            let running = words.len() >= 4
                && words[1] == b"loaded"
                && words[2] == b"active"
                && words[3] == b"running";
            match words.first().copied() {
                Some(b"docker.service") if running => {
                    s.docker_running = Some(ev(path, Some(no), line))
                }
                Some(b"containerd.service") if running => s.containerd_running = true,
                _ => {}
            }
        }
    }
}

/// One `iptables-save` line: notes the chains the agents own and counts rules.
fn iptables_line(t: &mut Iptables, line: &[u8]) {
    let chain = line
        .strip_prefix(b":")
        .or_else(|| line.strip_prefix(b"-N "));
    if let Some(c) = chain {
        let name = c.split(|&b| b == b' ').next().unwrap_or_default();
        match name {
            b"AWS-SNAT-CHAIN-0" => t.aws_snat = true,
            b"AWS-CONNMARK-CHAIN-0" => t.aws_connmark = true,
            b"KUBE-SERVICES" => t.kube_services = true,
            _ => {}
        }
    } else if line.starts_with(b"-A ") {
        t.rules += 1;
    }
}

/// One `awscni_ipamd_error_count{...} N` sample: its labels (any order; values unescaped) and value.
/// VPC CNI v1.0–v1.4 label it `fn` and `error` (the error text), later releases `fn` only.
fn ipamd_error_sample(line: &[u8]) -> Option<(BTreeMap<String, String>, u64)> {
    let text = String::from_utf8_lossy(line.strip_prefix(b"awscni_ipamd_error_count{")?);
    let mut labels = BTreeMap::new();
    let mut rest = text.as_ref();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            let value: f64 = after.split_whitespace().next()?.parse().ok()?;
            return Some((labels, value as u64));
        }
        let (name, quoted) = rest.split_once("=\"")?;
        // Prometheus text escapes `\\`, `\"` and `\n` in label values.
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.trim().to_string(), value);
        rest = &quoted[end + 1..];
    }
}

fn first_word(data: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(data);
    s.split_whitespace()
        .next()
        .filter(|w| w.len() <= 128)
        .map(str::to_string)
}

/// Minor version of `v1.30.4` / `v1.30` / `1.30-eks-...`.
pub fn minor_version(v: &str) -> Option<(u32, u32)> {
    let v = v.trim_start_matches('v');
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_rows_handle_comm_with_spaces() {
        let mut f = Facts::default();
        f.ingest(
            SourceKind::IoThrottling,
            "system/io_throttling.txt",
            b"PID Name Block IO Delay (centisconds)\n3127 (containerd) 4521\n88 (my (odd) proc) 1200\nbad row\n",
        );
        assert_eq!(f.io_rows.len(), 2);
        assert_eq!(f.io_rows[0].comm, "containerd");
        assert_eq!(f.io_rows[1].comm, "my (odd) proc");
        assert_eq!(f.io_rows[1].evidence.line, Some(3));
    }

    #[test]
    fn cni_env_dump_reads_back_to_back_objects() {
        let mut f = Facts::default();
        let dump = br#"{"Image":"602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.1","Spec":{"process":{"env":["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true","WARM_ENI_TARGET=1"]}}}
{"Image":"x/amazon-k8s-cni-init:v1.18.3","Spec":{"process":{"env":["X=1"]}}}"#;
        f.ingest(
            SourceKind::CniEnvDump,
            "cni/cni-configuration-variables-containerd.json",
            dump,
        );
        assert!(f.cni_flag("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"));
        assert_eq!(f.cni_setting("X"), Some("1"));
        assert_eq!(f.cni_version.as_deref(), Some("v1.18.3"));
    }

    #[test]
    fn flag_dump_is_not_a_max_pods_setting() {
        let mut f = Facts::default();
        f.ingest(
            SourceKind::Ps,
            "system/ps.txt",
            b"root 1 kubelet ... flags.go:64] FLAG: --max-pods=\"110\"\n",
        );
        assert!(f.max_pods.is_empty());
        f.ingest(
            SourceKind::Ps,
            "system/ps.txt",
            b"root 1 /usr/bin/kubelet --max-pods=58 --hostname-override=my-node\n",
        );
        assert_eq!(f.max_pods[0].value, 58);
        assert_eq!(f.hostname_overrides[0].0, "my-node");
    }

    #[test]
    fn metrics_sum_error_counts() {
        let mut f = Facts::default();
        f.ingest(
            SourceKind::CniMetrics,
            "ipamd/metrics.json",
            b"# HELP x\nawscni_aws_api_error_count{api=\"AssignPrivateIpAddresses\",error=\"RequestLimitExceeded\"} 37\nawscni_build_info{goversion=\"go1.22\",version=\"v1.18.3\"} 1\n",
        );
        assert_eq!(
            f.cni_api_errors.get(&(
                "AssignPrivateIpAddresses".into(),
                "RequestLimitExceeded".into()
            )),
            Some(&37)
        );
        assert_eq!(f.cni_version.as_deref(), Some("v1.18.3"));
    }

    #[test]
    fn ipamd_error_counts_read_labels_in_any_order_with_escapes() {
        let mut f = Facts::default();
        f.ingest(
            SourceKind::CniMetrics,
            "ipamd/metrics.json",
            b"awscni_ipamd_error_count{error=\"allocate: RequestLimitExceeded: Request limit exceeded.\\n\tstatus code: 503, \\\"x\\\"\",fn=\"increaseIPPoolAllocIPAddressesFailed\"} 12\nawscni_ipamd_error_count{fn=\"eniReconcileAdd\"} 3\nawscni_ipamd_error_count{fn=\"broken\" 4\n",
        );
        assert_eq!(
            f.cni_ipamd_errors.get(&(
                "increaseIPPoolAllocIPAddressesFailed".into(),
                "allocate: RequestLimitExceeded: Request limit exceeded.\n\tstatus code: 503, \"x\"".into()
            )),
            Some(&12)
        );
        assert_eq!(
            f.cni_ipamd_errors
                .get(&("eniReconcileAdd".into(), String::new())),
            Some(&3)
        );
        assert_eq!(
            f.cni_ipamd_errors.len(),
            2,
            "a sample without its closing brace is skipped"
        );
    }

    #[test]
    fn minor_versions() {
        assert_eq!(minor_version("v1.30.4-eks-a737599"), Some((1, 30)));
        assert_eq!(minor_version("v1.23"), Some((1, 23)));
        assert_eq!(minor_version("garbage"), None);
    }
}
