#!/usr/bin/env bash
# regent's quick start, end to end on a new temporary registry: no server, no network.
#
#   bash examples/quickstart.sh
#
# Builds regent (unless $REGENT names a binary), creates a Git repository in a
# temporary folder, and walks through the registry with the real commands.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${REGENT:-}" ]; then
  echo "Building regent (cargo build --release --locked): a few minutes the first time; cargo shows its progress." >&2
  cargo build --release --locked --manifest-path "$here/Cargo.toml"
  REGENT="$here/target/release/regent"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/regent-quickstart.XXXXXX")"
cd "$work"
git init --quiet -b main
git config user.name "Ada Lovelace"
git config user.email "ada@example.com"
# Who acts is git's identity (Ada here), unless --actor or REGENT_ACTOR say otherwise.
unset REGENT_ACTOR GITHUB_ACTOR

# Show each command before running it, like a transcript.
step() {
  printf '\n$ regent'
  for arg in "$@"; do
    case "$arg" in
      *[!A-Za-z0-9_./:=@,+-]*) printf " '%s'" "$arg" ;;
      *) printf ' %s' "$arg" ;;
    esac
  done
  printf '\n'
  "$REGENT" --color never "$@"
}

# An approval is recorded under the committer's own git identity: bob
# approves from his checkout, with his git identity. Here his identity is
# given to git through its environment variables, as his own config would.
as_bob() {
  printf '\n$ regent'
  printf ' %s' "$@"
  printf '    # run by bob, as bob <bob@example.com>\n'
  GIT_AUTHOR_NAME=bob GIT_AUTHOR_EMAIL=bob@example.com \
    GIT_COMMITTER_NAME=bob GIT_COMMITTER_EMAIL=bob@example.com \
    "$REGENT" --color never "$@"
}

echo "A new registry in $work"
step init --stages staging,production

# Where local artifacts are uploaded, by content: a folder here (ignored by
# Git); in real use an s3://, gs:// or az:// URI, or REGENT_ARTIFACT_ROOT.
printf 'artifacts:\n  root: .artifacts\n' >> regent.yaml
echo ".artifacts/" > .gitignore
git add regent.yaml .gitignore
git commit --quiet -m "Store artifacts in .artifacts/"

# Three training runs with different params and metrics.
cat > metrics.json <<'JSON'
{"accuracy": 0.912, "latency_p95_ms": 41.0, "loss": [0.71, 0.42, 0.30]}
JSON
echo "weights of run 1" > model-1.bin
step run log churn --name adam-lr3 --param optimizer=adam --param lr=0.001 \
  --metrics-file metrics.json --artifact model-1.bin
step run log churn --name sgd-lr2 --param optimizer=sgd --param lr=0.01 \
  --metric accuracy=0.874 --metric latency_p95_ms=35 --metric loss=0.39 \
  --artifact s3://models/churn/sgd-lr2.pkl
step run log churn --name adam-lr2 --param optimizer=adam --param lr=0.01 \
  --metric accuracy=0.931 --metric latency_p95_ms=48 --metric loss=0.27 \
  --artifact s3://models/churn/adam-lr2.pkl --tag candidate=yes

step run list churn --sort accuracy
step run list --where 'metrics.accuracy > 0.9 and params.optimizer == "adam"' --sort loss --asc
step run compare churn/adam-lr3 churn/adam-lr2
step run show churn/adam-lr2
# The stored artifact comes back by run and name, its digest verified.
step artifact get churn/adam-lr3:model-1.bin restored-model-1.bin
step validate

# Governance: production needs staging first, an accuracy of at least 0.90
# that is no worse than what runs there now, and one approval by bob.
cat > regent.yaml <<'YAML'
registry: 1
stages:
  - name: staging
  - name: production
    requires: [staging]
    approvals: 1
    approvers: [bob]
    gates:
      - {metric: accuracy, min: 0.90}
      - {metric: accuracy, max_regression: 0.01}
      - {metric: latency_p95_ms, max: 50}
artifacts:
  root: .artifacts
YAML
git commit --quiet -am "Govern the production stage"
printf '\n$ cat regent.yaml\n'; cat regent.yaml

# Register the three runs as versions 1, 2 and 3 of the model.
step register churn --artifact s3://models/churn/adam-lr3.pkl --run churn/adam-lr3
step register churn --artifact s3://models/churn/sgd-lr2.pkl --run churn/sgd-lr2
step register churn --artifact s3://models/churn/adam-lr2.pkl --run churn/adam-lr2 \
  --description "Adam, lr 0.01"

step promote churn 1 --to staging
as_bob approve churn 1 --stage production
step promote churn 1 --to production

# Version 2 fails the accuracy gate: the refusal lists every failing rule
# and changes nothing.
step promote churn 2 --to staging
as_bob approve churn 2 --stage production
printf '\n$ regent promote churn 2 --to production\n'
if "$REGENT" --color never promote churn 2 --to production; then
  echo "expected a refusal" >&2; exit 1
else
  echo "(refused, exit $?: nothing was committed)"
fi

# Version 3 is better: it goes through, then turns out bad in production.
step promote churn 3 --to staging
as_bob approve churn 3 --stage production
step promote churn 3 --to production
# An approval authorises one move: going back to v1 needs a new one.
as_bob approve churn 1 --stage production
step rollback churn --stage production

step show churn
step history churn
step resolve models:/churn/production

printf '\n$ git log --format="%%h %%s  [%%(trailers:key=Regent-Event,valueonly,separator=)]"\n'
git log --format="%h %s  [%(trailers:key=Regent-Event,valueonly,separator=)]"
printf '\n$ git tag\n'
git tag
echo
echo "Done. The registry is in $work; every change above is a commit there."
echo "Look around with: cd $work && git log --stat"
echo "It is left for you to read; remove it with: rm -rf $work"
