//! Renders a report saved as JSON: `render-report REPORT.json [--format html|text|markdown|json]`.
//!
//! The browser tests draw reports no bundle can produce (40 findings, 30 node events within one
//! second) through the same renderer the CLI uses.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use eks_remedy_core::render::{render, Format};
use eks_remedy_core::Report;

#[derive(Clone, Copy, ValueEnum)]
enum Out {
    Html,
    Text,
    Markdown,
    Json,
}

#[derive(Parser)]
struct Args {
    /// A report in the JSON contract.
    report: PathBuf,
    #[arg(long, value_enum, default_value = "html")]
    format: Out,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("reading {}", args.report.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a report", args.report.display()))?;
    let format = match args.format {
        Out::Html => Format::Html,
        Out::Text => Format::Text,
        Out::Markdown => Format::Markdown,
        Out::Json => Format::Json,
    };
    print!("{}", render(&report, format, false));
    Ok(())
}
