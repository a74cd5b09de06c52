//! Symbolic links and files in the wrong shape.

use super::*;

// ---------------------------------------------------------------------------
// Symbolic links and files in the wrong shape

/// A symlink to a folder or file outside the registry, in the working tree:
/// never followed; `validate` names it and `register` refuses to build on it.
#[cfg(unix)]
#[test]
fn symlinks_in_the_working_tree_are_never_followed() {
    use std::os::unix::fs::symlink;
    let outside = |env: &TestEnv| {
        let dir = env.root.join("outside");
        std::fs::create_dir_all(dir.join("evil/versions")).unwrap();
        std::fs::write(dir.join("evil/model.yaml"), "name: evil\n").unwrap();
        std::fs::write(
            dir.join("evil/versions/1.yaml"),
            version_yaml("evil", 1, ""),
        )
        .unwrap();
        std::fs::write(dir.join("secret.yaml"), "password: hunter2\n").unwrap();
        dir
    };
    let link_message = "registry files must be";

    // A model folder that is a link.
    let env = env_with_model();
    let dir = outside(&env);
    symlink(dir.join("evil"), env.repo.join("models/evil")).unwrap();
    assert_outcome(
        &env,
        "linked model folder",
        &["validate"],
        1,
        &["models/evil:1:1", link_message],
    );
    assert_outcome(
        &env,
        "linked model folder",
        &["register", "evil", "--artifact", "s3://x/1"],
        1,
        &["uncommitted changes", "models/evil"],
    );

    // A version file that is a link to a file outside.
    let env = env_with_model();
    let dir = outside(&env);
    symlink(
        dir.join("evil/versions/1.yaml"),
        env.repo.join("models/m/versions/2.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked version file",
        &["validate"],
        1,
        &["models/m/versions/2.yaml:1:1", link_message],
    );

    // A run file linked to a secret: its content never shows.
    let env = env_with_model();
    let dir = outside(&env);
    std::fs::create_dir_all(env.repo.join("experiments/e/5f")).unwrap();
    symlink(
        dir.join("secret.yaml"),
        env.repo.join("experiments/e/5f/leak.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked run file",
        &["validate"],
        1,
        &["experiments/e/5f/leak.yaml:1:1", link_message],
    );
    let out = run_hostile(&env, &[], &["validate"]);
    assert!(
        !out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"),
        "{out:?}"
    );

    // The whole models/ folder is a link.
    let env = env_with_model();
    std::fs::rename(env.repo.join("models"), env.root.join("models-elsewhere")).unwrap();
    symlink(env.root.join("models-elsewhere"), env.repo.join("models")).unwrap();
    assert_outcome(
        &env,
        "linked models/",
        &["validate"],
        1,
        &["models:1:1", link_message],
    );

    // regent.yaml itself is a link: one problem, not two.
    let env = env_with_model();
    std::fs::rename(
        env.repo.join("regent.yaml"),
        env.root.join("regent-elsewhere.yaml"),
    )
    .unwrap();
    symlink(
        env.root.join("regent-elsewhere.yaml"),
        env.repo.join("regent.yaml"),
    )
    .unwrap();
    assert_outcome(
        &env,
        "linked regent.yaml",
        &["validate"],
        1,
        &["regent.yaml:1:1", link_message, "1 problem in 1 file"],
    );
}

/// Symlinks committed as Git blobs (mode 120000): their target text is never
/// read as YAML nor followed, whether by `validate --rev`, `show` or `resolve`.
#[cfg(unix)]
#[test]
fn committed_symlinks_are_reported_not_followed() {
    use std::os::unix::fs::symlink;
    let env = env_with_model();
    std::fs::write(env.root.join("secret.yaml"), "password: hunter2\n").unwrap();
    std::fs::create_dir_all(env.repo.join("experiments/e/5f")).unwrap();
    symlink(
        env.root.join("secret.yaml"),
        env.repo.join("experiments/e/5f/leak.yaml"),
    )
    .unwrap();
    symlink(
        "../../../../etc/passwd",
        env.repo.join("models/m/versions/2.yaml"),
    )
    .unwrap();
    env.commit_all("links");
    let says_link = "a symbolic link; registry files must be regular files";
    assert_outcome(
        &env,
        "committed links",
        &["validate", "--rev", "HEAD"],
        1,
        &[
            "experiments/e/5f/leak.yaml:1:1: not a regular file",
            "models/m/versions/2.yaml:1:1: not a regular file",
        ],
    );
    assert_outcome(
        &env,
        "committed link",
        &["show", "m/2"],
        2,
        &["models/m/versions/2.yaml:1:1", says_link],
    );
    assert_outcome(
        &env,
        "committed link",
        &["resolve", "models:/m/latest"],
        2,
        &["models/m/versions/2.yaml:1:1"],
    );
    assert_outcome(
        &env,
        "committed link",
        &["run", "show", "e/leak"],
        2,
        &["experiments/e/5f/leak.yaml:1:1", says_link],
    );
    let out = run_hostile(&env, &[], &["run", "show", "e/leak"]);
    assert!(
        !out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"),
        "{out:?}"
    );
}

/// A folder where a file belongs, and a file where a folder belongs.
#[test]
fn files_and_folders_in_each_others_place_are_named() {
    let env = env_with_model();
    std::fs::remove_file(env.repo.join("models/m/model.yaml")).unwrap();
    env.write("models/m/model.yaml/inside.yaml", "name: m\n");
    assert_outcome(
        &env,
        "model.yaml is a folder",
        &["validate"],
        1,
        &["models/m/model.yaml:1:1: a folder where model.yaml must be a file"],
    );

    let env = env_with_model();
    std::fs::remove_dir_all(env.repo.join("models/m/versions")).unwrap();
    env.write("models/m/versions", "1\n");
    assert_outcome(
        &env,
        "versions is a file",
        &["validate"],
        1,
        &["models/m/versions:1:1", "unexpected file"],
    );

    let env = env_with_model();
    std::fs::remove_dir_all(env.repo.join("experiments")).unwrap();
    env.write("experiments", "runs\n");
    assert_outcome(
        &env,
        "experiments is a file",
        &["validate"],
        1,
        &["experiments:1:1: a file where the experiments/ folder belongs"],
    );

    let env = env_with_model();
    std::fs::remove_file(env.repo.join("regent.yaml")).unwrap();
    env.write("regent.yaml/inside.yaml", "registry: 1\n");
    assert_outcome(
        &env,
        "regent.yaml is a folder",
        &["validate"],
        2,
        &["regent.yaml: it is a folder; a registry's regent.yaml must be a file"],
    );
}
