//! `inflate-only BUNDLE`: reads a bundle through the analyzer's own reader (the same inflater,
//! thread and buffers, tar walking and nested `.gz` members) and discards every member unread by
//! any scanner. It is the floor `eks-remedy analyze` is measured against in `bench/analyzer.sh`:
//! the analysis costs what it adds to this.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use eks_remedy_core::bundle::{drain, read_bundle, Limits, MemberSink, SinkResult};

#[derive(Parser)]
struct Args {
    /// A bundle: `.tar.gz`, `.tar` or an extracted folder.
    bundle: PathBuf,
}

/// Reads each member to its end where the reader holds it, as the scanner does.
struct Discard {
    bytes: u64,
    members: u64,
}

impl MemberSink for Discard {
    fn member(&mut self, _path: &str, data: &mut dyn BufRead) -> SinkResult {
        self.members += 1;
        self.bytes += drain(data)?;
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sink = Discard {
        bytes: 0,
        members: 0,
    };
    let summary = read_bundle(&args.bundle, &Limits::default(), &mut sink, None)
        .with_context(|| format!("cannot read {}", args.bundle.display()))?;
    println!(
        "{} members, {} bytes inflated, damage: {}",
        sink.members,
        sink.bytes,
        summary.damage.len()
    );
    Ok(())
}
