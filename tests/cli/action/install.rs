//! The install step: a verified release archive is unpacked and used; a
//! checksum that differs is a hard failure; without a binary, a checksum or a
//! download it builds from the action's source (seen through a fake cargo).

use super::runner::{Runner, VERSION, make_executable, manifest_dir, regent_bin};
use super::{json, registry};
use crate::common::TestEnv;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// An action folder like the released one, with its own checksums.txt, and
/// a release archive of the test binary served from a file:// URL.
pub(super) struct Release {
    pub(super) action: PathBuf,
    pub(super) downloads: PathBuf,
    pub(super) archive_sha256: String,
    pub(super) cargo_log: PathBuf,
}

/// A fake `cargo` that records its arguments in `log` and "builds" the test
/// binary into `--root`'s `bin`.
pub(super) fn fake_cargo(log: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         printf '%s\\n' \"$@\" > '{log}'\n\
         while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
         mkdir -p \"$root/bin\"\n\
         for exe in regent regent.exe; do ln -sf '{bin}' \"$root/bin/$exe\"; done\n",
        log = log.display(),
        bin = regent_bin().display()
    )
}

pub(super) fn release(env: &TestEnv, target: &str) -> Release {
    let action = env.root.join("action");
    std::fs::create_dir_all(&action).unwrap();
    for file in ["action.yml", "Cargo.toml"] {
        std::fs::copy(manifest_dir().join(file), action.join(file)).unwrap();
    }
    std::fs::write(action.join("checksums.txt"), "# no entries\n").unwrap();

    let downloads = env.root.join("downloads");
    let name = format!("regent-{VERSION}-{target}");
    std::fs::create_dir_all(downloads.join(&name)).unwrap();
    // The debug binary is large: the archive holds a script that runs it.
    let wrapper = downloads.join(&name).join("regent");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", regent_bin().display()),
    )
    .unwrap();
    make_executable(&wrapper);
    let status = std::process::Command::new("tar")
        .current_dir(&downloads)
        .args(["-czf", &format!("{name}.tar.gz"), &name])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_dir_all(downloads.join(&name)).unwrap();
    let bytes = std::fs::read(downloads.join(format!("{name}.tar.gz"))).unwrap();
    let archive_sha256 = hex::encode(Sha256::digest(&bytes));

    Release {
        action,
        downloads,
        archive_sha256,
        cargo_log: env.root.join("cargo-log"),
    }
}

impl Release {
    fn checksums(&self, lines: &str) {
        std::fs::write(
            self.action.join("checksums.txt"),
            format!("# test checksums\n{lines}"),
        )
        .unwrap();
    }

    /// A runner that installs from this release, with a fake `cargo` that
    /// records its arguments and "builds" the test binary.
    pub(super) fn runner<'a>(&self, env: &'a TestEnv, command: &str) -> Runner<'a> {
        let mut runner = Runner::new(env, command);
        runner.use_test_binary = false;
        runner.action_path = self.action.clone();
        runner.var(
            "REGENT_DOWNLOAD_BASE",
            format!("file://{}", self.downloads.display()),
        );
        runner.tool("cargo", &fake_cargo(&self.cargo_log));
        // A runner's Rust as recent as regent needs (Cargo.toml's rust-version).
        runner.tool(
            "rustc",
            &format!(
                "#!/bin/sh\necho 'rustc {} (fake)'\n",
                env!("CARGO_PKG_RUST_VERSION")
            ),
        );
        runner
    }

    pub(super) fn cargo_args(&self) -> Option<Vec<String>> {
        std::fs::read_to_string(&self.cargo_log)
            .ok()
            .map(|t| t.lines().map(String::from).collect())
    }
}

#[test]
fn install_rejects_an_archive_whose_checksum_differs() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let bogus = "0".repeat(64);
    release.checksums(&format!(
        "{bogus}  regent-{VERSION}-x86_64-unknown-linux-musl.tar.gz\n"
    ));
    let run = release.runner(&env, "validate").run();
    let failed = run.failed();
    assert_eq!((failed.id.as_str(), failed.code), ("install", 1));
    assert!(
        failed.stdout.contains(&format!(
            "::error title=regent::checksum mismatch for regent-{VERSION}-x86_64-unknown-linux-musl.tar.gz"
        )),
        "{}",
        run.log()
    );
    assert!(failed.stdout.contains(&release.archive_sha256));
    // A hard failure: no fallback, no binary, the regent step never ran.
    assert!(!failed.stdout.contains("::notice"), "{}", run.log());
    assert_eq!(release.cargo_args(), None);
    assert!(!failed.outputs.contains_key("bin"));
    assert_eq!(run.steps.len(), 1);
}

#[test]
fn install_rejects_a_malformed_checksum_entry() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let asset = format!("regent-{VERSION}-x86_64-unknown-linux-musl.tar.gz");
    release.checksums(&format!(
        "{}  {asset}\n{}  {asset}\n",
        release.archive_sha256,
        "1".repeat(64)
    ));
    let run = release.runner(&env, "validate").run();
    let failed = run.failed();
    assert_eq!(failed.id, "install");
    assert!(
        failed
            .stdout
            .contains("checksums.txt has a malformed or conflicting entry"),
        "{}",
        run.log()
    );
    assert_eq!(release.cargo_args(), None);
}

#[test]
fn install_verifies_unpacks_and_runs_a_release() {
    let env = registry();
    let release = release(&env, "aarch64-apple-darwin");
    release.checksums(&format!(
        "{}  regent-{VERSION}-aarch64-apple-darwin.tar.gz\n",
        release.archive_sha256
    ));
    let mut runner = release.runner(&env, "resolve");
    runner.runner_os = "macOS".into();
    runner.runner_arch = "ARM64".into();
    runner.action_ref = format!("v{VERSION}");
    runner.input("args", "models:/m/1 --json");
    let run = runner.run();
    run.assert_ok();
    let bin = &run.step("install").outputs["bin"];
    assert_eq!(
        Path::new(bin),
        env.root.join(format!(
            "runner/temp/regent-{VERSION}-aarch64-apple-darwin/regent-{VERSION}-aarch64-apple-darwin/regent"
        ))
    );
    assert!(
        run.step("install")
            .stdout
            .contains(&format!("sha256 {} matches", release.archive_sha256))
    );
    assert_eq!(release.cargo_args(), None);
    assert_eq!(json(&run.outputs["stdout"])["artifact"]["uri"], "s3://x");

    // A second use in the same job finds it installed, without downloading.
    std::fs::remove_dir_all(&release.downloads).unwrap();
    let run = runner.run();
    run.assert_ok();
    assert!(
        run.step("install")
            .stdout
            .contains("installed earlier in this job")
    );
}

#[test]
fn install_builds_from_source_without_a_checksum_entry() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let run = release.runner(&env, "validate").run();
    run.assert_ok();
    let install = run.step("install");
    assert!(
        install.stdout.contains(&format!(
            "::notice title=regent::checksums.txt has no entry for regent-{VERSION}-x86_64-unknown-linux-musl.tar.gz: building regent {VERSION} from the action's source (cached between jobs)"
        )),
        "{}",
        run.log()
    );
    let build = run.step("build");
    assert!(
        build
            .stdout
            .contains("from the action's source with cargo install --locked"),
        "{}",
        run.log()
    );
    let root = env.root.join(format!("runner/temp/regent-build-{VERSION}"));
    assert_eq!(
        release.cargo_args().unwrap(),
        [
            "install",
            "--locked",
            "--path",
            &release.action.to_string_lossy(),
            "--root",
            &root.to_string_lossy(),
        ]
    );
    assert_eq!(Path::new(&build.outputs["bin"]), root.join("bin/regent"));
}

#[test]
fn install_builds_from_source_when_the_download_fails_or_no_binary_fits() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    // An entry for Linux ARM64, whose archive is not there.
    release.checksums(&format!(
        "{}  regent-{VERSION}-aarch64-unknown-linux-musl.tar.gz\n",
        release.archive_sha256
    ));
    let mut runner = release.runner(&env, "validate");
    runner.runner_arch = "ARM64".into();
    let run = runner.run();
    run.assert_ok();
    let notice = format!(
        "::notice title=regent::downloading file://{}/regent-{VERSION}-aarch64-unknown-linux-musl.tar.gz failed",
        release.downloads.display()
    );
    assert!(
        run.step("install").stdout.contains(&notice),
        "{}",
        run.log()
    );
    assert!(release.cargo_args().is_some());

    // Another job (RUNNER_TEMP is emptied between jobs).
    std::fs::remove_file(&release.cargo_log).unwrap();
    std::fs::remove_dir_all(env.root.join("runner/temp")).unwrap();
    let mut runner = release.runner(&env, "validate");
    runner.runner_os = "Windows".into();
    runner.runner_arch = "ARM64".into();
    let run = runner.run();
    run.assert_ok();
    assert!(
        run.step("install")
            .stdout
            .contains("::notice title=regent::no regent release binary for Windows ARM64"),
        "{}",
        run.log()
    );
    assert!(release.cargo_args().is_some());
}

#[test]
fn install_refuses_to_build_another_version_than_the_source() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let mut runner = release.runner(&env, "validate");
    runner.input("version", "v9.9.9");
    let run = runner.run();
    assert_eq!(run.failed().id, "install");
    assert!(
        run.failed().stdout.contains(&format!(
            "the action's source is regent {VERSION}, not 9.9.9"
        )),
        "{}",
        run.log()
    );
    assert_eq!(release.cargo_args(), None);

    runner.input("version", "latest; touch x");
    let run = runner.run();
    assert!(
        run.failed()
            .stdout
            .contains("version \"latest; touch x\" is not a version number"),
        "{}",
        run.log()
    );
}

#[test]
fn install_uses_regent_on_path_at_the_requested_version() {
    let env = registry();
    let release = release(&env, "x86_64-unknown-linux-musl");
    let mut runner = release.runner(&env, "validate");
    let on_path = runner.work.join("bin/regent");
    std::fs::copy(regent_bin(), &on_path).unwrap();
    runner.input("version", VERSION);
    let run = runner.run();
    run.assert_ok();
    assert_eq!(Path::new(&run.step("install").outputs["bin"]), on_path);
    assert!(
        run.step("install")
            .stdout
            .contains(&format!("Using regent {VERSION} from PATH"))
    );
    assert_eq!(release.cargo_args(), None);
}
