//! The build from source (no verified release binary for the runner): kept
//! in the Actions cache between jobs, and built with a Rust toolchain the
//! step installs itself when the runner's is missing or too old (seen
//! through fake `cargo`, `rustc`, `rustup` and `rustup-init`).

use super::install::{Release, fake_cargo, release};
use super::registry;
use super::runner::{VERSION, make_executable};
use crate::common::TestEnv;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The Rust version the action installs: Cargo.toml's `rust-version`.
fn msrv() -> String {
    let manifest = std::fs::read_to_string(super::runner::manifest_dir().join("Cargo.toml"))
        .expect("Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("rust-version in Cargo.toml")
        .to_owned()
}

/// A fresh job on a fresh runner: nothing left in RUNNER_TEMP.
fn new_job(env: &TestEnv, release: &Release) {
    std::fs::remove_dir_all(env.root.join("runner/temp")).unwrap();
    let _ = std::fs::remove_file(&release.cargo_log);
}

#[test]
fn the_build_is_cached_between_jobs_and_rebuilt_when_the_source_changes() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let run = release.runner(&env, "validate").run();
    run.assert_ok();
    assert!(release.cargo_args().is_some(), "the first job builds");
    let key = run.step("install").outputs["cache-key"].clone();
    assert!(
        key.starts_with(&format!("regent-build-{VERSION}-Linux-X64-")),
        "{key}"
    );
    assert!(
        env.root
            .join("actions-cache")
            .join(&key)
            .join("bin/regent")
            .exists(),
        "the build was saved under {key}"
    );

    // The next job restores it: no cargo.
    new_job(&env, &release);
    let run = release.runner(&env, "validate").run();
    run.assert_ok();
    assert_eq!(release.cargo_args(), None, "{}", run.log());
    assert!(
        run.step("build")
            .stdout
            .contains("built by an earlier job (restored from the cache)"),
        "{}",
        run.log()
    );
    assert_eq!(run.step("install").outputs["cache-key"], key);

    // Another source (a branch of the action that moved): another key, built again.
    std::fs::create_dir_all(release.action.join("src")).unwrap();
    std::fs::write(release.action.join("src/main.rs"), "fn main() {}\n").unwrap();
    new_job(&env, &release);
    let run = release.runner(&env, "validate").run();
    run.assert_ok();
    assert_ne!(run.step("install").outputs["cache-key"], key);
    assert!(release.cargo_args().is_some(), "{}", run.log());
}

#[test]
fn a_rust_older_than_rust_version_is_replaced_through_rustup() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let runner = release.runner(&env, "validate");
    runner.tool(
        "rustc",
        "#!/bin/sh\necho 'rustc 1.70.0 (90c541806 2023-05-31)'\n",
    );
    let rustup_log = env.root.join("rustup-log");
    runner.tool(
        "rustup",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            rustup_log.display()
        ),
    );
    let run = runner.run();
    run.assert_ok();
    let msrv = msrv();
    assert_eq!(
        std::fs::read_to_string(&rustup_log).unwrap(),
        format!("toolchain\ninstall\n{msrv}\n--profile\nminimal\n--no-self-update\n")
    );
    let cargo = release.cargo_args().unwrap();
    assert_eq!(cargo[..2], [format!("+{msrv}"), "install".to_owned()]);
}

/// rustup-init for Linux x64 served from a file:// folder, and its sha256
/// as rustup publishes it (`<hash>  <path>`).
fn serve_rustup_init(env: &TestEnv, checksum: Option<&str>) -> std::path::PathBuf {
    let base = env.root.join("rustup-dist");
    let dir = base.join("x86_64-unknown-linux-gnu");
    std::fs::create_dir_all(&dir).unwrap();
    let init_log = env.root.join("rustup-init-log");
    let cargo_log = env.root.join("cargo-log");
    // The installer puts a cargo into $CARGO_HOME/bin, as rustup-init does.
    let script = format!(
        "#!/bin/sh\n\
         printf '%s\\n' \"$@\" > '{init_log}'\n\
         mkdir -p \"$CARGO_HOME/bin\" \"$RUSTUP_HOME\"\n\
         cat > \"$CARGO_HOME/bin/cargo\" <<'EOF'\n{cargo}EOF\n\
         chmod +x \"$CARGO_HOME/bin/cargo\"\n",
        init_log = init_log.display(),
        cargo = fake_cargo(&cargo_log),
    );
    let init = dir.join("rustup-init");
    std::fs::write(&init, &script).unwrap();
    make_executable(&init);
    let hash = checksum
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(Sha256::digest(script.as_bytes())));
    std::fs::write(
        dir.join("rustup-init.sha256"),
        format!("{hash}  ./x86_64-unknown-linux-gnu/rustup-init\n"),
    )
    .unwrap();
    base
}

#[test]
fn without_rust_the_build_installs_it_with_a_verified_rustup_init() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let base = serve_rustup_init(&env, None);
    let mut runner = release.runner(&env, "validate");
    std::fs::remove_file(runner.work.join("bin/cargo")).unwrap();
    runner.hide_rust = true;
    runner.var("REGENT_RUSTUP_BASE", format!("file://{}", base.display()));
    let run = runner.run();
    run.assert_ok();
    let rust = env.root.join("runner/temp/regent-rust");
    assert_eq!(
        std::fs::read_to_string(env.root.join("rustup-init-log")).unwrap(),
        format!(
            "-y\n--quiet\n--no-modify-path\n--profile\nminimal\n--default-toolchain\n{}\n",
            msrv()
        )
    );
    // The toolchain lives in the job's temp folder; its cargo built regent.
    assert!(rust.join("cargo/bin/cargo").exists());
    assert_eq!(release.cargo_args().unwrap()[0], "install");
    assert!(
        Path::new(&run.step("build").outputs["bin"]).ends_with("bin/regent"),
        "{}",
        run.log()
    );
}

#[test]
fn a_rustup_init_whose_checksum_differs_is_never_run() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let base = serve_rustup_init(&env, Some(&"0".repeat(64)));
    let mut runner = release.runner(&env, "validate");
    std::fs::remove_file(runner.work.join("bin/cargo")).unwrap();
    runner.hide_rust = true;
    runner.var("REGENT_RUSTUP_BASE", format!("file://{}", base.display()));
    let run = runner.run();
    assert_eq!(run.failed().id, "build");
    assert!(
        run.failed()
            .stdout
            .contains("checksum mismatch for file://"),
        "{}",
        run.log()
    );
    assert!(!env.root.join("rustup-init-log").exists(), "it ran");
    assert_eq!(release.cargo_args(), None);
}
