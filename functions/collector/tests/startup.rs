//! Started without its configuration, the function fails at once, naming the missing setting, and
//! never panics. (Its event handling is tested through the Runtime API in `eks-remedy-aws`.)

#[test]
fn missing_configuration_is_a_clear_startup_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_collector"))
        .env_clear()
        // No instance-metadata lookups (nothing in tests leaves loopback), and a region to load with.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .output()
        .unwrap_or_else(|e| panic!("run collector: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is not set"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
