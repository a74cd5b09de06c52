"""Runs from 8 parallel joblib workers in one checkout all land."""


def test_eight_parallel_workers_all_land(registry, script):
    ids = script("parallel.py", registry.uri, registry.path, registry.env)
    assert len(set(ids)) == 8
    runs = {r["name"]: r for r in registry.regent("run", "list", "sweep")}
    assert sorted(runs) == [f"worker-{w}" for w in range(8)]
    for worker in range(8):
        run = registry.regent("run", "show", f"sweep/worker-{worker}")
        assert run["status"] == "finished"
        assert run["params"] == {"worker": str(worker), "lr": str(0.01 * (worker + 1))}
        assert [p["step"] for p in run["history"]["loss"]] == list(range(20))
        assert run["history"]["loss"][-1]["value"] == 1.0 / (20 + worker)
        assert run["metrics"]["accuracy"] == 0.8 + worker / 100
        assert [a["path"] for a in run["artifacts"]] == ["notes"]
        assert f"sweep_-worker-{worker}" in ids
    # Each run is its start and its end: two commits, none lost or merged.
    subjects = registry.git("log", "--format=%s").splitlines()
    assert len([s for s in subjects if "run sweep/" in s]) == 16
    assert registry.regent("validate")["ok"]
    assert registry.git("status", "--porcelain") == ""
