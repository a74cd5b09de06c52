//! The GitHub Action (`action.yml`) run as the runner runs it: each step's
//! `run:` script with `bash --noprofile --norc -eo pipefail`, its `env:` with
//! the `${{ }}` expressions substituted here as the runner would, and fake
//! `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_EVENT_PATH`,
//! `GITHUB_ACTION_PATH`, `RUNNER_OS`, `RUNNER_ARCH` and `RUNNER_TEMP`, in a
//! real repository with a registry made by the real binary.
//!
//! `REGENT_BIN` points the install step at the test binary, except in the
//! install tests, which serve release archives from `file://` URLs through
//! `REGENT_DOWNLOAD_BASE` and put a fake `cargo` on PATH that records how it
//! was called, so the fallback to building from source is seen, not run.

mod build;
mod install;
mod runner;

use crate::common::TestEnv;
use runner::{ALLOWED, Runner, TOKEN, load_action, make_executable, manifest_dir, regent_bin};
use std::path::PathBuf;

/// A registry with model `m` v1 (s3://x) in staging.
fn registry() -> TestEnv {
    let env = TestEnv::with_registry();
    env.run_ok(&["register", "m", "--artifact", "s3://x"]);
    env.run_ok(&["promote", "m", "1", "--to", "staging"]);
    env
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------------------
// The file itself

#[test]
fn inputs_reach_the_shell_only_through_env() {
    let action = load_action(&manifest_dir());
    assert_eq!(
        action
            .steps
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["install", "restore", "build", "save", "run"]
    );
    for step in &action.steps {
        if let Some(uses) = &step.uses {
            // Only the cache, only where no verified binary was installed,
            // and given nothing but what the install step computed.
            assert!(
                ["actions/cache/restore@v4", "actions/cache/save@v4"].contains(&uses.as_str()),
                "step {} uses {uses}",
                step.id
            );
            assert!(step.condition.is_some(), "step {} runs always", step.id);
            for (_, value) in &step.with {
                assert!(
                    value.starts_with("${{ steps.install.outputs."),
                    "step {}: {value}",
                    step.id
                );
            }
            continue;
        }
        assert_eq!(step.shell.as_deref(), Some("bash"), "step {}", step.id);
        assert!(
            !step.run.contains("${{"),
            "step {} interpolates an expression into its script",
            step.id
        );
        assert!(
            step.run.trim_start().starts_with("set -euo pipefail"),
            "step {} does not start with set -euo pipefail",
            step.id
        );
        assert!(!step.run.contains("eval"), "step {} uses eval", step.id);
    }
    let run = action.steps.iter().find(|s| s.id == "run").unwrap();
    for (var, expr) in [
        ("REGENT_COMMAND", "${{ inputs.command }}"),
        ("REGENT_ARGS", "${{ inputs.args }}"),
        (
            "REGENT_WORKING_DIRECTORY",
            "${{ inputs.working-directory }}",
        ),
        ("GITHUB_TOKEN", "${{ inputs.token }}"),
    ] {
        assert!(
            run.env.iter().any(|(k, v)| k == var && v == expr),
            "the run step does not set {var}: {expr}"
        );
    }
    let token_default = action.inputs.iter().find(|(n, _)| n == "token").unwrap();
    assert_eq!(token_default.1.as_deref(), Some("${{ github.token }}"));
    for name in [
        "ok",
        "events",
        "model",
        "version",
        "stage",
        "uri",
        "pr-number",
        "pr-url",
    ] {
        let (_, value) = action
            .outputs
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("output {name} is not declared"));
        assert_eq!(value, &format!("${{{{ steps.run.outputs.{name} }}}}"));
    }
}

/// The example workflows name the action by the repository Cargo.toml
/// declares, at its major tag: what users copy works as shipped.
#[test]
fn examples_use_the_action_by_its_repository() {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let repository = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = \"https://github.com/"))
        .and_then(|r| r.strip_suffix('"'))
        .expect("Cargo.toml names the repository");
    let major = format!("v{}", env!("CARGO_PKG_VERSION_MAJOR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(manifest_dir().join("examples/workflows")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().map(str::trim) {
            if let Some(action) = line.strip_prefix("uses: ")
                && !action.starts_with("actions/")
            {
                assert_eq!(
                    action,
                    format!("{repository}@{major}"),
                    "{}: {line}",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 4, "the examples use the action ({seen} uses)");
}

#[test]
fn checksums_file_is_well_formed() {
    let text = std::fs::read_to_string(manifest_dir().join("checksums.txt")).unwrap();
    assert!(
        text.starts_with('#'),
        "checksums.txt starts with its explanation"
    );
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (hash, file) = line.split_once("  ").unwrap_or_else(|| panic!("{line:?}"));
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line:?}"
        );
        assert!(file.starts_with("regent-"), "{line:?}");
    }
}

// ---------------------------------------------------------------------------
// Running commands

#[test]
fn resolve_writes_its_fields_and_json_to_the_outputs() {
    let env = registry();
    let mut runner = Runner::new(&env, "resolve");
    runner.input("args", "models:/m/staging --json");
    let run = runner.run();
    run.assert_ok();
    assert_eq!(
        run.step("install").outputs["bin"],
        regent_bin().to_string_lossy()
    );
    let stdout = &run.outputs["stdout"];
    let resolved = json(stdout);
    assert_eq!(resolved["model"], "m");
    assert_eq!(resolved["version"], 1);
    assert_eq!(resolved["stage"], "staging");
    assert_eq!(resolved["artifact"]["uri"], "s3://x");
    // What regent prints also reaches the log.
    assert!(run.step("run").stdout.contains("\"uri\": \"s3://x\""));
    assert!(
        run.step("run")
            .stdout
            .contains("Running: regent resolve models:/m/staging --json")
    );
    // resolve also sets its fields as outputs (empty ones are not kept).
    assert_eq!(run.outputs["uri"], "s3://x");
    assert_eq!(run.outputs["version"], "1");
    assert_eq!(run.outputs["stage"], "staging");
    assert_eq!(
        run.outputs.keys().collect::<Vec<_>>(),
        ["model", "stage", "stdout", "uri", "version"]
    );
}

/// `ui` runs in a workflow only as `ui build OUT` (the Pages example): the
/// static site is written; a server, which would never end, is refused.
#[test]
fn ui_builds_the_static_site_and_never_serves() {
    let env = registry();
    let mut runner = Runner::new(&env, "ui");
    runner.input("args", "build site/");
    runner.run().assert_ok();
    let index = std::fs::read_to_string(env.repo.join("site/index.html")).unwrap();
    assert!(index.contains("Content-Security-Policy"), "{index}");

    for args in ["", "--port 8080", "site/ build"] {
        let mut runner = Runner::new(&env, "ui");
        runner.input("args", args);
        let run = runner.run();
        let failed = run.failed();
        assert_eq!((failed.id.as_str(), failed.code), ("run", 1), "{args:?}");
        assert!(
            failed.stdout.contains("runs only as \"ui build OUT\""),
            "{args:?}: {}",
            run.log()
        );
        assert!(!failed.stdout.contains("Running:"), "{}", run.log());
    }
}

#[test]
fn show_and_history_run_in_the_working_directory() {
    // A monorepo: the registry lives in ml/.
    let env = TestEnv::new();
    std::fs::create_dir_all(env.repo.join("ml")).unwrap();
    env.regent_in(&env.repo.join("ml"))
        .arg("init")
        .assert()
        .success();
    env.regent_in(&env.repo.join("ml"))
        .args(["register", "churn", "--artifact", "s3://bucket/churn"])
        .assert()
        .success();

    let mut runner = Runner::new(&env, "show");
    runner
        .input("args", "churn --json")
        .input("working-directory", "ml");
    let run = runner.run();
    run.assert_ok();
    let shown = json(&run.outputs["stdout"]);
    assert_eq!(shown["name"], "churn");
    assert_eq!(shown["versions"][0]["artifact"]["uri"], "s3://bucket/churn");

    let mut runner = Runner::new(&env, "history");
    runner
        .input("args", "churn --json")
        .input("working-directory", "ml");
    let run = runner.run();
    run.assert_ok();
    let events = json(&run.outputs["stdout"]);
    let kinds: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["register"]);

    let mut runner = Runner::new(&env, "show");
    runner.input("working-directory", "no/such/folder");
    let run = runner.run();
    assert_eq!(run.failed().id, "run");
    assert!(
        run.failed()
            .stdout
            .contains("::error title=regent::working-directory \"no/such/folder\" does not exist"),
        "{}",
        run.log()
    );
}

#[test]
fn validate_fails_the_step_and_still_sets_its_outputs() {
    let env = registry();
    let mut runner = Runner::new(&env, "validate");
    runner.input("args", "--json");
    let run = runner.run();
    run.assert_ok();
    assert_eq!(json(&run.outputs["stdout"])["ok"], true);

    env.write("models/m/versions/1.yaml", "version: [not a number\n");
    let run = runner.run();
    let failed = run.failed();
    assert_eq!(
        (failed.id.as_str(), failed.code),
        ("run", 1),
        "{}",
        run.log()
    );
    let report = json(&failed.outputs["stdout"]);
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["errors"][0]["file"], "models/m/versions/1.yaml",
        "{report}"
    );
    // GITHUB_ACTIONS=true: annotations, on stderr with --json.
    assert!(
        failed
            .stderr
            .contains("::error file=models/m/versions/1.yaml"),
        "{}",
        run.log()
    );
}

#[test]
fn output_without_trailing_newline_and_empty_output_are_kept_exactly() {
    let env = registry();
    let fake = env.root.join("fake-regent");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'regent 0.0.0-fake'; exit 0; }\n[ \"$2\" = empty ] && exit 0\nprintf 'line 1\\nline 2'\n",
    )
    .unwrap();
    make_executable(&fake);
    let mut runner = Runner::new(&env, "show");
    runner.use_test_binary = false;
    runner.var("REGENT_BIN", &fake);
    let run = runner.run();
    run.assert_ok();
    assert_eq!(run.outputs["stdout"], "line 1\nline 2");
    runner.input("args", "empty");
    let run = runner.run();
    run.assert_ok();
    assert_eq!(run.step("run").outputs["stdout"], "");
}

// ---------------------------------------------------------------------------
// Inputs that try to run code

/// A fake regent that writes its arguments, one per line, and the token it
/// received to files, so the test sees exactly what reached it.
fn recording_regent(env: &TestEnv) -> (PathBuf, PathBuf, PathBuf) {
    let bin = env.root.join("recording-regent");
    let argv = env.root.join("argv");
    let token = env.root.join("token");
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = --version ]; then echo 'regent 0.0.0-recording'; exit 0; fi\n\
             printf '%s\\n' \"$@\" > '{}'\n\
             printf '%s' \"$GITHUB_TOKEN\" > '{}'\n",
            argv.display(),
            token.display()
        ),
    )
    .unwrap();
    make_executable(&bin);
    (bin, argv, token)
}

#[test]
fn shell_metacharacters_in_args_are_plain_words() {
    let env = registry();
    let (bin, argv, _) = recording_regent(&env);
    let pwned = env.root.join("pwned");
    let p = pwned.display();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            format!("; touch {p} #"),
            vec![";".into(), "touch".into(), p.to_string(), "#".into()],
        ),
        (
            format!("$(touch {p})"),
            vec!["$(touch".into(), format!("{p})")],
        ),
        (
            format!("`touch {p}`"),
            vec!["`touch".into(), format!("{p}`")],
        ),
        (
            format!("x && touch {p} || touch {p} | tee {p} > {p}"),
            format!("x && touch {p} || touch {p} | tee {p} > {p}")
                .split(' ')
                .map(String::from)
                .collect(),
        ),
        (
            format!("'$(touch {p})' \"$(touch {p})\""),
            vec![
                "'$(touch".into(),
                format!("{p})'"),
                "\"$(touch".into(),
                format!("{p})\""),
            ],
        ),
        (
            "* ~ $HOME ${GITHUB_TOKEN} \\n".into(),
            ["*", "~", "$HOME", "${GITHUB_TOKEN}", "\\n"]
                .map(String::from)
                .to_vec(),
        ),
        (
            format!("  first\n$(touch {p})\tlast  "),
            vec![
                "first".into(),
                "$(touch".into(),
                format!("{p})"),
                "last".into(),
            ],
        ),
    ];
    for (args, words) in cases {
        let mut runner = Runner::new(&env, "validate");
        runner.use_test_binary = false;
        runner.var("REGENT_BIN", &bin).input("args", &args);
        let run = runner.run();
        run.assert_ok();
        assert!(!pwned.exists(), "args {args:?} ran a command");
        let received = std::fs::read_to_string(&argv).unwrap();
        let mut expected = vec!["validate".to_owned()];
        expected.extend(words);
        assert_eq!(
            received.lines().collect::<Vec<_>>(),
            expected,
            "args {args:?}"
        );
        // The echoed command line is quoted, so it cannot be read as a command either.
        assert!(
            run.step("run")
                .stdout
                .starts_with("Running: regent validate"),
            "{}",
            run.log()
        );
    }

    // And with the real binary: the words are only paths to validate.
    let mut runner = Runner::new(&env, "validate");
    runner.input("args", &format!("; touch {p} # $(touch {p}) `touch {p}`"));
    runner.run();
    assert!(!pwned.exists());
}

#[test]
fn commands_outside_the_allow_list_fail_clearly() {
    let env = registry();
    let pwned = env.root.join("pwned");
    let p = pwned.display();
    for command in [
        "init".to_owned(),
        "run".to_owned(),
        String::new(),
        format!("validate; touch {p}"),
        format!("$(touch {p})"),
        format!("`touch {p}`"),
        "validate --rev HEAD".to_owned(),
        "validate\n::warning::forged".to_owned(),
    ] {
        let runner = Runner::new(&env, &command);
        let run = runner.run();
        let failed = run.failed();
        assert_eq!((failed.id.as_str(), failed.code), ("run", 1), "{command:?}");
        let escaped = command.replace('\n', "%0A");
        assert!(
            failed.stdout.contains(&format!(
                "::error title=regent::command \"{escaped}\" is not allowed; use one of: {ALLOWED}"
            )),
            "{command:?}: {}",
            run.log()
        );
        // Nothing else was started, and no forged workflow command reached the log.
        assert!(!failed.stdout.contains("Running:"), "{}", run.log());
        assert!(
            !failed.stdout.lines().any(|l| l.starts_with("::warning")),
            "{}",
            run.log()
        );
        assert!(!pwned.exists(), "command {command:?} ran something");
    }
}

#[test]
fn the_token_reaches_regent_only_as_github_token() {
    let env = registry();
    let (bin, argv, token) = recording_regent(&env);
    let mut runner = Runner::new(&env, "check");
    runner.use_test_binary = false;
    runner
        .var("REGENT_BIN", &bin)
        .var("GITHUB_TOKEN", "from-the-job");
    let run = runner.run();
    run.assert_ok();
    // The default input is ${{ github.token }}.
    assert_eq!(std::fs::read_to_string(&token).unwrap(), TOKEN);
    assert_eq!(std::fs::read_to_string(&argv).unwrap(), "check\n");
    assert!(!run.log().contains(TOKEN), "{}", run.log());

    runner.input("token", "ghp_personal");
    runner.run().assert_ok();
    assert_eq!(std::fs::read_to_string(&token).unwrap(), "ghp_personal");
}
// ---------------------------------------------------------------------------
// The GitHub commands (their outputs come from regent itself)

#[test]
fn check_writes_ok_events_and_a_summary() {
    let env = registry();
    env.git(&["switch", "-q", "-c", "pr"]);
    env.run_ok(&["register", "m2", "--artifact", "s3://y"]);
    let mut runner = Runner::new(&env, "check");
    runner.input("args", "--base main");
    let run = runner.run();
    run.assert_ok();
    assert_eq!(run.outputs["ok"], "true");
    let events = json(&run.outputs["events"]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["event"], "register");
    assert_eq!(events[0]["model"], "m2");
    assert!(!run.step("run").summary.trim().is_empty());
}

#[test]
fn check_fails_the_step_on_a_violation_and_says_ok_false() {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    approvals: 1\n    approvers: [alice]\n",
    );
    env.commit_all("require an approval for production");
    env.run_ok(&["register", "m", "--artifact", "s3://x"]);
    env.git(&["switch", "-q", "-c", "pr"]);
    // A hand edit that moves the stage, without any approval.
    let model = env.read("models/m/model.yaml");
    assert!(!model.contains("stages:"), "{model}");
    env.write(
        "models/m/model.yaml",
        format!("{model}stages:\n  production: 1\n"),
    );
    env.commit_all("put m v1 in production");
    let mut runner = Runner::new(&env, "check");
    runner.input("args", "--base main");
    let run = runner.run();
    let failed = run.failed();
    assert_eq!(
        (failed.id.as_str(), failed.code),
        ("run", 1),
        "{}",
        run.log()
    );
    assert_eq!(failed.outputs["ok"], "false");
    assert!(!failed.summary.trim().is_empty());
}

#[test]
fn publish_writes_the_single_event_for_deploy_steps() {
    let env = registry();
    let before = env.head();
    env.run_ok(&["promote", "m", "1", "--to", "production"]);
    // As after a merge on GitHub: the commit is there, its tag is not.
    env.git(&["tag", "-d", "m#production#1"]);
    let mut runner = Runner::new(&env, "publish");
    runner.input("args", &format!("--since {before}"));
    let run = runner.run();
    run.assert_ok();
    let events = json(&run.outputs["events"]);
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(run.outputs["model"], "m");
    assert_eq!(run.outputs["version"], "1");
    assert_eq!(run.outputs["stage"], "production");
    assert_eq!(run.outputs["uri"], "s3://x");
    assert!(env.git(&["tag", "-l"]).contains("m#production#1"));
}

/// promote --pr through the action, against a mock GitHub on loopback: the
/// token input is what authenticates, and the PR's number and URL come out.
#[tokio::test]
async fn promote_pr_writes_the_pull_request_outputs() {
    use serde_json::json;
    use wiremock::matchers::{any, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let env = registry();
    let origin = env.root.join("origin.git");
    let origin = origin.to_str().unwrap();
    env.git_in(&env.root, &["init", "-q", "--bare", "-b", "main", origin]);
    env.git(&["remote", "add", "origin", origin]);
    env.git(&["push", "-q", "-u", "origin", "main"]);

    let branch = "regent/m/production/v1";
    let pull = json!({
        "url": "https://api.github.com/repos/acme/ml/pulls/12",
        "id": 1012, "number": 12, "state": "open", "locked": false,
        "title": "regent: promote m v1 to production", "body": "",
        "html_url": "https://github.com/acme/ml/pull/12",
        "user": {"login": "tester", "id": 1, "type": "User"},
        "head": {"label": format!("acme:{branch}"), "ref": branch, "sha": "abc",
                 "repo": {"full_name": "acme/ml"}},
        "base": {"label": "acme:main", "ref": "main",
                 "sha": "0000000000000000000000000000000000000000",
                 "repo": {"full_name": "acme/ml"}},
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"
    });
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/12/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unplanned request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;

    let mut runner = Runner::new(&env, "promote");
    runner
        .input("args", "m 1 --to production --pr")
        .var("GITHUB_API_URL", server.uri());
    let run = runner.run();
    run.assert_ok();
    assert_eq!(run.outputs["pr-number"], "12");
    assert_eq!(run.outputs["pr-url"], "https://github.com/acme/ml/pull/12");
    assert_eq!(
        run.outputs["stdout"],
        "#12 https://github.com/acme/ml/pull/12"
    );
    assert!(
        !run.log().contains(TOKEN),
        "the token leaked:\n{}",
        run.log()
    );
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty());
    for request in &requests {
        let auth = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            auth.ends_with(TOKEN),
            "{} {}: {auth:?}",
            request.method,
            request.url
        );
    }
    assert_eq!(
        env.git_in(&env.root.join("origin.git"), &["branch", "--list", branch])
            .trim(),
        branch
    );
}
