#!/usr/bin/env bash
# Lint the public CI's workflows (.github/workflows/*.yml), which cannot run on our machines:
#   1. against GitHub's workflow schema (check-jsonschema's vendored copy, from .venv);
#   2. every `run:` step with shellcheck, as actionlint does: `${{ ... }}` expressions become a
#      placeholder word and the script is checked as `bash -e` (GitHub's default shell on Linux).
# Fails when there is no workflow at all.
#
# Usage: scripts/check-workflows.sh   (scripts/test.sh runs it in the lint stage)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

err() { printf 'check-workflows: ERROR: %s\n' "$*" >&2; }

mapfile -t workflows < <(find .github/workflows -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
if ((${#workflows[@]} == 0)); then
    err "no workflow in .github/workflows/"
    exit 1
fi
command -v shellcheck >/dev/null 2>&1 || { err "shellcheck not found (scripts/bootstrap.sh installs it)"; exit 1; }
echo "workflows: ${workflows[*]}"

rc=0
"${VENV_DIR}/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" || rc=1

scripts_dir="$(mktemp -d)"
trap 'rm -rf "${scripts_dir}"' EXIT
"${VENV_DIR}/bin/python" - "${scripts_dir}" "${workflows[@]}" <<'PY' || rc=1
"""Write each bash/sh `run:` step of the workflows as a script file for shellcheck."""
import os
import re
import sys

import yaml

out_dir, paths = sys.argv[1], sys.argv[2:]
count = 0
for path in paths:
    with open(path, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    for job_id, job in (workflow.get("jobs") or {}).items():
        job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell")
        for index, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            shell = step.get("shell") or job_shell or "bash"
            if shell not in ("bash", "sh"):
                continue
            count += 1
            script = re.sub(r"\$\{\{.*?\}\}", "_expr_", step["run"], flags=re.S)
            where = "%s: jobs.%s.steps[%d] %s" % (path, job_id, index, step.get("name", ""))
            with open(os.path.join(out_dir, "step-%03d.%s" % (count, shell)), "w", encoding="utf-8") as f:
                f.write("#!/bin/%s\n# %s\nset -e\n%s" % (shell, where, script))
print("run steps: %d" % count)
PY

for script in "${scripts_dir}"/step-*; do
    [[ -e "${script}" ]] || continue
    if ! shellcheck --exclude=SC1091,SC2154 "${script}"; then
        err "shellcheck found issues in the run step $(sed -n '2s/^# //p' "${script}")"
        rc=1
    fi
done
exit "${rc}"
