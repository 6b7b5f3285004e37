//! Large, realistic bundles for benchmarks and limit tests.
//!
//! The generated node is a busy AL2 node: syslog, the kubelet and containerd journals, ipamd logs
//! (current and gzip-rotated, as lumberjack writes them) and container logs, in the proportions real
//! bundles show. Lines vary (ids, pod names, numbers) so gzip compresses them about as well as real
//! logs. A few faults sit near the end of each big log, where a streaming reader meets them last.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::append_file;

/// xorshift64*: the same bundle for the same seed on every machine and crate version, which a
/// general-purpose RNG crate does not promise across releases.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = format!("{:016x}{:016x}", self.next_u64(), self.next_u64());
        s.truncate(digits);
        s
    }
}

const HOST: &str = "ip-10-0-1-23.ec2.internal";
const PODS: &[&str] = &[
    "api",
    "worker",
    "frontend",
    "cart",
    "search",
    "ledger",
    "auth",
    "metrics-agent",
    "queue",
    "cron",
];
const NAMESPACES: &[&str] = &["payments", "shop", "platform", "observability", "default"];
/// 2026-10-19 05:10:00 UTC as seconds of day; the journal prints no year.
const START_SECS: u64 = 5 * 3600 + 10 * 60;

struct Clock {
    secs: u64,
    micros: u64,
}

impl Clock {
    fn tick(&mut self, rng: &mut Rng) {
        self.micros += rng.below(40_000);
        self.secs += self.micros / 1_000_000;
        self.micros %= 1_000_000;
    }
    fn hms(&self) -> String {
        let s = self.secs % 86_400;
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
    fn journal(&self) -> String {
        format!("Oct {:2} {}", 19 + self.secs / 86_400, self.hms())
    }
    fn klog(&self, level: char) -> String {
        format!(
            "{level}10{:02} {}.{:06}",
            19 + self.secs / 86_400,
            self.hms(),
            self.micros
        )
    }
    fn iso(&self) -> String {
        format!(
            "2026-10-{:02}T{}.{:03}Z",
            19 + self.secs / 86_400,
            self.hms(),
            self.micros / 1000
        )
    }
}

fn pod(rng: &mut Rng) -> String {
    format!(
        "{}/{}-{}-{}",
        NAMESPACES[rng.below(NAMESPACES.len() as u64) as usize],
        PODS[rng.below(PODS.len() as u64) as usize],
        rng.hex(9),
        rng.hex(5)
    )
}

fn kubelet_line(rng: &mut Rng, c: &Clock, syslog: bool) -> String {
    let body = match rng.below(8) {
        0 => format!("{}    3214 kubelet.go:2441] \"SyncLoop (PLEG): event for pod\" pod=\"{}\" event={{\"ID\":\"{}\",\"Type\":\"ContainerStarted\"}}", c.klog('I'), pod(rng), rng.hex(32)),
        1 => format!("{}    3214 reconciler_common.go:245] \"operationExecutor.VerifyControllerAttachedVolume started for volume \\\"kube-api-access-{}\\\"\" pod=\"{}\"", c.klog('I'), rng.hex(5), pod(rng)),
        2 => format!("{}    3214 prober.go:107] \"Probe failed\" probeType=\"Readiness\" pod=\"{}\" containerName=\"app\" probeResult=\"failure\" output=\"HTTP probe failed with statuscode: 503\"", c.klog('I'), pod(rng)),
        3 => format!("{}    3214 kuberuntime_container.go:779] \"Killing container with a grace period\" pod=\"{}\" containerID=\"containerd://{}\" gracePeriod=30", c.klog('I'), pod(rng), rng.hex(64)),
        4 => format!("{}    3214 log.go:184] http: TLS handshake error from 10.0.{}.{}:{}: remote error: tls: bad certificate", c.klog('I'), rng.below(255), rng.below(255), 30000 + rng.below(30000)),
        5 => format!("{}    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"app\\\" with CrashLoopBackOff: \\\"back-off 5m0s restarting failed container\\\"\" pod=\"{}\"", c.klog('E'), pod(rng)),
        6 => format!("{}    3214 eviction_manager.go:366] \"Eviction manager: attempting to reclaim\" resourceName=\"ephemeral-storage\" threshold={}", c.klog('W'), rng.below(100)),
        _ => format!("{}    3214 generic.go:334] \"Generic (PLEG): container finished\" podID=\"{}\" containerID=\"{}\" exitCode={}", c.klog('I'), rng.hex(36), rng.hex(64), rng.below(3)),
    };
    if syslog {
        format!("{} ip-10-0-1-23 kubelet: {body}\n", c.journal())
    } else {
        format!("{} {HOST} kubelet[3214]: {body}\n", c.journal())
    }
}

fn messages_line(rng: &mut Rng, c: &Clock) -> String {
    match rng.below(6) {
        0 | 1 => kubelet_line(rng, c, true),
        2 => format!("{} ip-10-0-1-23 systemd: Started cri-containerd-{}.scope - libcontainer container {}.\n", c.journal(), rng.hex(64), rng.hex(64)),
        3 => format!("{} ip-10-0-1-23 dhclient[2811]: XMT: Solicit on eth0, interval {}ms.\n", c.journal(), 100 + rng.below(9000)),
        4 => format!("{} ip-10-0-1-23 kernel: IPv6: ADDRCONF(NETDEV_CHANGE): eni{}: link becomes ready\n", c.journal(), rng.hex(11)),
        _ => format!("{} ip-10-0-1-23 containerd: time=\"{}\" level=info msg=\"StartContainer for \\\"{}\\\" returns successfully\"\n", c.journal(), c.iso(), rng.hex(64)),
    }
}

fn containerd_line(rng: &mut Rng, c: &Clock) -> String {
    let msg = match rng.below(5) {
        0 => format!("RunPodSandbox for &PodSandboxMetadata{{Name:{},Uid:{},Namespace:{},Attempt:0,}} returns sandbox id \\\"{}\\\"", PODS[rng.below(10) as usize], rng.hex(32), NAMESPACES[rng.below(5) as usize], rng.hex(64)),
        1 => format!("PullImage \\\"602401143452.dkr.ecr.us-east-1.amazonaws.com/app:{}\\\"", rng.hex(7)),
        2 => format!("ImageCreate event name:\\\"sha256:{}\\\" labels:{{key:\\\"io.cri-containerd.image\\\" value:\\\"managed\\\"}}", rng.hex(64)),
        3 => format!("shim disconnected\" id={} namespace=k8s.io", rng.hex(64)),
        _ => format!("TearDown network for sandbox \\\"{}\\\" successfully", rng.hex(64)),
    };
    format!(
        "{} {HOST} containerd[2904]: time=\"{}\" level=info msg=\"{msg}\"\n",
        c.journal(),
        c.iso()
    )
}

fn ipamd_line(rng: &mut Rng, c: &Clock) -> String {
    let msg = match rng.below(5) {
        0 => format!("IP pool stats for network card 0: Total IPs/Prefixes = {}/0, AssignedIPs/CooldownIPs: {}/{}, c.maxIPsPerENI = 9", 18 + rng.below(9), rng.below(18), rng.below(3)),
        1 => format!("AssignPodIPv4Address: Assign IP 10.0.{}.{} to sandbox {}", rng.below(255), rng.below(255), rng.hex(64)),
        2 => format!("UnassignPodIPAddress: sandbox {}'s ipAddr 10.0.{}.{}, DeviceNumber {}", rng.hex(64), rng.below(255), rng.below(255), rng.below(3)),
        3 => "Reconcile existing ENI eni-0a1b2c3d4e5f60718 IP pool".to_string(),
        _ => format!("Send AddNetworkReply: IPv4Addr: 10.0.{}.{}, IPv6Addr: , DeviceNumber: {}, err: <nil>", rng.below(255), rng.below(255), rng.below(3)),
    };
    format!("{{\"level\":\"debug\",\"ts\":\"{}\",\"caller\":\"ipamd/ipamd.go:{}\",\"msg\":\"{msg}\"}}\n", c.iso(), 600 + rng.below(900))
}

fn container_line(rng: &mut Rng, c: &Clock) -> String {
    format!(
        "{} stdout F {{\"level\":\"info\",\"request_id\":\"{}\",\"path\":\"/v1/orders/{}\",\"status\":{},\"latency_ms\":{}}}\n",
        c.iso(),
        rng.hex(32),
        rng.below(1_000_000),
        [200, 200, 200, 201, 404, 500][rng.below(6) as usize],
        rng.below(900)
    )
}

/// Faults appended near the end of each big log: one per rule family a big bundle should still find.
fn faults(name: &str, c: &Clock) -> String {
    match name {
        "kubelet" => format!(
            "{} {HOST} kubelet[3214]: {}    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"api\\\" with ErrImagePull: \\\"pull QPS exceeded\\\"\" pod=\"payments/api-1\"\n",
            c.journal(),
            c.klog('E')
        ),
        "messages" => format!("{} ip-10-0-1-23 kernel: nf_conntrack: table full, dropping packet\n", c.journal()),
        "ipamd" => format!(
            "{{\"level\":\"error\",\"ts\":\"{}\",\"caller\":\"ipamd/ipamd.go:840\",\"msg\":\"Failed to allocate a private IP/Prefix addresses on ENI eni-0a1b2c3d4e5f60718: operation error EC2: AssignPrivateIpAddresses, https response error StatusCode: 503, RequestID: 7e8f9a0b, api error RequestLimitExceeded: Request limit exceeded.\"}}\n",
            c.iso()
        ),
        "containerd" => format!(
            "{} {HOST} containerd[2904]: time=\"{}\" level=error msg=\"RunPodSandbox failed\" error=\"failed to setup network for sandbox \\\"2585\\\": plugin type=\\\"aws-cni\\\" name=\\\"aws-cni\\\" failed (add): add cmd: failed to assign an IP address to container\"\n",
            c.journal(),
            c.iso()
        ),
        _ => String::new(),
    }
}

/// A line of `family` that holds a catalogue literal but matches no signature (its confirm regex
/// fails): the scanner's prefilter stops on it, the analysis must not count it. `None` where the
/// member has no scanned literal to imitate.
fn lookalike(family: &str, rng: &mut Rng, c: &Clock) -> Option<String> {
    Some(match family {
        // `blocked for more than` without the kernel's `INFO: task x:pid ... N seconds`.
        "messages" => format!(
            "{} ip-10-0-1-23 systemd[1]: user-runtime-dir@{}.service: job blocked for more than {}s waiting on a lock\n",
            c.journal(),
            rng.below(2000),
            rng.below(90)
        ),
        // gRPC `Unavailable` from the runtime socket, not from a CNI add/del call.
        "kubelet" => format!(
            "{} {HOST} kubelet[3214]: {}    3214 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"rpc error: code = Unavailable desc = connection error\" pod=\"{}\"\n",
            c.journal(),
            c.klog('E'),
            pod(rng)
        ),
        "containerd" => format!(
            "{} {HOST} containerd[2904]: time=\"{}\" level=error msg=\"ContainerStatus for \\\"{}\\\" failed\" error=\"rpc error: code = Unavailable desc = error reading from server: EOF\"\n",
            c.journal(),
            c.iso(),
            rng.hex(64)
        ),
        // `no available IP` without `addresses`: a pool in cooldown, not an exhausted one.
        "ipamd" => format!(
            "{{\"level\":\"debug\",\"ts\":\"{}\",\"caller\":\"ipamd/ipamd.go:{}\",\"msg\":\"Pool has no available IPs in cooldown ({} IPs), reconcile later\"}}\n",
            c.iso(),
            600 + rng.below(900),
            rng.below(4)
        ),
        _ => return None,
    })
}

/// Writes about `bytes` of `line` to `out`, with a few faults near the end and `lookalikes` per
/// mille of [`lookalike`] lines; returns bytes written.
fn log_member(
    rng: &mut Rng,
    bytes: u64,
    family: &str,
    line: fn(&mut Rng, &Clock) -> String,
    lookalikes: u64,
    out: &mut impl Write,
) -> io::Result<u64> {
    let mut c = Clock {
        secs: START_SECS,
        micros: 0,
    };
    let fault_at = bytes - bytes / 200;
    let mut faulted = 0;
    let mut written = 0u64;
    while written < bytes {
        c.tick(rng);
        // No draw without look-alikes: the plain bundle stays byte-identical for a seed.
        let imitate = lookalikes > 0 && rng.below(1000) < lookalikes;
        let mut l = imitate
            .then(|| lookalike(family, rng, &c))
            .flatten()
            .unwrap_or_else(|| line(rng, &c));
        if written >= fault_at && faulted < 3 {
            l.push_str(&faults(family, &c));
            faulted += 1;
        }
        out.write_all(l.as_bytes())?;
        written += l.len() as u64;
    }
    Ok(written)
}

/// What [`write_big_bundle`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct BigStats {
    /// Uncompressed member bytes (after inflating nested gz members).
    pub uncompressed: u64,
    /// Archive size.
    pub compressed: u64,
    /// Members.
    pub members: u64,
}

type LineFn = fn(&mut Rng, &Clock) -> String;

/// A size such as `1G`, `200M` or plain bytes; `None` when it is not one.
pub fn parse_size(s: &str) -> Option<u64> {
    let (n, mul) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], 1u64 << 30),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    n.parse::<u64>().ok()?.checked_mul(mul)
}

/// Writes a bundle of about `target` uncompressed bytes to `out`.
pub fn write_big_bundle(out: &Path, target: u64, seed: u64) -> io::Result<BigStats> {
    write_big_bundle_with(out, target, seed, 0)
}

/// [`write_big_bundle`] where `lookalikes` per mille of the scanned logs' lines hold a catalogue
/// literal in a line that matches no signature (the hard case for a literal prefilter); the
/// findings are those of the plain bundle.
pub fn write_big_bundle_with(
    out: &Path,
    target: u64,
    seed: u64,
    lookalikes: u64,
) -> io::Result<BigStats> {
    let mut rng = Rng::new(seed);
    let file = File::create(out)?;
    let mut tar = tar::Builder::new(GzEncoder::new(
        io::BufWriter::with_capacity(1 << 20, file),
        Compression::default(),
    ));
    let mut stats = BigStats::default();
    let small: &[(&str, &[u8])] = &[
        ("system/instance-id.txt", b"i-0abc12345def67890\n"),
        ("system/region.txt", b"us-east-1\n"),
        ("system/io_throttling.txt", b"PID Name Block IO Delay (centisconds)\n3127 (containerd) 212\n"),
        ("kubelet/kubelet-config.json", b"{\"kind\":\"KubeletConfiguration\",\"maxPods\":29}\n"),
        ("ipamd/ipamd-env-settings.json", b"{\"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG\":\"false\",\"WARM_ENI_TARGET\":\"1\"}\n"),
        ("networking/iptables-save.txt", b"*nat\n:AWS-SNAT-CHAIN-0 - [0:0]\n:AWS-CONNMARK-CHAIN-0 - [0:0]\n:KUBE-SERVICES - [0:0]\nCOMMIT\n"),
    ];
    for (name, data) in small {
        append_file(&mut tar, &format!("./{name}"), data)?;
        stats.uncompressed += data.len() as u64;
        stats.members += 1;
    }
    let plan: &[(&str, &str, f64, LineFn, bool)] = &[
        ("var_log/messages", "messages", 0.30, messages_line, false),
        (
            "kubelet/kubelet.log",
            "kubelet",
            0.20,
            |r, c| kubelet_line(r, c, false),
            false,
        ),
        (
            "containerd/containerd-log.txt",
            "containerd",
            0.20,
            containerd_line,
            false,
        ),
        (
            "var_log/aws-routed-eni/ipamd.log",
            "ipamd",
            0.10,
            ipamd_line,
            false,
        ),
        (
            "var_log/aws-routed-eni/ipamd-2026-10-19T05-12-40.512.log.gz",
            "ipamd",
            0.10,
            ipamd_line,
            true,
        ),
        (
            "var_log/containers/api-7d9f8_payments_app-1.log",
            "",
            0.10,
            container_line,
            false,
        ),
    ];
    let scratch = tempfile::NamedTempFile::new()?;
    for (name, family, share, line, gz) in plan {
        let bytes = ((target as f64 * share) as u64).max(1024);
        // Members can be hundreds of MB: stage each on disk, the tar header needs its size first.
        let mut staged = io::BufWriter::with_capacity(1 << 20, scratch.reopen()?);
        staged.get_mut().set_len(0)?;
        let written = if *gz {
            let mut enc = GzEncoder::new(staged, Compression::default());
            let n = log_member(&mut rng, bytes, family, *line, lookalikes, &mut enc)?;
            enc.finish()?.flush()?;
            n
        } else {
            let n = log_member(&mut rng, bytes, family, *line, lookalikes, &mut staged)?;
            staged.flush()?;
            n
        };
        let data = File::open(scratch.path())?;
        let mut h = tar::Header::new_gnu();
        h.set_size(data.metadata()?.len());
        h.set_mode(0o644);
        h.set_mtime(1_760_861_520);
        tar.append_data(&mut h, format!("./{name}"), data)?;
        stats.uncompressed += written;
        stats.members += 1;
    }
    let mut w = tar.into_inner()?.finish()?;
    w.flush()?;
    stats.compressed = std::fs::metadata(out)?.len();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_suffixes_and_reject_garbage() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("200m"), Some(200 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("12X"), None);
        assert_eq!(parse_size("99999999999999G"), None);
    }
}
