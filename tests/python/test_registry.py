"""The read side (`resolve`, `artifact_get`) and the lifecycle wrappers
(`register`, `promote`, with `pr=True` against a GitHub on loopback)."""

import dataclasses
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import regent


@pytest.fixture
def versions(registry):
    """churn v1 (from a run, in staging, alias champion) and v2 (a URI)."""
    registry.write("model.pkl", b"the weights")
    with regent.start_run("churn", name="r1") as run:
        run.log_params({"lr": 0.1})
        run.log_metric("accuracy", 0.93)
    first = regent.register("churn", "model.pkl", run=run, description="first", tags={"team": "growth"})
    assert first["event"]["version"] == 1 and first["tags"] == ["churn@v1"]
    regent.promote("churn", 1, "staging")
    registry.regent("alias", "set", "churn", "champion", "1", json=False)
    second = regent.register("churn", "s3://bucket/churn/2.pkl", digest="sha256:" + "a" * 64)
    assert second["event"]["version"] == 2
    return registry


def test_resolve_returns_a_frozen_dataclass_with_the_fields_of_resolve_json(versions):
    found = regent.resolve("models:/churn@champion")
    raw = versions.regent("resolve", "models:/churn@champion")
    # Every field of the JSON, no more: a field the binary adds fails here.
    assert {f.name for f in dataclasses.fields(found)} == set(raw)
    assert {f.name for f in dataclasses.fields(found.artifact)} == set(raw["artifact"])
    assert found == regent.Resolved(
        model="churn",
        version=1,
        stage=None,
        alias="champion",
        artifact=regent.ArtifactRef(uri=raw["artifact"]["uri"], digest=raw["artifact"]["digest"]),
        commit=raw["commit"],
        path=None,
    )
    assert found.artifact.digest == "sha256:" + hashlib.sha256(b"the weights").hexdigest()
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.version = 2
    assert regent.resolve("models:/churn/staging").stage == "staging"
    assert regent.resolve("models:/churn/latest").version == 2
    assert regent.resolve("models:/churn/2").artifact.uri == "s3://bucket/churn/2.pkl"


def test_resolve_in_the_past_and_with_download(versions, tmp_path):
    before_v2 = versions.git("rev-parse", "HEAD~1").strip()
    assert regent.resolve("models:/churn/latest", rev=before_v2).version == 1
    downloaded = regent.resolve("models:/churn/staging", download=tmp_path / "models")
    assert downloaded.path == str(tmp_path / "models" / "model.pkl")
    assert (tmp_path / "models" / "model.pkl").read_bytes() == b"the weights"


def test_resolve_failures(versions):
    with pytest.raises(regent.RegentError) as raised:
        regent.resolve("models:/churn/production")
    assert raised.value.exit_code == 1
    assert "resolves to nothing" in raised.value.message
    with pytest.raises(regent.RegentError) as raised:
        regent.resolve("models:/churn/9")
    assert raised.value.exit_code == 1
    with pytest.raises(ValueError, match="is not a model URI"):
        regent.resolve("churn/1")
    with pytest.raises(TypeError, match="uri must be a str"):
        regent.resolve(None)
    with pytest.raises(ValueError, match="rev or at"):
        regent.resolve("models:/churn/1", rev="HEAD", at="yesterday")


def test_artifact_get_by_model_uri_run_name_and_store_uri(versions, tmp_path):
    got = regent.artifact_get("models:/churn@champion", tmp_path / "a")
    assert got == regent.Download(
        source="models:/churn@champion",
        uri=got.uri,
        path=str(tmp_path / "a"),
        files=1,
        size=len(b"the weights"),
    )
    assert (tmp_path / "a").read_bytes() == b"the weights"
    with regent.start_run("churn", name="r2") as run:
        run.log_artifact("model.pkl", name="weights.pkl")
    by_run = regent.artifact_get(run, tmp_path / "b")  # a Run: its only artifact
    assert (tmp_path / "b").read_bytes() == b"the weights"
    assert by_run.uri == got.uri  # stored once, by content
    regent.artifact_get(got.uri, tmp_path / "c", registry=versions.path)
    assert (tmp_path / "c").read_bytes() == b"the weights"
    with pytest.raises(FileExistsError, match="must not"):
        regent.artifact_get("models:/churn/1", tmp_path / "a")


def test_artifact_get_refuses_tampered_bytes_and_leaves_nothing(versions, tmp_path):
    uri = regent.resolve("models:/churn/1").artifact.uri
    stored = versions.store / "sha256" / uri.rsplit("/", 1)[1][:2] / uri.rsplit("/", 1)[1]
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    with pytest.raises(regent.RegentError) as raised:
        regent.artifact_get("models:/churn/1", tmp_path / "x")
    assert raised.value.exit_code == 1
    assert "digest" in raised.value.message
    assert not (tmp_path / "x").exists()


def test_register_freezes_the_run_and_checks_its_arguments(versions, tmp_path):
    version = versions.regent("show", "churn/1")
    assert version["run"] == "churn/r1"
    assert version["metrics"] == {"accuracy": 0.93}
    assert version["description"] == "first"
    assert version["tags"] == {"team": "growth"}
    assert version["artifact"]["name"] == "model.pkl"
    with pytest.raises(ValueError, match="invalid model name"):
        regent.register("bad name", "s3://b/m")
    with pytest.raises(FileNotFoundError, match="no such file"):
        regent.register("churn", tmp_path / "missing.pkl")
    with pytest.raises(ValueError, match="run must be a Run or 'EXPERIMENT/RUN'"):
        regent.register("churn", "s3://b/m", run="r1")
    with pytest.raises(regent.RegentError) as raised:
        regent.register("churn", "s3://b/m", run="churn/nope")
    assert raised.value.exit_code == 1 and "churn/nope" in raised.value.message


def test_a_refused_promotion_raises_with_the_policys_reasons(versions):
    versions.write(
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n"
        "    requires: [staging]\n    gates:\n      - {metric: accuracy, min: 0.95}\n",
    )
    versions.commit_all("a gate on production")
    before = versions.head()
    with pytest.raises(regent.RegentError) as raised:
        regent.promote("churn", 1, "production")
    error = raised.value
    assert error.exit_code == 1
    assert "refused" in error.message and "accuracy" in error.message
    assert versions.head() == before
    with pytest.raises(ValueError, match="version must be 1 or more"):
        regent.promote("churn", 0, "production")
    with pytest.raises(ValueError, match="invalid stage 'Production'"):
        regent.promote("churn", 1, "Production")
    with pytest.raises(ValueError, match="needs pr=True"):
        regent.promote("churn", 1, "production", base="main")


class _FakeGitHub(BaseHTTPRequestHandler):
    """The four calls `promote --pr` makes, answered as GitHub does
    (tests/cli/github.rs has the same shapes); anything else is a 500."""

    requests = []

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _pull(self, body):
        head = body.get("head", "regent/churn/production/v1")
        return {
            "url": "https://api.github.com/repos/acme/ml/pulls/7", "id": 1007, "number": 7,
            "state": "open", "locked": False, "title": body.get("title", ""), "body": "",
            "html_url": "https://github.com/acme/ml/pull/7",
            "user": {"login": "tester", "id": 1, "type": "User"},
            "head": {"label": f"acme:{head}", "ref": head, "sha": "abc", "repo": {"full_name": "acme/ml"}},
            "base": {"label": "acme:main", "ref": "main", "sha": "0" * 40, "repo": {"full_name": "acme/ml"}},
            "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
        }

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        self.requests.append(("GET", self.path, None))
        if self.path.startswith("/repos/acme/ml/pulls?"):
            return self._answer(200, [])
        self._answer(500, {"message": "unplanned request"})

    def do_POST(self):
        body = self._body()
        self.requests.append(("POST", self.path, body))
        if self.path == "/repos/acme/ml/pulls":
            return self._answer(201, self._pull(body))
        if self.path == "/repos/acme/ml/issues/7/labels":
            return self._answer(200, [{"id": 1, "name": name} for name in body.get("labels", [])])
        self._answer(500, {"message": "unplanned request"})

    def do_PATCH(self):
        body = self._body()
        self.requests.append(("PATCH", self.path, body))
        if self.path == "/repos/acme/ml/pulls/7":
            return self._answer(200, self._pull(body))
        self._answer(500, {"message": "unplanned request"})

    def log_message(self, *args):
        pass


def test_promote_with_pr_opens_a_pull_request(versions, tmp_path, monkeypatch):
    origin = tmp_path / "origin.git"
    versions.git("init", "-q", "--bare", "-b", "main", origin)
    versions.git("remote", "add", "origin", origin)
    versions.git("push", "-q", "-u", "origin", "main")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitHub)
    _FakeGitHub.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("GITHUB_TOKEN", "ghs_TESTTOKEN")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/ml")
        before = versions.head()
        opened = regent.promote("churn", 1, "production", pr=True)
    finally:
        server.shutdown()
        server.server_close()
    assert opened["number"] == 7
    assert opened["url"] == "https://github.com/acme/ml/pull/7"
    assert opened["branch"] == "regent/churn/production/v1"
    assert opened["created"] is True
    assert versions.head() == before  # the checkout is untouched
    pushed = versions.git("--git-dir", origin, "rev-parse", opened["branch"]).strip()
    assert pushed == opened["commit"]
    created = [r for r in _FakeGitHub.requests if r[0] == "POST" and r[1] == "/repos/acme/ml/pulls"]
    assert len(created) == 1
    assert created[0][2]["title"] == "regent: promote churn v1 to production"
    assert created[0][2]["base"] == "main"
