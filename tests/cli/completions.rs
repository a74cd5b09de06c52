//! Shell completion through the binary: the words the shell gets at a TAB
//! (commands, and names from the registry at HEAD), the script
//! `regent completions SHELL` prints, and a real bash using it.

use crate::common::TestEnv;

/// A registry with models churn (v1, v2; staging on v2, alias champion on
/// v1) and fraud (v1), experiment churn-exp with runs r1 and r2, and the
/// policy's stages staging and production.
fn registry() -> TestEnv {
    let env = TestEnv::with_registry();
    for run in ["r1", "r2"] {
        env.run_ok(&["run", "log", "churn-exp", "--name", run, "--metric", "a=1"]);
    }
    env.run_ok(&["register", "churn", "--artifact", "s3://m/1"]);
    env.run_ok(&["register", "churn", "--artifact", "s3://m/2"]);
    env.run_ok(&["register", "fraud", "--artifact", "s3://m/3"]);
    env.run_ok(&["promote", "churn", "2", "--to", "staging"]);
    env.run_ok(&["alias", "set", "churn", "champion", "1"]);
    env
}

/// What bash gets when TAB is pressed with `words` typed, the last being
/// the word under the cursor: the candidates, flags left out.
fn complete_in(env: &TestEnv, dir: &std::path::Path, words: &[&str]) -> Vec<String> {
    let out = env
        .regent_in(dir)
        .env("REGENT_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
        .arg("--")
        .arg("regent")
        .args(words)
        .output()
        .expect("regent runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "completing {words:?}: {:?}\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|w| !w.starts_with('-') || w.contains('='))
        .map(str::to_owned)
        .collect()
}

fn complete(env: &TestEnv, words: &[&str]) -> Vec<String> {
    complete_in(env, &env.repo, words)
}

#[test]
fn names_come_from_the_registry() {
    let env = registry();
    let cases: &[(&[&str], &[&str])] = &[
        (&["promote", "ch"], &["churn"]),
        (&["promote", ""], &["churn", "fraud"]),
        (&["promote", "churn", ""], &["1", "2"]),
        (&["promote", "churn", "v"], &["v1", "v2"]),
        (&["show", "churn/v2"], &["churn/v2"]),
        (
            &["promote", "churn", "v1", "--to", ""],
            &["staging", "production"],
        ),
        (&["promote", "churn", "1", "--to=p"], &["--to=production"]),
        (&["demote", "churn", "--from", "s"], &["staging"]),
        (
            &["rollback", "churn", "--stage", "staging", "--to", ""],
            &["1", "2"],
        ),
        (&["alias", "set", "churn", ""], &["champion"]),
        (&["alias", "set", "churn", "champion", ""], &["1", "2"]),
        (&["alias", "rm", "churn", ""], &["champion"]),
        (&["approve", "fraud", ""], &["1"]),
        (
            &["approve", "churn", "2", "--stage", ""],
            &["staging", "production"],
        ),
        (&["show", "churn/"], &["churn/1", "churn/2"]),
        (&["tag", "f"], &["fraud"]),
        (&["history", "--stage", "pro"], &["production"]),
        (&["run", "log", ""], &["churn-exp"]),
        (&["run", "list", "c"], &["churn-exp"]),
        (&["run", "show", ""], &["churn-exp/"]),
        (
            &["run", "show", "churn-exp/"],
            &["churn-exp/r1", "churn-exp/r2"],
        ),
        (
            &["run", "compare", "churn-exp/r1", "churn-exp/r"],
            &["churn-exp/r1", "churn-exp/r2"],
        ),
        (
            &["register", "churn", "--run", "churn-exp/r"],
            &["churn-exp/r1", "churn-exp/r2"],
        ),
        // Commands and flags, as clap offers them.
        (&["pro"], &["promote"]),
        (&["promote", "nope", ""], &[]),
    ];
    for (words, expected) in cases {
        assert_eq!(&complete(&env, words), expected, "completing {words:?}");
    }

    // With -C, the registry is the one the line names.
    let elsewhere = env.root.join("home");
    assert_eq!(
        complete_in(
            &env,
            &elsewhere,
            &["-C", env.repo.to_str().unwrap(), "promote", "f"]
        ),
        ["fraud"]
    );
    // The registry at HEAD: an uncommitted model is not offered.
    env.write("models/draft/model.yaml", "name: draft\n");
    assert_eq!(complete(&env, &["show", "d"]), Vec::<String>::new());
}

/// Outside a registry, or outside any repository, completing offers no
/// names and prints nothing on stderr (a message would land in the middle
/// of the user's command line).
#[test]
fn outside_a_registry_completion_is_silent() {
    let no_registry = TestEnv::new();
    assert_eq!(
        complete(&no_registry, &["promote", ""]),
        Vec::<String>::new()
    );
    assert_eq!(
        complete_in(
            &no_registry,
            &no_registry.root,
            &["alias", "set", "churn", ""]
        ),
        Vec::<String>::new()
    );
    assert_eq!(complete(&no_registry, &["val"]), ["validate"]);
}

/// `regent completions SHELL` prints what `REGENT_COMPLETE=SHELL regent`
/// prints: a script calling this binary back with REGENT_COMPLETE set.
#[test]
fn the_script_calls_regent_back() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = env.run_ok(&["completions", shell]);
        let same = env.regent().env("REGENT_COMPLETE", shell).output().unwrap();
        assert!(same.status.success(), "{shell}");
        assert_eq!(script, String::from_utf8(same.stdout).unwrap(), "{shell}");
        let binary = assert_cmd::cargo::cargo_bin("regent");
        assert!(
            script.contains("REGENT_COMPLETE") && script.contains(binary.to_str().unwrap()),
            "{shell}:\n{script}"
        );
    }
    // A completion request is not taken for a command: nothing is written.
    let registry = TestEnv::with_registry();
    let before = registry.state();
    let out = registry
        .regent()
        .env("REGENT_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .args(["--", "regent", "init", ""])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(registry.state(), before);
}

/// A real bash: the script `regent completions bash` prints, sourced, fills
/// COMPREPLY from the registry when its completion function runs.
#[test]
fn bash_completes_with_the_script() {
    let env = registry();
    let script = env.root.join("tab.bash");
    std::fs::write(
        &script,
        r#"source <("$REGENT" completions bash)
tab() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _clap_complete_regent regent "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s ' "${COMPREPLY[@]}"; echo
}
tab regent promote ch
tab regent promote churn 2 --to pro
tab regent alias set churn c
"#,
    )
    .unwrap();
    let out = env.sh(&format!("bash {}", script.display()));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout, "churn \nproduction \nchampion \n",
        "{}",
        out.stderr
    );
}
