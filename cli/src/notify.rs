//! `eks-remedy notify`: builds the incident view from reports (and a plan) and sends exactly what
//! the notifier function would send, prints it (`--dry-run`), or previews every target as one
//! HTML page (`--preview`).

use std::path::PathBuf;
use std::process::ExitCode;

use eks_remedy_chat::http::{HttpClient, RetryPolicy};
use eks_remedy_chat::preview;
use eks_remedy_chat::secret::{Secret, SecretError};
use eks_remedy_chat::target::{first_payload, Hook, SlackBot, Target, TargetKind, Webhook};
use eks_remedy_core::escape;
use eks_remedy_core::notify::{Change, IncidentView};
use eks_remedy_core::plan::Plan;
use eks_remedy_core::report::Report;

use crate::plan::read_bounded;

/// The Slack bot token (`xoxb-…`, scope `chat:write`).
pub const ENV_SLACK_TOKEN: &str = "EKS_REMEDY_SLACK_TOKEN";
/// Another Slack Web API base (a proxy, a local test server).
pub const ENV_SLACK_API_URL: &str = "EKS_REMEDY_SLACK_API_URL";
/// A Slack incoming webhook URL.
pub const ENV_SLACK_WEBHOOK_URL: &str = "EKS_REMEDY_SLACK_WEBHOOK_URL";
/// A Teams Workflows webhook URL.
pub const ENV_TEAMS_WEBHOOK_URL: &str = "EKS_REMEDY_TEAMS_WEBHOOK_URL";
/// The generic webhook's URL.
pub const ENV_WEBHOOK_URL: &str = "EKS_REMEDY_WEBHOOK_URL";
/// The generic webhook's signing secret.
pub const ENV_WEBHOOK_SECRET: &str = "EKS_REMEDY_WEBHOOK_SECRET";

const AFTER_HELP: &str = "\
Secrets are never command-line arguments (other users see those in `ps`, shells keep them in
their history). They come from the environment, or the token/URL from --secret-file:
  --target slack          EKS_REMEDY_SLACK_TOKEN (bot token xoxb-..., scope chat:write) and --channel;
                          EKS_REMEDY_SLACK_API_URL replaces https://slack.com/api/ (proxy, tests)
  --target slack-webhook  EKS_REMEDY_SLACK_WEBHOOK_URL
  --target teams          EKS_REMEDY_TEAMS_WEBHOOK_URL (a Workflows \"When a Teams webhook request
                          is received\" URL; retired webhook.office.com connectors are refused)
  --target webhook        EKS_REMEDY_WEBHOOK_URL and EKS_REMEDY_WEBHOOK_SECRET (HMAC-SHA256 key;
                          headers X-Eks-Remedy-Timestamp and X-Eks-Remedy-Signature: sha256=<hex>
                          over \"<timestamp>.<body>\")
  --target q              --dry-run only: the notifier function publishes it to SNS

Exit status: 0 sent (or printed), 2 unusable input or a missing secret, 1 not delivered.";

/// Arguments of `notify`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct NotifyArgs {
    /// A node's `report.json` (from `analyze --format json`); repeat for the nodes of one incident.
    #[arg(long = "report", value_name = "FILE", required = true)]
    reports: Vec<PathBuf>,
    /// The remediation plan (from `plan --format json`).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Where to send.
    #[arg(long, value_enum, required_unless_present = "preview")]
    target: Option<Kind>,
    /// Slack channel (id such as C0123ABCD, or #name) for `--target slack`.
    #[arg(long, value_name = "CHANNEL")]
    channel: Option<String>,
    /// Print the payload as JSON; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write what every target would show into one self-contained HTML page; send nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["target", "dry_run"])]
    preview: Option<PathBuf>,
    /// Read the token (slack) or webhook URL (other targets) from this file instead.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Cluster name shown in the message.
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// AWS account id shown in the message.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Incident id (threads in Slack and Amazon Q); default: first report's node and time.
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    /// Link to the HTML report shown in the message.
    #[arg(long, value_name = "URL")]
    report_url: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    Slack,
    SlackWebhook,
    Teams,
    Q,
    Webhook,
}

impl From<Kind> for TargetKind {
    fn from(k: Kind) -> TargetKind {
        match k {
            Kind::Slack => TargetKind::Slack,
            Kind::SlackWebhook => TargetKind::SlackWebhook,
            Kind::Teams => TargetKind::Teams,
            Kind::Q => TargetKind::Q,
            Kind::Webhook => TargetKind::Webhook,
        }
    }
}

/// A failure with its exit status.
struct Fail(u8, String);

impl From<SecretError> for Fail {
    fn from(e: SecretError) -> Fail {
        Fail(2, e.to_string())
    }
}

/// Runs `notify`.
pub fn run(a: NotifyArgs) -> ExitCode {
    match notify(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("eks-remedy: {msg}");
            ExitCode::from(code)
        }
    }
}

fn notify(a: &NotifyArgs) -> Result<(), Fail> {
    let view = build_view(a)?;
    if let Some(out) = &a.preview {
        let page = preview::html(&view, a.channel.as_deref());
        return std::fs::write(out, page)
            .map_err(|e| Fail(1, format!("cannot write {}: {e}", out.display())));
    }
    let Some(kind) = a.target.map(TargetKind::from) else {
        return Err(Fail(2, "--target or --preview is required".into()));
    };
    if a.dry_run {
        let p = first_payload(kind, &view, a.channel.as_deref());
        let text = serde_json::to_string_pretty(&p)
            .map_err(|e| Fail(1, format!("cannot serialise the payload: {e}")))?;
        // Payloads quote bundle text: C1 controls and bidi marks go out as `\u` escapes.
        println!("{}", escape::json(&text));
        return Ok(());
    }
    let target = build_target(a, kind)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail(1, format!("cannot start the async runtime: {e}")))?;
    let mut message = None;
    rt.block_on(target.deliver(&view, &[Change::Opened], &mut message))
        .map_err(|e| Fail(1, e.to_string()))?;
    match message {
        Some(m) => println!(
            "sent to {} (channel {}, ts {})",
            target.name(),
            m.channel,
            m.ts
        ),
        None => println!("sent to {}", target.name()),
    }
    Ok(())
}

fn build_view(a: &NotifyArgs) -> Result<IncidentView, Fail> {
    let mut reports: Vec<Report> = Vec::new();
    for path in &a.reports {
        reports.push(read_json(
            path,
            "a report from `analyze --format json`",
            |t| serde_json::from_str(t),
        )?);
    }
    let id = a.incident.clone().unwrap_or_else(|| default_id(&reports));
    let mut view = IncidentView::new(&id);
    view.cluster = a.cluster.clone();
    view.account = a.account.clone();
    view.report_url = a.report_url.clone();
    for r in &reports {
        view.add_report(r);
    }
    if let Some(path) = &a.plan {
        let p: Plan = read_json(path, "a plan from `plan --format json`", |t| {
            serde_json::from_str(t)
        })?;
        view.set_plan(&p);
    }
    Ok(view)
}

/// Reads `path` (bounded) and parses it as `what`.
fn read_json<T>(
    path: &std::path::Path,
    what: &str,
    parse: impl Fn(&str) -> serde_json::Result<T>,
) -> Result<T, Fail> {
    let text = read_bounded(path).map_err(|e| Fail(2, format!("{}: {e}", path.display())))?;
    parse(&text).map_err(|e| Fail(2, format!("{}: not {what}: {e}", path.display())))
}

/// `<node>:<collection time>` of the first report: the same reports give the same id.
fn default_id(reports: &[Report]) -> String {
    let Some(r) = reports.first() else {
        return "local".into();
    };
    let node = r.bundle.instance_id.as_deref().unwrap_or("node");
    match r.bundle.collected_at {
        Some(t) => format!("{node}:{}", t.format("%Y%m%dT%H%M")),
        None => node.to_string(),
    }
}

fn secret(a: &NotifyArgs, var: &str) -> Result<Secret, Fail> {
    match &a.secret_file {
        Some(f) => Ok(Secret::from_file(f)?),
        None => Ok(Secret::from_env(var)?),
    }
}

fn build_target(a: &NotifyArgs, kind: TargetKind) -> Result<Box<dyn Target>, Fail> {
    let name = kind.as_str();
    // The secret first: a missing one is the likeliest mistake and needs no network.
    let primary = match kind {
        TargetKind::Slack => secret(a, ENV_SLACK_TOKEN)?,
        TargetKind::SlackWebhook => secret(a, ENV_SLACK_WEBHOOK_URL)?,
        TargetKind::Teams => secret(a, ENV_TEAMS_WEBHOOK_URL)?,
        TargetKind::Webhook => secret(a, ENV_WEBHOOK_URL)?,
        TargetKind::Q => {
            return Err(Fail(
                2,
                "--target q sends through SNS, which the notifier function does; use --dry-run to see the message".into(),
            ))
        }
    };
    let client = HttpClient::new(RetryPolicy::default()).map_err(|e| Fail(1, e.to_string()))?;
    let cfg = |e: eks_remedy_chat::secret::EndpointError| Fail(2, e.to_string());
    Ok(match kind {
        TargetKind::Slack => {
            let channel = a.channel.as_deref().ok_or_else(|| {
                Fail(
                    2,
                    "--target slack needs --channel (the channel id or #name)".into(),
                )
            })?;
            let mut bot = SlackBot::new(name, primary, channel, client).map_err(cfg)?;
            if let Ok(base) = std::env::var(ENV_SLACK_API_URL) {
                bot = bot.with_api_base(&base).map_err(cfg)?;
            }
            Box::new(bot)
        }
        TargetKind::SlackWebhook => {
            Box::new(Hook::slack_webhook(name, &primary, client).map_err(cfg)?)
        }
        TargetKind::Teams => Box::new(Hook::teams(name, &primary, client).map_err(cfg)?),
        _ => {
            let key = Secret::from_env(ENV_WEBHOOK_SECRET)?;
            Box::new(Webhook::new(name, &primary, key, client).map_err(cfg)?)
        }
    })
}
