//! Makes bundles: `gen-bundle big --size 1G [--lookalikes 20] OUT` (benchmarks), `gen-bundle pack
//! DIR OUT` (samples). The catalogue's literals, for a grep baseline, are `eks-remedy rules --literals`.

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
        /// Per mille of log lines that hold a catalogue literal but match no signature.
        #[arg(long, default_value_t = 0)]
        lookalikes: u64,
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
}

fn main() -> anyhow::Result<()> {
    match Args::parse().cmd {
        Cmd::Big {
            size: s,
            seed,
            lookalikes,
            out,
        } => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let st = eks_remedy_tests::generate::write_big_bundle_with(
                &out,
                eks_remedy_tests::generate::parse_size(&s)
                    .with_context(|| format!("bad size {s}: expected e.g. 1G, 200M or bytes"))?,
                seed,
                lookalikes,
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
    }
    Ok(())
}
