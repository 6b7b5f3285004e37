//! `eks-remedy`: see [`eks_remedy_cli`].

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("EKS_REMEDY_LOG"))
        .with_writer(std::io::stderr)
        .init();
    eks_remedy_cli::run(std::env::args_os())
}
