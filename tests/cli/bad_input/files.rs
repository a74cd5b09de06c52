//! Bad registry files: each is reported by `validate` at its place, nothing panics.

use super::*;

// ---------------------------------------------------------------------------
// validate: the baseline

/// The hand-written model the other tests break is valid as it stands.
#[test]
fn the_hand_written_fixture_validates_cleanly() {
    let env = env_with_model();
    let value = env.json(&["validate"]);
    assert_eq!(value, serde_json::json!({"ok": true, "errors": []}));
    let out = env.run(&["validate"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// validate: YAML syntax

/// An unclosed flow sequence is `file:line:column: invalid YAML …` on stdout, exit 1.
#[test]
fn a_yaml_syntax_error_is_reported_at_its_line_with_exit_1() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [1, 2\n");
    let out = env.run_err(1, &["validate"]);
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("models/m/model.yaml:3:1: invalid YAML:"),
        "{}",
        out.stdout
    );
    assert!(first.contains("flow sequence"), "{first}");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("error: 1 problem in 1 file"),
        "{}",
        out.stderr
    );
    let p = only_problem(&env);
    assert_at(&p, "models/m/model.yaml", 3, Some(1), &["invalid YAML"]);
}

/// A tab used for indentation is a syntax error at the tab.
#[test]
fn tabs_for_indentation_are_reported_at_the_tab() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n\tstaging: 1\n");
    let p = only_problem(&env);
    assert_at(&p, "models/m/model.yaml", 3, Some(1), &["invalid YAML"]);
}

// ---------------------------------------------------------------------------
// validate: schema

/// A string where the version schema wants an integer points at the value.
#[test]
fn a_wrong_type_in_a_version_file_points_at_the_value() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: \"three\"\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        2,
        Some(10),
        &["\"three\"", "integer"],
    );
}

/// A word where regent.yaml wants a number of approvals points at the value.
#[test]
fn a_wrong_type_in_regent_yaml_points_at_the_value() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n    approvals: many\n  - name: production\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 4, Some(16), &["\"many\"", "integer"]);
}

/// A misspelt top-level key is refused at the key, with the `x-` escape hatch named.
#[test]
fn an_unknown_key_is_reported_at_the_key() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\nstagse:\n  - name: qa\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "regent.yaml",
        5,
        Some(1),
        &["unknown key `stagse`", "x-"],
    );
}

/// A misspelt key inside a list item is refused at that key.
#[test]
fn a_nested_unknown_key_is_reported_at_the_key() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    aprovals: 2\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 5, Some(5), &["unknown key `aprovals`"]);
}

/// A key given twice is reported at its second occurrence.
#[test]
fn a_duplicate_key_is_reported_at_its_second_occurrence() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\nregistry: 1\n",
    );
    let p = only_problem(&env);
    assert_at(&p, "regent.yaml", 5, Some(1), &["duplicate key `registry`"]);
}

/// A key given twice inside a nested mapping is reported at its second occurrence.
#[test]
fn a_nested_duplicate_key_is_reported_at_its_second_occurrence() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        "name: m\nstages:\n  staging: 1\naliases:\n  staging: 1\n  champion: 1\n  staging: 1\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        7,
        Some(3),
        &["duplicate key `staging`"],
    );
}

/// A whole number written as `1.0` passes the schema's `integer`; its error must still have a place.
#[test]
fn an_integral_float_version_is_reported_at_its_line() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: 1.0\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(&p, "models/m/versions/1.yaml", 2, Some(10), &["1.0"]);
}

/// `.nan` and `-.inf` metrics cannot be JSON: refused at the value.
#[test]
fn nan_and_infinite_metrics_are_reported_at_the_value() {
    let env = env_with_model();
    env.write("experiments/e/45/r.yaml", run_yaml("e", "r", "{acc: .nan}"));
    env.write(
        "experiments/e/db/r2.yaml",
        run_yaml("e", "r2", "\n  loss: 0.5\n  acc: -.inf"),
    );
    let all = problems(&env);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/45/r.yaml",
        6,
        Some(16),
        &["NaN", "not a finite number"],
    );
    assert_at(
        &all[1],
        "experiments/e/db/r2.yaml",
        8,
        Some(8),
        &["inf", "not a finite number"],
    );
}

// ---------------------------------------------------------------------------
// validate: bytes and sizes

/// A byte that is not UTF-8 is reported at its line and column, naming the byte.
#[test]
fn non_utf8_bytes_are_reported_at_the_bad_byte() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        b"name: m\ndescription: \"caf\xe9\"\n".as_slice(),
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        2,
        Some(18),
        &["not valid UTF-8", "0xe9"],
    );
}

/// A billion-laughs alias bomb ends quickly, in bounded memory, with a
/// message about aliases at the alias whose expansion passes the limit.
#[test]
fn an_alias_bomb_is_refused_quickly_in_bounded_memory() {
    let env = env_with_model();
    env.write("models/m/model.yaml", format!("name: m\n{}", alias_bomb()));
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    // x-f's third `*e` (66,430 nodes each) brings the count past 250,000.
    assert_at(&all[0], "models/m/model.yaml", 7, Some(18), &["alias bomb"]);
}

/// 10,000 levels of flow or block nesting are "too deep", with no stack overflow.
#[test]
fn ten_thousand_levels_of_nesting_are_too_deep_not_a_crash() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        format!("name: m\nx-deep: {}\n", "[".repeat(10_000)),
    );
    env.write(
        "experiments/e/74/deep.yaml",
        format!("{}x\n", "- ".repeat(10_000)),
    );
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/74/deep.yaml",
        1,
        None,
        &["too deep"],
    );
    assert_at(&all[1], "models/m/model.yaml", 2, None, &["too deep"]);
}

/// A 100 MB file in the working tree is refused as too large without being read.
#[test]
fn a_huge_file_in_the_working_tree_is_refused_unread() {
    let env = env_with_model();
    sparse_file(
        &env.repo.join("experiments/e/2a/big.yaml"),
        b"name: big\nexperiment: e\n",
        100 * 1024 * 1024,
    );
    let head = env.head();
    let out = run_bounded(&env, &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/2a/big.yaml",
        1,
        Some(1),
        &["100.0 MiB", "16 MiB"],
    );
    assert_eq!(env.head(), head);
}

/// A 100 MB blob in a commit is refused as too large by `validate --rev` without being read.
#[test]
fn a_huge_committed_file_is_refused_unread_at_a_revision() {
    let env = env_with_model();
    sparse_file(
        &env.repo.join("experiments/e/2a/big.yaml"),
        b"name: big\nexperiment: e\n",
        100 * 1024 * 1024,
    );
    env.commit_all("a huge run file");
    std::fs::remove_file(env.repo.join("experiments/e/2a/big.yaml")).unwrap();
    // The working tree is fine now; HEAD is not.
    env.run_ok(&["validate"]);
    let out = run_bounded(&env, &["validate", "--json", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/2a/big.yaml",
        1,
        Some(1),
        &["100.0 MiB", "16 MiB"],
    );
}

// ---------------------------------------------------------------------------
// validate: files in the wrong place

/// A zero-padded version file, a stray file in a model folder, a nested run,
/// a run outside its shard folder and one in a flat experiment folder are each refused.
#[test]
fn misplaced_and_misnamed_files_are_each_reported() {
    let env = env_with_model();
    env.write("models/m/versions/07.yaml", version_yaml("m", 7, ""));
    env.write("models/m/notes.txt", "remember to retrain\n");
    env.write(
        "experiments/e/45/sub/r.yaml",
        run_yaml("e", "r", "{acc: 0.5}"),
    );
    env.write(
        "experiments/e/flat.yaml",
        run_yaml("e", "flat", "{acc: 0.5}"),
    );
    env.write("experiments/e/00/r.yaml", run_yaml("e", "r", "{acc: 0.5}"));
    let all = problems(&env);
    assert_eq!(all.len(), 5, "{all:#?}");
    assert_at(
        &all[0],
        "experiments/e/00/r.yaml",
        1,
        Some(1),
        &["run `r` belongs in experiments/e/45/r.yaml", "SHA-256"],
    );
    assert_at(
        &all[1],
        "experiments/e/45/sub/r.yaml",
        1,
        Some(1),
        &["experiments/<experiment>/<shard>/<run>.yaml"],
    );
    assert_at(
        &all[2],
        "experiments/e/flat.yaml",
        1,
        Some(1),
        &["move this file to experiments/e/5d/flat.yaml"],
    );
    assert_at(
        &all[3],
        "models/m/notes.txt",
        1,
        Some(1),
        &["unexpected file"],
    );
    assert_at(
        &all[4],
        "models/m/versions/07.yaml",
        1,
        Some(1),
        &["\"07.yaml\"", "<n>.yaml"],
    );
}

// ---------------------------------------------------------------------------
// validate: rules across files

/// A version file whose `version:` is not its file name is refused at the value.
#[test]
fn a_version_number_that_differs_from_its_file_name_is_reported() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: 2\n");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        2,
        Some(10),
        &["version 2 is stored in 1.yaml"],
    );
}

/// A stage pointer to a stage regent.yaml does not declare is refused at the stage.
#[test]
fn a_pointer_to_an_undeclared_stage_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n  qa: 1\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(3),
        &["`qa` is not a stage declared in regent.yaml"],
    );
}

/// A stage pointer to a version that does not exist is refused at the number.
#[test]
fn a_stage_pointer_to_a_missing_version_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages:\n  staging: 4\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(12),
        &["stage `staging` points at version 4, which does not exist"],
    );
}

/// An alias to a version that does not exist is refused at the number.
#[test]
fn an_alias_to_a_missing_version_is_reported() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\naliases:\n  champion: 9\n");
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        3,
        Some(13),
        &["alias `champion` points at version 9, which does not exist"],
    );
}

/// A version made from a run that was never logged is refused at `run`.
#[test]
fn a_version_from_a_missing_run_is_reported() {
    let env = env_with_model();
    env.write(
        "models/m/versions/1.yaml",
        version_yaml("m", 1, "run: e/ghost\n"),
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        8,
        Some(6),
        &["run `e/ghost` does not exist"],
    );
}

/// Versions 1 and 3 without 2 are refused, naming the gap.
#[test]
fn versions_with_a_gap_are_reported() {
    let env = env_with_model();
    env.write("models/m/versions/3.yaml", version_yaml("m", 3, ""));
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/3.yaml",
        1,
        Some(1),
        &["1..3 without gaps", "missing: 2"],
    );
}

/// A digest that is not `sha256:<64 hex>` is refused at the value.
#[test]
fn a_malformed_digest_is_reported_at_the_value() {
    let env = env_with_model();
    let text = version_yaml("m", 1, "").replace(DIGEST, "sha256:XYZ");
    env.write("models/m/versions/1.yaml", text);
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/versions/1.yaml",
        7,
        Some(11),
        &[
            "\"sha256:XYZ\" is not a digest",
            "64 lowercase hexadecimal digits",
        ],
    );
}

/// A model.yaml whose name is not its folder's is refused at the name.
#[test]
fn a_model_name_that_differs_from_its_folder_is_reported() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        "name: other\nstages:\n  staging: 1\n",
    );
    let p = only_problem(&env);
    assert_at(
        &p,
        "models/m/model.yaml",
        1,
        Some(7),
        &["`other` does not match its folder models/m/"],
    );
}

// ---------------------------------------------------------------------------
// validate: reporting

/// Problems in six files are all reported in one run, sorted, and counted on stderr.
#[test]
fn every_problem_of_every_file_is_reported_in_one_run() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let text = version_yaml("m", 1, "").replace("version: 1\n", "version: \"three\"\n");
    env.write("models/m/versions/1.yaml", text);
    env.write("models/m/versions/3.yaml", version_yaml("m", 3, ""));
    env.write("models/m/notes.txt", "x\n");
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\nstagse: []\n",
    );
    env.write(
        "experiments/e/9b/nan.yaml",
        run_yaml("e", "nan", "{acc: .nan}"),
    );
    let all = problems(&env);
    let places: Vec<(&str, u64)> = all.iter().map(|p| (p.file.as_str(), p.line)).collect();
    assert_eq!(
        places,
        [
            ("experiments/e/9b/nan.yaml", 6),
            ("models/m/model.yaml", 3),
            ("models/m/notes.txt", 1),
            ("models/m/versions/1.yaml", 2),
            ("models/m/versions/3.yaml", 1),
            ("regent.yaml", 4),
        ],
        "{all:#?}"
    );
    let out = env.run_err(1, &["validate"]);
    assert_eq!(out.stdout.lines().count(), 6, "{}", out.stdout);
    assert!(
        out.stderr.contains("error: 6 problems in 6 files"),
        "{}",
        out.stderr
    );
}

/// In GitHub Actions each problem is also an escaped `::error file=…,line=…,col=…::` annotation.
#[test]
fn github_actions_get_one_escaped_annotation_per_problem() {
    let env = env_with_model();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n\"a\\nb\": 1\n",
    );
    env.write(
        "experiments/e/1e/a,b.yaml",
        run_yaml("e", "a,b", "{acc: 0.5}"),
    );

    let plain = env.run_err(1, &["validate"]);
    assert!(!plain.stdout.contains("::error"), "{}", plain.stdout);

    let out = run_with_env(&env, &[("GITHUB_ACTIONS", "true")], &["validate"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    assert!(
        annotations[0].starts_with(
            "::error file=experiments/e/1e/a%2Cb.yaml,line=1,col=1::invalid run name \"a,b\""
        ),
        "{}",
        annotations[0]
    );
    assert!(
        annotations[1].starts_with("::error file=regent.yaml,line=5,col=1::unknown key `a%0Ab`"),
        "{}",
        annotations[1]
    );
    // The human lines come first, unchanged.
    assert!(
        out.stdout
            .starts_with("experiments/e/1e/a,b.yaml:1:1: invalid run name"),
        "{}",
        out.stdout
    );
}

/// `--json` output stays one JSON document in GitHub Actions.
#[test]
fn json_output_stays_parseable_in_github_actions() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let out = run_with_env(&env, &[("GITHUB_ACTIONS", "true")], &["validate", "--json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = parse_problems(&out.stdout);
    assert_eq!(all.len(), 1);
}

/// Files are named relative to the repository root when the registry is a subfolder.
#[test]
fn problems_name_files_relative_to_the_repository_root() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.repo.join("ml")).unwrap();
    env.run_ok(&["-C", "ml", "init"]);
    env.write("ml/regent.yaml", "registry: 1\nstages: [\n");
    let out = env.run_err(1, &["-C", "ml", "validate"]);
    assert!(
        out.stdout.starts_with("ml/regent.yaml:3:1: invalid YAML"),
        "{}",
        out.stdout
    );
    let out = env
        .regent_in(&env.repo.join("ml"))
        .args(["validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ml/regent.yaml:3:1:"));
}

/// `validate --rev` judges the commit even when the working tree has been fixed.
#[test]
fn validate_rev_checks_the_committed_file_not_the_fixed_working_tree() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    env.commit_all("break the model");
    env.write("models/m/model.yaml", "name: m\n");
    env.run_ok(&["validate"]);
    let all = problems_with(&env, &["--rev", "HEAD"]);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "models/m/model.yaml",
        3,
        Some(1),
        &["invalid YAML"],
    );
    // The older, valid commit is still valid.
    env.run_ok(&["validate", "--rev", "HEAD~1"]);
}

/// Without `--rev`, `validate` judges the working tree, not HEAD.
#[test]
fn validate_checks_the_working_tree_by_default() {
    let env = env_with_model();
    env.write("models/m/model.yaml", "name: m\nstages: [\n");
    let all = problems(&env);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_at(
        &all[0],
        "models/m/model.yaml",
        3,
        Some(1),
        &["invalid YAML"],
    );
    env.run_ok(&["validate", "--rev", "HEAD"]);
}
