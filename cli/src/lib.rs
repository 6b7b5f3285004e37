//! The `eks-remedy` command line. `main.rs` only calls [`run`]; everything here is testable.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use eks_remedy_core::bundle::{self, Limits};
use eks_remedy_core::render::{self, Format};
use eks_remedy_core::{Analyzer, BundleError, Options};

#[cfg(feature = "aws")]
pub mod approve;
pub mod notify;
pub mod plan;
#[cfg(feature = "aws")]
pub mod replay;

/// Bundles at least this large (compressed) get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// Finds and explains the node and networking faults that break Amazon EKS nodes when clusters scale.
#[derive(Debug, Parser)]
#[command(name = "eks-remedy", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyze an EKS Logs Collector bundle (.tar.gz, .tar or extracted folder).
    Analyze(AnalyzeArgs),
    /// List the rules and what each detects.
    Rules {
        /// Print only the literals the scanner searches for, one per line (for `rg -F -f` or
        /// `grep -F -f`: the same search without the analysis).
        #[arg(long)]
        literals: bool,
    },
    /// The remediation plan the pipeline would make for a report or incident (offline; changes nothing).
    Plan(plan::PlanArgs),
    /// Send an incident's chat message (Slack, Teams, Amazon Q, webhook) as the notifier function
    /// would, print it (--dry-run), or preview every target as one HTML page (--preview).
    Notify(notify::NotifyArgs),
    /// Approve (or reject) the actions of a plan that wait for approval, signed with your AWS
    /// credentials. Needs the `aws` feature.
    #[cfg(feature = "aws")]
    Approve(approve::ApproveArgs),
    /// Run a pipeline event (file) through the same handler as its Lambda function, against the
    /// configured AWS endpoint. Needs the `aws` feature.
    #[cfg(feature = "aws")]
    Replay {
        /// The event JSON (EventBridge event, SQS batch, or a manual payload).
        event: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutFormat {
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
struct AnalyzeArgs {
    /// The bundle: eks_<instance>_<date>-UTC_<version>.tar.gz, a .tar, or the extracted folder.
    bundle: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    /// The node's instance type, when the bundle does not show it (e.g. m5.large).
    #[arg(long, value_name = "TYPE")]
    instance_type: Option<String>,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Stop after this many uncompressed bytes (suffixes K, M, G).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value_t = bundle::DEFAULT_MAX_TOTAL_BYTES)]
    max_total_bytes: u64,
    /// Read at most this many uncompressed bytes of one member.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value_t = bundle::DEFAULT_MAX_MEMBER_BYTES)]
    max_member_bytes: u64,
    /// Cut lines longer than this (64 B to 16 MiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_line_size, default_value_t = bundle::DEFAULT_MAX_LINE_BYTES as u64)]
    max_line_bytes: u64,
    /// Read at most this many members.
    #[arg(long, value_name = "N", default_value_t = bundle::DEFAULT_MAX_MEMBERS)]
    max_members: u64,
    /// Stop when the bundle inflates to more than N bytes per compressed byte (after the first 64 MiB;
    /// 0 turns the guard off).
    #[arg(long, value_name = "N", default_value_t = bundle::DEFAULT_MAX_RATIO)]
    max_ratio: u64,
}

/// Whether `out` is the input file itself (same path, another path to it, or a hard link).
fn same_file(input: &std::path::Path, out: &std::path::Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(out)) else {
        return false; // an output that does not exist yet cannot be the input
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if a.dev() == b.dev() && a.ino() == b.ino() {
            return true;
        }
    }
    let _ = (a, b);
    matches!(
        (std::fs::canonicalize(input), std::fs::canonicalize(out)),
        (Ok(x), Ok(y)) if x == y
    )
}

/// `1048576`, `512K`, `64M`, `16G` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, shift) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 10),
        Some('M') => (&s[..s.len() - 1], 20),
        Some('G') => (&s[..s.len() - 1], 30),
        Some('T') => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 1048576, 512K, 64M, 16G)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn parse_line_size(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if (64..=16 << 20).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "line limit must be between 64 B and 16 MiB, got {n}"
        ))
    }
}

/// Runs the command line; returns the process exit code (0 ran, 2 unusable input, 1 other failure).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Plan(a) => plan::run(a),
        Command::Notify(a) => notify::run(a),
        #[cfg(feature = "aws")]
        Command::Approve(a) => approve::run(a),
        #[cfg(feature = "aws")]
        Command::Replay { event } => run_replay(&event),
        Command::Rules { literals: true } => {
            let mut out = std::io::stdout().lock();
            for l in eks_remedy_core::rules::literals() {
                let _ = writeln!(out, "{l}");
            }
            ExitCode::SUCCESS
        }
        Command::Rules { literals: false } => {
            let mut out = std::io::stdout().lock();
            for r in eks_remedy_core::rules::all() {
                let m = r.meta();
                let _ = writeln!(out, "{:<32} {:<8} {}", m.id, m.severity.as_str(), m.title);
            }
            ExitCode::SUCCESS
        }
    }
}

#[cfg(feature = "aws")]
fn run_replay(path: &std::path::Path) -> ExitCode {
    let event = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not JSON: {e}")))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("eks-remedy: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eks-remedy: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(replay::replay(event)) {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eks-remedy: {e}");
            ExitCode::from(2)
        }
    }
}

fn analyze(a: AnalyzeArgs) -> ExitCode {
    if let Some(out) = a.out.as_deref().filter(|o| same_file(&a.bundle, o)) {
        eprintln!(
            "eks-remedy: --out {} is the bundle being analysed; refusing to overwrite it",
            out.display()
        );
        return ExitCode::from(2);
    }
    let analyzer = match Analyzer::new() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("eks-remedy: internal error: {e}");
            return ExitCode::from(1);
        }
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let input_len = std::fs::metadata(&a.bundle)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let bar = match input_len {
        Some(len) if stderr_tty && len >= PROGRESS_MIN_BYTES => {
            Some(spawn_progress(len, progress.clone(), done.clone()))
        }
        _ => None,
    };
    let opts = Options {
        limits: Limits {
            max_total_bytes: a.max_total_bytes,
            max_member_bytes: a.max_member_bytes,
            max_line_bytes: usize::try_from(a.max_line_bytes)
                .unwrap_or(bundle::DEFAULT_MAX_LINE_BYTES),
            max_members: a.max_members,
            max_ratio: a.max_ratio,
        },
        instance_type: a.instance_type.clone(),
        progress: bar.as_ref().map(|_| progress.clone()),
        ..Options::default()
    };
    let result = analyzer.analyze(&a.bundle, &opts);
    done.store(true, Ordering::Relaxed);
    if let Some(handle) = bar {
        let _ = handle.join();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eks-remedy: {e}");
            // Listed, not wildcarded: a new error kind must decide whether it is the input's fault.
            return ExitCode::from(match e {
                BundleError::Open { .. }
                | BundleError::Read { .. }
                | BundleError::NotABundle { .. }
                | BundleError::NoKnownMembers { .. } => 2,
            });
        }
    };
    let format = match a.format {
        OutFormat::Text => Format::Text,
        OutFormat::Json => Format::Json,
        OutFormat::Markdown => Format::Markdown,
        OutFormat::Html => Format::Html,
    };
    let color = match a.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            a.out.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text = render::render(&report, format, color);
    let written = match &a.out {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write output: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eks-remedy: {e}");
            ExitCode::from(1)
        }
    }
}

fn spawn_progress(
    len: u64,
    read: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        while !done.load(Ordering::Relaxed) {
            bar.set_position(read.load(Ordering::Relaxed).min(len));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("16g"), Ok(16 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_line_size("1").is_err());
    }
}
