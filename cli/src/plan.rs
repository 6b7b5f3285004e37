//! `eks-remedy plan`: the remediation plan the pipeline would make for a report or incident, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use eks_remedy_core::escape;
use eks_remedy_core::plan::{self, GuardState, Settings};

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// `report.json` (from `analyze --format json`) or an incident JSON.
    input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: PlanFormat,
    /// The rung of one action kind, e.g. `vpc-cni-addon=auto` (default: dry-run for every kind).
    #[arg(long = "mode", value_name = "KIND=MODE")]
    modes: Vec<String>,
    /// Plan as for an account with a Business or Enterprise support plan (cases can be filed by the pipeline).
    #[arg(long)]
    support_plan: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

/// Runs `plan`: 0 planned, 2 unusable input or setting, 1 output failure.
pub fn run(a: PlanArgs) -> ExitCode {
    let mut settings = Settings {
        support_plan: a.support_plan,
        ..Settings::default()
    };
    for m in &a.modes {
        if let Err(e) = settings.set_mode(m) {
            eprintln!("eks-remedy: --mode {e}");
            return ExitCode::from(2);
        }
    }
    let text = match read_bounded(&a.input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("eks-remedy: {}: {e}", a.input.display());
            return ExitCode::from(2);
        }
    };
    let (findings, ctx) = match plan::parse_input(&text) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("eks-remedy: {}: {e}", a.input.display());
            return ExitCode::from(2);
        }
    };
    let p = plan::plan(&findings, &ctx, &settings, &GuardState::default());
    let out = match a.format {
        PlanFormat::Text => plan::text::render(&p),
        // Findings carry bundle text: C1 controls and bidi marks go out as `\u` escapes, as in
        // `analyze --format json`.
        PlanFormat::Json => {
            escape::json(&serde_json::to_string_pretty(&p).unwrap_or_default()) + "\n"
        }
    };
    use std::io::Write;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eks-remedy: cannot write output: {e}");
            ExitCode::from(1)
        }
    }
}

/// Reads at most [`plan::MAX_INPUT_BYTES`] (+1, to tell "too large"), refusing what is not a file.
pub(crate) fn read_bounded(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(plan::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut buf)
        })
        .map_err(|e| e.to_string())?;
    String::from_utf8(buf).map_err(|_| "not UTF-8 text".to_string())
}
