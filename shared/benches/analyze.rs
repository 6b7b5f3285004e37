//! `analyze BUNDLE [MODE]`: the analysis in one process, for profiling without building the CLI
//! (which links the chat crate's TLS stack): `cargo build --profile profiling -p eks-remedy-core
//! --bench analyze`, then `perf record` the binary under `profiling/deps/`.
//!
//! MODE `analyze` (default) runs the whole analysis and prints the findings' rule ids and counts;
//! `inflate` reads every member through the same reader and discards it (the floor).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use eks_remedy_core::analyze::{Analyzer, Options};
use eks_remedy_core::bundle::{drain, read_bundle, Limits, MemberSink, SinkResult};

/// Reads each member to its end where the reader holds it, as the scanner does.
struct Discard {
    bytes: u64,
}

impl MemberSink for Discard {
    fn member(&mut self, _path: &str, data: &mut dyn BufRead) -> SinkResult {
        self.bytes += drain(data)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: analyze BUNDLE [analyze|inflate]");
        return ExitCode::from(2);
    };
    let mode = args.next().map(|m| m.to_string_lossy().into_owned());
    let started = Instant::now();
    match mode.as_deref() {
        None | Some("analyze") => {
            let analyzer = match Analyzer::new() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            match analyzer.analyze(&path, &Options::default()) {
                Ok(report) => {
                    let found: Vec<_> = report
                        .findings
                        .iter()
                        .map(|f| (f.rule.clone(), f.count))
                        .collect();
                    println!("{found:?}");
                }
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Some("inflate") => {
            let mut sink = Discard { bytes: 0 };
            if let Err(e) = read_bundle(&path, &Limits::default(), &mut sink, None) {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
            println!("{} bytes", sink.bytes);
        }
        Some(other) => {
            eprintln!("unknown mode {other}");
            return ExitCode::from(2);
        }
    }
    eprintln!("{:.3} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
