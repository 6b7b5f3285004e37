//! Started without its configuration, the function fails at once, naming the missing setting, and
//! never panics. (Its event handling is tested through the Runtime API in `eks-remedy-aws`.)

#[test]
fn missing_configuration_is_a_clear_startup_error() {
    eks_remedy_tests::assert_missing_configuration_is_reported(env!(
        "CARGO_BIN_EXE_bundle-analyzer"
    ));
}
