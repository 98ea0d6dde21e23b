#!/usr/bin/env bash
# The whole test suite (`make test`), or some of its stages (`scripts/test.sh sanity units`).
#
# Stages: bootstrap sanity units lint integration molecule (default: all, in that order).
# bootstrap always runs first. Each stage is timed; the last line is `N passed, N failed`
# (stages), and the exit status is non-zero when any stage failed. A stage never passes by
# doing nothing: no unit tests, no integration target run, or a lab that will not come up
# are failures.
#
# Environment:
#   LVS_DR_KEEP_LAB=1   leave the lab VM running at the end even if this script started it
#   LVS_DR_TEST_ARGS    extra arguments for every ansible-test call (e.g. "-v")
#   LVS_DR_INTEGRATION_TARGETS  integration targets to run (default: all of them)
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}" || exit 2
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

all_stages=(bootstrap sanity units lint integration molecule)
PYVER=3.11
LAB="${repo_root}/lab/lab"
read -r -a extra_test_args <<<"${LVS_DR_TEST_ARGS:-}"

say() { printf '\n==> %s\n' "$*"; }
err() { printf 'ERROR: %s\n' "$*" >&2; }

# Run a command of the venv, with the lvs.dr collection on the collections path.
in_venv() {
    env PATH="${VENV_DIR}/bin:${PATH}" ANSIBLE_COLLECTIONS_PATH="${LVS_DR_COLLECTIONS}" "$@"
}

ansible_test() {
    "${repo_root}/scripts/ansible-test.sh" "$@" --color no "${extra_test_args[@]}"
}

# --- stages ------------------------------------------------------------------
stage_bootstrap() {
    "${repo_root}/scripts/bootstrap.sh" >/dev/null
}

stage_sanity() {
    ansible_test sanity --venv --python "${PYVER}"
}

stage_units() {
    local n
    n="$(find tests/unit -name 'test_*.py' -type f 2>/dev/null | wc -l)"
    if ((n == 0)); then
        err "no unit tests (tests/unit/**/test_*.py) found"
        return 1
    fi
    echo "unit test files: ${n}"
    ansible_test units --venv --python "${PYVER}"
}

stage_lint() {
    in_venv ansible-lint --version
    in_venv ansible-lint
}

lab_started_here=0
lab_up() {
    [[ -x "${LAB}" ]] || { err "lab/lab not found or not executable"; return 1; }
    if [[ -z "${_lab_checked:-}" ]]; then
        _lab_checked=1
        "${LAB}" status >/dev/null 2>&1 || lab_started_here=1
    fi
    "${LAB}" up || { err "lab/lab up failed: the lab VM is required"; return 1; }
}

lab_down_if_ours() {
    if ((lab_started_here)) && [[ "${LVS_DR_KEEP_LAB:-0}" != 1 ]]; then
        say "stopping the lab VM (started by this run; LVS_DR_KEEP_LAB=1 keeps it)"
        "${LAB}" down || err "lab/lab down failed"
    fi
}

stage_integration() {
    local targets inv host_json user host port key python tmp log ran
    targets="$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)"
    if ((targets == 0)); then
        err "no integration targets in tests/integration/targets/"
        return 1
    fi
    lab_up || return 1

    tmp="${repo_root}/tests/output/.tmp"
    mkdir -p "${tmp}"
    inv="${tmp}/lab-inventory.ini"
    "${LAB}" inventory >"${inv}" || { err "lab/lab inventory failed"; return 1; }
    host_json="$("${VENV_DIR}/bin/ansible-inventory" -i "${inv}" --host lvs-lab)" \
        || { err "host lvs-lab not found in lab/lab inventory"; return 1; }
    read -r user host port key python < <("${VENV_DIR}/bin/python" -c '
import json, sys
h = json.load(sys.stdin)
print(h.get("ansible_user", "root"), h["ansible_host"], h.get("ansible_port", 22),
      h["ansible_ssh_private_key_file"], h.get("ansible_python_interpreter", "/usr/bin/python3"))
' <<<"${host_json}") || { err "cannot read connection details for lvs-lab"; return 1; }

    # ansible-test's ssh target uses its own key pair, looked up first in tests/output/.tmp/.
    install -m 0600 "${key}" "${tmp}/id_rsa"
    ssh-keygen -y -f "${tmp}/id_rsa" >"${tmp}/id_rsa.pub"


    local -a targets_wanted
    read -r -a targets_wanted <<<"${LVS_DR_INTEGRATION_TARGETS:-}"
    log="${tmp}/integration.log"
    ansible_test integration \
        --controller "origin:python=venv/${PYVER}" \
        --target "ssh:${user}@${host}:${port},python=${PYVER}@${python}" \
        --allow-destructive --continue-on-error \
        "${targets_wanted[@]}" \
        2>&1 | tee "${log}"
    local rc=${PIPESTATUS[0]}

    # tests/integration/integration.cfg: pipelining, ControlPersist masters in this directory.
    local sock
    for sock in /tmp/lvs-dr-ansible-cp/*; do
        [[ -S "${sock}" ]] && ssh -o ControlPath="${sock}" -O exit lvs-lab >/dev/null 2>&1
    done

    # ansible-test writes the inventory it generated for the ssh target into the tree.
    rm -f tests/integration/inventory

    ran="$(grep -c '^Running .* integration test role' "${log}")"
    echo "integration targets run: ${ran}"
    if ((rc == 0 && ran == 0)); then
        err "ansible-test integration ran no target"
        return 1
    fi
    return "${rc}"
}

stage_molecule() {
    if [[ ! -f molecule/default/molecule.yml ]]; then
        err "molecule/default/molecule.yml not found"
        return 1
    fi
    lab_up || return 1
    local lab_env
    lab_env="$("${LAB}" env)" || { err "lab/lab env failed"; return 1; }
    (
        eval "${lab_env}"
        in_venv molecule test
    )
}

# --- driver ------------------------------------------------------------------
if (($#)); then
    stages=(bootstrap)
    for s in "$@"; do
        if [[ " ${all_stages[*]} " != *" ${s} "* ]]; then
            err "unknown stage '${s}' (choose from: ${all_stages[*]})"
            exit 2
        fi
        [[ "${s}" == bootstrap ]] || stages+=("${s}")
    done
else
    stages=("${all_stages[@]}")
fi

trap lab_down_if_ours EXIT

declare -A result duration
passed=0
failed=0
for s in "${stages[@]}"; do
    if [[ "${s}" != bootstrap && "${result[bootstrap]:-}" == FAIL ]]; then
        result[${s}]=FAIL
        duration[${s}]=0
        failed=$((failed + 1))
        continue
    fi
    say "stage ${s}"
    start=${SECONDS}
    "stage_${s}" </dev/null  # CI has no usable stdin; ansible refuses non-blocking ones
    rc=$?
    duration[${s}]=$((SECONDS - start))
    if ((rc == 0)); then
        result[${s}]=PASS
        passed=$((passed + 1))
    else
        result[${s}]=FAIL
        failed=$((failed + 1))
    fi
    say "stage ${s}: ${result[${s}]} (${duration[${s}]}s)"
done

lab_down_if_ours
trap - EXIT

printf '\n%-12s %-6s %s\n' STAGE RESULT SECONDS
for s in "${stages[@]}"; do
    printf '%-12s %-6s %s\n' "${s}" "${result[${s}]}" "${duration[${s}]}"
done
echo
echo "${passed} passed, ${failed} failed"
((failed == 0))
