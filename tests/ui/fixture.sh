#!/usr/bin/env bash
# A small registry for the browser tests, made with the real binary: runs with
# metric histories (one experiment large enough for two data chunks and
# several pages), two models with several versions, stage changes including a
# rollback and a hand edit, and hostile text in notes, params, tags and
# descriptions. Usage: fixture.sh REGENT DIR
set -euo pipefail
REGENT="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 HOME="$DIR" NO_COLOR=1
export GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=alice@example.com
export GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=alice@example.com
unset REGENT_ACTOR GITHUB_ACTOR
# Each step a day later, so the stage timeline has distinct times.
day=0
tick() {
  day=$((day + 1))
  local when
  when="$(date -u -d "2026-11-01 + $day days" +%Y-%m-%dT10:00:00Z)"
  export GIT_AUTHOR_DATE="$when" GIT_COMMITTER_DATE="$when" REGENT_NOW="$when"
}
r() { tick; "$REGENT" -q "$@"; }

git init -q -b main .
r init --stages staging,production
cat > regent.yaml <<'YAML'
registry: 1
stages:
  - name: staging
  - name: production
    requires: [staging]
    gates:
      - {metric: accuracy, min: 0.8}
      - {metric: accuracy, max_regression: 0.05}
    rollback: {approvals: 0}
aliases:
  champion: {approvals: 1, approvers: [alice, "@acme/ml-leads"]}
policy_owners: [alice]
YAML
tick
git commit -qam "policy: gates for production"

HOSTILE='<img src=x onerror=alert(1)>'
history() { # accuracy values... -> a metrics file with histories
  printf '{"accuracy": [%s], "loss": [%s]}\n' "$1" "$2" > metrics.json
}
history "0.5, 0.7, 0.85, 0.9" "1.0, 0.6, 0.4, 0.3"
r run log churn --name baseline --param lr=0.1 --param optimizer=sgd \
  --metrics-file metrics.json --note "$HOSTILE" --tag "team=</script><script>alert(2)</script>" \
  --start 2026-11-02T09:00:00Z --end 2026-11-02T09:42:10Z
history "0.6, 0.8, 0.9, 0.93, 0.94" "0.9, 0.5, 0.3, 0.2, 0.18"
r run log churn --name tuned --param lr=0.01 --param optimizer=adam \
  --param "comment=\"><svg onload=alert(3)>" --metrics-file metrics.json \
  --start 2026-11-03T09:00:00Z --end 2026-11-03T10:05:00Z
history "0.55, 0.75, 0.88" "1.1, 0.7, 0.45"
r run log churn --name wide --param lr=0.05 --param optimizer=adam --metrics-file metrics.json \
  --start 2026-11-04T09:00:00Z --end 2026-11-04T09:30:00Z --status failed
rm metrics.json

# A sweep large enough for two chunks of the runs table (1000 runs each).
for i in $(seq 1 1200); do
  printf '{"experiment":"sweep","name":"trial-%04d","params":{"lr":"%s","depth":"%d"},"metrics":{"accuracy":%s},"start":"2026-11-05T10:%02d:00Z","end":"2026-11-05T11:00:00Z"}\n' \
    "$i" "0.$((i % 9 + 1))" "$((i % 7 + 2))" "0.$((5000 + i * 3))" "$((i % 60))"
done > sweep.jsonl
r run log --batch sweep.jsonl
rm sweep.jsonl

digest() { printf 'sha256:%064d' "$1"; }
r register churn --artifact s3://models/churn/1.pkl --digest "$(digest 1)" --run churn/baseline \
  --description "$HOSTILE"
r register churn --artifact s3://models/churn/2.pkl --digest "$(digest 2)" --run churn/tuned
r register churn --artifact s3://models/churn/3.pkl --digest "$(digest 3)" --run churn/wide
r register fraud --artifact s3://models/fraud/1.pkl --digest "$(digest 4)" \
  --description "</script><img src=x onerror=alert(4)>"
r promote churn 1 --to staging
r promote churn 1 --to production
r promote churn 2 --to staging
r promote churn 2 --to production
r rollback churn --stage production
r alias set churn candidate 3
r promote fraud 1 --to staging
# A hand edit: churn v3 put in staging without regent.
tick
sed -i 's/^  staging: 2$/  staging: 3/' models/churn/model.yaml
git commit -qam "put v3 in staging by hand"
grep -q 'staging: 3' models/churn/model.yaml
r describe churn "$HOSTILE"
r describe fraud "</script><img src=x onerror=alert(4)>"
