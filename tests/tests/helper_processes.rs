//! Regression tests for issue #14: every test run left its moto servers running (a static is never
//! dropped, so nothing ended the child). The launcher now exits with whoever started it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eks_remedy_tests::moto::{free_port, launcher, wait_listening};
use eks_remedy_tests::repo_root;

/// Kills its child when dropped, so a failing assertion leaves nothing running.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exits_within(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn moto_server_exits_when_its_parents_pipe_closes() {
    let port = free_port();
    let mut child = Reap(launcher(port).stdin(Stdio::piped()).spawn().unwrap());
    wait_listening(port);
    // Still serving while the pipe is open: the watcher must not end a live run.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "exited while its parent lived"
    );
    // What the kernel does when the test process ends, however it ends.
    drop(child.0.stdin.take());
    assert!(
        exits_within(&mut child.0, Duration::from_secs(10)),
        "moto outlived its parent's pipe"
    );
}

#[test]
fn moto_server_exits_when_its_parent_dies_without_a_pipe() {
    // An intermediate shell starts the server with the shell's own (open) stdin, reports its pid,
    // then lingers until killed: the server must notice the reparenting, not only EOF. (A shell
    // gives background jobs /dev/null as stdin, so the pipe goes through fd 3. The shell becomes the
    // `sleep` (exec), so killing it leaves no orphan holding the test's stderr open.)
    let port = free_port();
    let root = repo_root();
    let script = format!(
        "exec 3<&0; {py} {srv} --exit-with-parent -H 127.0.0.1 -p {port} >/dev/null 2>&1 <&3 & echo $!; exec sleep 600",
        py = root.join(".venv/bin/python").display(),
        srv = root.join("tests/moto_server.py").display(),
    );
    let mut shell = Reap(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(shell.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let server_pid: u32 = line.trim().parse().unwrap();
    wait_listening(port);
    // Our end of the shell's stdin stays open (held in `stdin`), so only the parent watch can fire.
    let stdin = shell.0.stdin.take();
    drop(shell);
    let proc_dir = format!("/proc/{server_pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut gone = false;
    while Instant::now() < deadline {
        // A zombie (reaped later by init) counts as gone.
        let state = std::fs::read_to_string(format!("{proc_dir}/stat")).unwrap_or_default();
        if state.is_empty() || state.contains(") Z ") {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    if !gone {
        let _ = Command::new("kill").arg(server_pid.to_string()).status();
    }
    assert!(gone, "moto outlived its parent");
}
