"""MLflow's logging is buffered: a handful of commits per run, not one per
value; get_run sees the buffer; a crashed process loses only what it
logged since its last commit; an unfinished run is flushed at exit; a long
history comes back whole from the artifact store."""


def run_commits(registry, run):
    subjects = registry.git("log", "--format=%s").splitlines()
    return [s for s in subjects if f"run buffered/{run}" in s]


def test_many_values_make_two_commits_and_get_run_sees_the_buffer(registry, script):
    seen = script("buffered.py", registry.uri, registry.path, registry.env, "many")
    assert seen == {
        "latest": 1.0 / 300,
        "params": {"lr": "0.1"},
        "status": "RUNNING",
        "history": 300,
        "steps": [0, 1, 2],
    }
    assert len(run_commits(registry, "many")) == 2  # start and end
    run = registry.regent("run", "show", "buffered/many")
    assert run["status"] == "finished"
    assert len(run["history"]["loss"]) == 300


def test_a_killed_process_keeps_what_it_committed(registry, script):
    done = script("buffered.py", registry.uri, registry.path, registry.env, "crash", check=False)
    assert done.returncode == -9, done.stderr
    run = registry.regent("run", "show", "buffered/crashed")
    assert run["status"] == "running"
    assert run["metrics"] == {"committed": 1.0}
    assert registry.regent("validate")["ok"]


def test_an_unfinished_run_is_flushed_at_exit(registry, script):
    out = script("buffered.py", registry.uri, registry.path, registry.env, "exit")
    assert out["run_id"] == "buffered_-left"
    run = registry.regent("run", "show", "buffered/left")
    assert run["status"] == "running"
    assert run["metrics"] == {"loss": 0.5}
    assert run["history"]["loss"][0]["step"] == 3
    assert run["params"] == {"lr": "0.2"}
    assert [a["path"] for a in run["artifacts"]] == ["left.txt"]
    fetched = registry.path.parent / "left.txt"
    registry.regent("artifact", "get", "buffered/left:left.txt", str(fetched))
    assert fetched.read_text() == "left running\n"


def test_a_fluent_run_left_open_is_ended_by_mlflow_at_exit_in_one_commit(registry, script):
    script("buffered.py", registry.uri, registry.path, registry.env, "fluent")
    run = registry.regent("run", "show", "buffered/unended")
    assert run["status"] == "finished"
    assert run["metrics"] == {"loss": 0.25}
    assert len(run_commits(registry, "unended")) == 2  # start, and the end with the buffer


def test_a_long_history_comes_back_whole(registry, script):
    out = script("buffered.py", registry.uri, registry.path, registry.env, "long")
    run = registry.regent("run", "show", "buffered/long")
    assert run["series"]["loss"]["points"] == 1500
    assert len(run["history"]["loss"]) == 1000
    history = script(
        "buffered.py", registry.uri, registry.path, registry.env, "history", out["run_id"]
    )
    assert history == [[step, step / 1500.0] for step in range(1500)]
