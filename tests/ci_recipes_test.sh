#!/usr/bin/env bash
# The CI recipes in examples/ci (a repository's layout: our nginx config as a profile, its
# baseline, a GitHub Actions workflow and a GitLab pipeline) are checked against the structure each
# CI requires — not only that they parse — and their upfault commands run as written, from a copy
# of that repository, with this build's upfault on PATH: the run is green against the baseline
# (exit 0), the JUnit file validates against the JUnit schema, the summary says nothing changed;
# the GitLab shards merge into the same. The steps that install and build upfault (apt-get, git,
# cmake) are the package's and the README's, tested elsewhere.
# The README shows both files whole: its copies must be the files.
# Usage: ci_recipes_test.sh UPFAULT EXAMPLE_DIR JUNIT_XSD [README]
set -euo pipefail
upfault=$(realpath "$1") example=$(realpath "$2") xsd=$(realpath "$3") readme=${4:-}
fail() { echo "FAIL: $*"; exit 1; }
command -v nginx > /dev/null || fail "nginx is not installed (scripts/install-deps.sh installs it)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin" && ln -s "$upfault" "$work/bin/upfault"
export PATH="$work/bin:$PATH"

# 1. Structure. Prints each job's upfault commands: "github<TAB>JOB<TAB>CMD" / "gitlab<TAB>JOB<TAB>PARALLEL<TAB>CMD".
python3 - "$example" > "$work/commands" <<'PY'
import re, sys, yaml
root = sys.argv[1]
bad = []
def check(cond, what):
    if not cond: bad.append(what)

gh = yaml.safe_load(open(f"{root}/.github/workflows/upfault.yml"))
triggers = gh.get("on", gh.get(True))  # YAML 1.1 reads a bare `on` as true
check(isinstance(triggers, dict) and triggers, "GitHub: no `on:` triggers")
jobs = gh.get("jobs") or {}
check(jobs, "GitHub: no jobs")
uploaded = {}
for name, job in jobs.items():
    check(isinstance(job.get("runs-on"), str), f"GitHub: job {name} has no runs-on")
    needs = job.get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    for n in needs: check(n in jobs, f"GitHub: job {name} needs {n}, which is not a job")
    steps = job.get("steps")
    check(isinstance(steps, list) and steps, f"GitHub: job {name} has no steps")
    for step in steps or []:
        check(("run" in step) != ("uses" in step), f"GitHub: a step of {name} must have exactly one of run, uses: {step}")
        if "uses" in step:
            check(re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]) is not None, f"GitHub: unpinned action {step['uses']}")
            if step["uses"].startswith("actions/upload-artifact"): uploaded[step["with"]["name"]] = name
            if step["uses"].startswith("actions/download-artifact"):
                art = step["with"]["name"]
                check(art in uploaded and uploaded[art] in needs, f"GitHub: {name} downloads {art}, which no job it needs uploads")
        for line in str(step.get("run", "")).splitlines():
            if line.strip().startswith("upfault "): print(f"github\t{name}\t{line.strip()}")
text = open(f"{root}/.github/workflows/upfault.yml").read()
for var in set(re.findall(r"\$\{\{ vars\.(\w+) \}\}", text)):
    check(text.count(var) > text.count("vars." + var), f"GitHub: the variable {var} is not explained in the comments")
check("GITHUB_STEP_SUMMARY" in text, "GitHub: the summary does not reach the job's step summary")

gl = yaml.safe_load(open(f"{root}/.gitlab-ci.yml"))
stages = gl.get("stages", [])
check(isinstance(stages, list) and stages, "GitLab: no stages")
reserved = {"stages", "variables", "default", "include", "workflow", "image", "services", "cache", "before_script", "after_script"}
gjobs = {k: v for k, v in gl.items() if k not in reserved and not k.startswith(".")}
builds = 0
for name, job in gjobs.items():
    check(job.get("stage") in stages, f"GitLab: job {name}'s stage is not in stages")
    script = job.get("script")
    check(isinstance(script, list) and all(isinstance(s, str) for s in script), f"GitLab: job {name}'s script is not a list of commands")
    for n in job.get("needs", []):
        check(n in gjobs and stages.index(gjobs[n]["stage"]) < stages.index(job["stage"]),
              f"GitLab: {name} needs {n}, which is not a job of an earlier stage")
    par = job.get("parallel", 1)
    check(isinstance(par, int) and 1 <= par <= 200, f"GitLab: {name}'s parallel is not 1-200")
    builds += any("cmake --build" in s for s in script or [])
    junit = (job.get("artifacts") or {}).get("reports", {}).get("junit")
    if junit: check(any(f"--junit {junit}" in s for s in script), f"GitLab: {name} reports {junit}, which no command writes")
    for s in script or []:
        if s.strip().startswith("upfault "): print(f"gitlab\t{name}\t{par}\t{s.strip()}")
check(builds == 1, f"GitLab: upfault is built in {builds} jobs, not once")
text = open(f"{root}/.gitlab-ci.yml").read()
check("--baseline" in text and "upfault merge" in text, "GitLab: the shards are not merged against the baseline")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
grep -q '^github' "$work/commands" && grep -q '^gitlab' "$work/commands" || fail "no upfault command in the recipes"
echo "ok: both recipes have the structure their CI requires"
if [[ -n $readme ]]; then
  python3 - "$readme" "$example" <<'PY' || fail "the README's copy of a CI recipe is not the file"
import sys
readme = open(sys.argv[1]).read()
for f in (".github/workflows/upfault.yml", ".gitlab-ci.yml"):
    if "```yaml\n" + open(f"{sys.argv[2]}/{f}").read() + "```" not in readme:
        sys.exit(f"FAIL: the README does not show examples/ci/{f} as it is")
PY
  echo "ok: the README shows both files as they are"
fi

# 2. Their upfault commands, as written, in a copy of the repository.
junit_ok() { xmllint --noout --schema "$xsd" "$1" 2> "$work/xmllint.err" || { cat "$work/xmllint.err"; fail "$1 is not valid JUnit"; }; }
cp -a "$example" "$work/gh"
export GITHUB_STEP_SUMMARY=$work/step-summary.md
while IFS=$'\t' read -r _ job cmd; do
  rc=0
  (cd "$work/gh" && bash -c "$cmd") > "$work/gh.out" 2>&1 || rc=$?
  [[ $rc == 0 ]] || { tail -20 "$work/gh.out"; fail "GitHub job $job: '$cmd' exited $rc, not 0 (green against the baseline; after a change to the corpus, record examples/ci/ci/upfault/baseline.json again: upfault run --proxy examples/ci/ci/upfault/profile.toml --write-baseline examples/ci/ci/upfault/baseline.json)"; }
done < <(grep '^github' "$work/commands")
junit_ok "$work/gh/upfault.xml"
grep -q '<failure' "$work/gh/upfault.xml" && fail "GitHub: a green run's JUnit file has a <failure>"
grep -qi 'no change' "$work/gh/summary.md" || { head "$work/gh/summary.md"; fail "GitHub: the summary does not say nothing changed"; }
echo "ok: the GitHub workflow's run is green against the baseline, its JUnit file valid"

cp -a "$example" "$work/gl"
while IFS=$'\t' read -r _ job parallel cmd; do
  for ((i = 1; i <= parallel; i++)); do
    rc=0
    (cd "$work/gl" && CI_NODE_INDEX=$i CI_NODE_TOTAL=$parallel bash -c "$cmd") > "$work/gl.out" 2>&1 || rc=$?
    [[ $rc == 0 ]] || { tail -20 "$work/gl.out"; fail "GitLab job $job (node $i of $parallel): '$cmd' exited $rc"; }
  done
done < <(grep '^gitlab' "$work/commands")
[[ $(ls "$work/gl"/shard-*.json | wc -l) == 4 ]] || fail "GitLab: the shards wrote $(ls "$work/gl"/shard-*.json | wc -l) reports, not 4"
junit_ok "$work/gl/upfault.xml"
grep -q '<failure' "$work/gl/upfault.xml" && fail "GitLab: the merged JUnit file has a <failure>"
grep -qi 'no change' "$work/gl/summary.md" || { head "$work/gl/summary.md"; fail "GitLab: the merged summary does not say nothing changed"; }
echo "ok: the GitLab pipeline's 4 shards merge green against the baseline, its JUnit file valid"
echo PASS
