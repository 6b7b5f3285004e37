//! Makes bundles: `gen-bundle big --size 1G OUT` (benchmarks), `gen-bundle pack DIR OUT` (samples),
//! `gen-bundle patterns` (every signature literal, one per line, for a grep baseline).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A large realistic bundle of about SIZE uncompressed bytes (suffix M or G).
    Big {
        #[arg(long, default_value = "1G")]
        size: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        out: PathBuf,
    },
    /// Pack a fixture tree into a collector-style .tar.gz.
    Pack {
        dir: PathBuf,
        out: PathBuf,
        /// Put members under this folder instead of `./`.
        #[arg(long)]
        leading: Option<String>,
    },
    /// Print every signature literal of the catalogue.
    Patterns,
}

fn main() -> anyhow::Result<()> {
    match Args::parse().cmd {
        Cmd::Big { size: s, seed, out } => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let st = eks_remedy_tests::generate::write_big_bundle(
                &out,
                eks_remedy_tests::generate::parse_size(&s)
                    .with_context(|| format!("bad size {s}: expected e.g. 1G, 200M or bytes"))?,
                seed,
            )?;
            println!(
                "{} uncompressed bytes, {} compressed, {} members -> {}",
                st.uncompressed,
                st.compressed,
                st.members,
                out.display()
            );
        }
        Cmd::Pack { dir, out, leading } => {
            eks_remedy_tests::pack_dir(&dir, &out, leading.as_deref())?
        }
        Cmd::Patterns => {
            for l in eks_remedy_core::rules::literals() {
                println!("{l}");
            }
        }
    }
    Ok(())
}
