//! Pipeline benchmark (issue targets). Measures the binaries SAM deploys; run it with
//! `bench/pipeline.sh`, which builds them (`scripts/sam-build.sh`) and the release CLI first. The
//! bench runs no cargo itself: an earlier version did, and its quiet `cargo build --release` of the
//! functions compiled every AWS SDK crate in release (they live in SAM's own target dir) for minutes
//! with no output, only to build binaries the bench does not measure.
//! - cold start: each function binary spawned 10 times against a local Runtime API; time from
//!   process start to its first `next` poll (ready for the first event), median, target <= 50 ms;
//!   baseline in the same run: spawn-to-exit of `/bin/true`. Binary sizes.
//! - analysis from S3: a ~200 MB (compressed) bundle put in moto S3, analysed by the bundle-analyzer
//!   binary streaming it; peak RSS of that process (VmHWM), target < 128 MiB; baseline in the same
//!   run: the CLI analysing the same bundle from a local file.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eks_remedy_pipeline::function::FUNCTIONS;
use eks_remedy_tests::moto::{client_env, moto, unique};
use eks_remedy_tests::runtime_api::{Outcome, RuntimeApi};
use eks_remedy_tests::{keep_run_marker, repo_root};

fn release_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("release")
}

/// The deployable artifact of a function, as `sam build` left it.
fn artifact(resource: &str) -> PathBuf {
    let p = repo_root()
        .join(".aws-sam/build")
        .join(resource)
        .join("bootstrap");
    assert!(
        p.exists(),
        "{} missing: run scripts/sam-build.sh first",
        p.display()
    );
    p
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn spawn_fn(bin: &Path, api: &RuntimeApi, env: &[(String, String)]) -> std::process::Child {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    keep_run_marker(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn function")
}

fn main() {
    let bin = release_dir();
    assert!(
        bin.join("eks-remedy").exists(),
        "{}/eks-remedy missing: run bench/pipeline.sh (it builds the release CLI)",
        bin.display()
    );
    let m = moto();
    let mut env: Vec<(String, String)> = client_env(&m.endpoint)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (k, v) in [
        ("TABLE_NAME", "t"),
        ("COLLECTION_QUEUE_URL", "http://127.0.0.1/q"),
        ("BUCKET", "b"),
        ("FINDINGS_BUS", "bus"),
        ("COLLECTION_DOCUMENT", "eks-remedy-CollectionDocument"),
    ] {
        env.push((k.into(), v.into()));
    }

    println!("== cold start (spawn -> first Runtime API poll), median of 10");
    let baseline = median(
        (0..10)
            .map(|_| {
                let t = Instant::now();
                let _ = Command::new("/bin/true").status();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    );
    println!("baseline: spawn-to-exit of /bin/true {baseline:.2} ms");
    for spec in FUNCTIONS {
        let (f, path) = (spec.name, artifact(spec.resource));
        let ms = median(
            (0..10)
                .map(|_| {
                    let api = RuntimeApi::start();
                    let t = Instant::now();
                    let mut child = spawn_fn(&path, &api, &env);
                    let ready = api.wait_ready(Duration::from_secs(10)).expect("ready");
                    let _ = child.kill();
                    let _ = child.wait();
                    (ready - t).as_secs_f64() * 1000.0
                })
                .collect(),
        );
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{f:<18} ready in {ms:6.2} ms ({:.1}x baseline; target <= 50 ms)  binary {:.1} MiB",
            ms / baseline,
            size as f64 / 1048576.0
        );
    }

    println!("== analysis streamed from S3");
    let size = std::env::var("BENCH_S3_BUNDLE").unwrap_or_else(|_| "1400M".into());
    let dir = repo_root().join("bench-out/s3");
    let file = dir.join("eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz");
    if !file.exists() {
        std::fs::create_dir_all(&dir).expect("bench-out");
        let target = eks_remedy_tests::generate::parse_size(&size)
            .expect("BENCH_S3_BUNDLE: a size like 1400M");
        println!("generating a {size} bundle at {}", file.display());
        eks_remedy_tests::generate::write_big_bundle(&file, target, 1).expect("generate bundle");
    }
    let compressed = std::fs::metadata(&file).expect("bundle").len();
    let bucket = unique("bench");
    let key = "bundles/prod/i-0abc12345def67890/prod:throttling:20261019T0500/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz";
    let table = unique("bench-incidents");
    let bus = unique("bench-bus");
    // Set-up through boto3 from the project venv keeps this benchmark free of the Rust AWS SDK.
    let setup = format!(
        "import boto3\n\
         kw = dict(endpoint_url='{ep}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
         boto3.client('s3', **kw).create_bucket(Bucket='{bucket}')\n\
         boto3.client('s3', **kw).upload_file('{file}', '{bucket}', '{key}')\n\
         boto3.client('dynamodb', **kw).create_table(TableName='{table}', KeySchema=[{{'AttributeName': 'pk', 'KeyType': 'HASH'}}], AttributeDefinitions=[{{'AttributeName': 'pk', 'AttributeType': 'S'}}], BillingMode='PAY_PER_REQUEST')\n\
         boto3.client('events', **kw).create_event_bus(Name='{bus}')\n",
        ep = m.endpoint,
        file = file.display()
    );
    let ok = Command::new(repo_root().join(".venv/bin/python"))
        .arg("-c")
        .arg(&setup)
        .status()
        .expect("python");
    assert!(ok.success(), "moto set-up failed");
    let api = RuntimeApi::start();
    let mut env2 = env.clone();
    env2.push(("BUCKET".into(), bucket.clone()));
    env2.push(("TABLE_NAME".into(), table.clone()));
    env2.push(("FINDINGS_BUS".into(), bus.clone()));
    let mut child = spawn_fn(&artifact("BundleAnalyzerFunction"), &api, &env2);
    api.wait_ready(Duration::from_secs(10)).expect("ready");
    let event = serde_json::json!({"action": "analyze", "bucket": bucket, "key": key});
    let t = Instant::now();
    let out = api.call(&event);
    let secs = t.elapsed().as_secs_f64();
    let rss = peak_rss_kib(child.id()).unwrap_or(0) as f64 / 1024.0;
    let _ = child.kill();
    let _ = child.wait();
    let ok = matches!(&out, Outcome::Response(v) if v["ok"] == true);
    let cli = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(bin.join("eks-remedy"))
        .args(["analyze", "--format", "json"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let cli_rss = cli
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<f64>().ok())
        })
        .map(|k| k / 1024.0);
    println!(
        "bundle {:.1} MiB compressed, streamed from moto S3 in {secs:.1} s; answered: {ok}",
        compressed as f64 / 1048576.0
    );
    println!("bundle-analyzer peak RSS {rss:.1} MiB (target < 128 MiB); baseline CLI on the local file {}", cli_rss.map_or("n/a (needs /usr/bin/time)".into(), |r| format!("{r:.1} MiB, ratio {:.2}", rss / r)));
}
