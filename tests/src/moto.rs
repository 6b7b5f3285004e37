//! One moto server (with `tests/moto_server.py`'s extensions) per test process, on a free loopback
//! port. `MOTO_ENDPOINT` reuses one that is already running.
//!
//! The server lives in a static, and statics are never dropped: so the server is started with
//! `--exit-with-parent` and a stdin pipe that only this process holds, and it ends with this process
//! however it ends (normal exit, panic, signal).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Held, never used: its stdin pipe closing is what tells the server to exit.
    _child: Option<Child>,
}

/// Environment every AWS client in tests gets: loopback endpoint, fake credentials, no instance
/// metadata lookups, one attempt per call (so failures show at once instead of being retried).
pub fn client_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
    ]
}

/// Starts (once) and returns the server; also points this process's AWS environment at it.
pub fn moto() -> &'static Moto {
    static M: OnceLock<Moto> = OnceLock::new();
    M.get_or_init(|| {
        let (endpoint, child) = match std::env::var("MOTO_ENDPOINT") {
            Ok(e) => (e, None),
            Err(_) => {
                let (e, c) = spawn();
                (e, Some(c))
            }
        };
        // Set once, before any client exists; every test in the process wants the same values.
        for (k, v) in client_env(&endpoint) {
            std::env::set_var(k, v);
        }
        Moto {
            endpoint,
            _child: child,
        }
    })
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(5500)
}

/// The moto launcher on `port`, exiting with its parent (stdin is the caller's to choose).
pub fn launcher(port: u16) -> Command {
    let repo = crate::repo_root();
    let python = repo.join(".venv/bin/python");
    assert!(
        python.exists(),
        "moto is not installed: run scripts/test.sh (it creates .venv with moto[server])"
    );
    let mut cmd = Command::new(python);
    cmd.arg(repo.join("tests/moto_server.py"))
        .args([
            "--exit-with-parent",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Waits (30 s at most) until something listens on `port`.
pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn() -> (String, Child) {
    let port = free_port();
    let child = launcher(port)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto: {e}"));
    wait_listening(port);
    (format!("http://127.0.0.1:{port}"), child)
}

/// A name unique to this process (tests share one server and run in parallel).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The workspace's target directory holding built binaries (`target/debug`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or_default()
}
