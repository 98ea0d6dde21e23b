#!/usr/bin/env bash
# The whole test suite (`make test`), or some of its stages (`scripts/test.sh sanity units`).
#
# Stages: bootstrap sanity units lint integration matrix ha molecule (default: all, in that order).
# bootstrap always runs first. Each stage is timed; the last line is `N passed, N failed`
# (stages), and the exit status is non-zero when any stage failed. A stage never passes by
# doing nothing: no unit tests, no integration target run, or a lab that will not come up
# are failures.
#
# Environment:
#   LVS_DR_KEEP_LAB=1   leave the lab VM running at the end even if this script started it
#   LVS_DR_TEST_ARGS    extra arguments for every ansible-test call (e.g. "-v")
#   LVS_DR_INTEGRATION_TARGETS  integration targets to run (default: all of them)
#   LVS_DR_MATRIX_CORES  ansible-core versions of the matrix stage, e.g. "2.16 2.18" (default:
#                        every tests/matrix/ansible-core-<version>.txt, the oldest of which must be
#                        meta/runtime.yml's requires_ansible)
#   LVS_DR_MATRIX_TARGET the integration target the matrix runs with the oldest of its versions
#                        (default: ipvs_realserver)
#   LVS_DR_PARALLEL=0   run every stage one after another, on the one lab, instead of one of them beside the others
#   LVS_DR_BACKGROUND_STAGE  the stage that runs beside the others: ha (the default; else molecule) or molecule
#   LVS_DR_BACKGROUND_LAB  the lab instance (LVS_DR_LAB_INSTANCE) of that stage (default: bg)
#   LVS_DR_LAB_RESTART_HUNG=0  no second run of a molecule scenario whose lab VM stopped answering (by
#                        default a VM this run started is restarted once, and the summary says so)
#
# When two or more of the lab's stages (integration matrix ha molecule) run, one of them (ha, else
# molecule) starts right after bootstrap, in the background, on a lab of its own (lab/lab's LVS_DR_LAB_INSTANCE:
# another VM over the same image), while the others run one after another: a UML VM uses one CPU, and the
# two halves take about as long. Its output goes to tests/output/<stage>-stage.log and is printed after
# the other stages. (Measured 2026-12-06, each beside the other lane: ha 1,304 s, molecule 948-958 s,
# integration about 600 s, matrix 315 s, sanity + units + lint about 100 s: ha alone is the longest stage, so it
# takes the background lane and the other stages the foreground one, about 1,950 s.)
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}" || exit 2
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

all_stages=(bootstrap sanity units lint integration matrix ha molecule)
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
    ansible_test units --venv --python "${PYVER}" || return 1
    # keepalived's own parser (tests/keepalived/check-config.sh: Debian's keepalived, fetched, never installed) on
    # the configs lvs.dr.keepalived_config renders, and on an extra line it must refuse. ansible-test drops the
    # variable that turns these tests on, so they run here, and here a skip is a failure.
    local out
    out="$(cd "${COLLECTION_PATH}" && env PYTHONPATH="${LVS_DR_COLLECTIONS}" \
        LVS_DR_KEEPALIVED_CHECK="${repo_root}/tests/keepalived/check-config.sh" \
        "${VENV_DIR}/bin/python" -m pytest -p no:cacheprovider -rs -q \
        tests/unit/plugins/plugin_utils/test_keepalived.py \
        -k 'test_keepalived_accepts_the_rendered_configs or test_keepalived_judges_the_extra_lines or test_keepalived_prints_no_more_than_the_warnings_of_a_drained_service' 2>&1)"
    local rc=$?
    printf '%s\n' "${out}"
    if ((rc != 0)) || [[ "${out}" != *"3 passed"* || "${out}" == *skipped* ]]; then
        err "keepalived --config-test of the rendered configs did not run and pass"
        return 1
    fi
}

stage_lint() {
    local rc=0
    in_venv ansible-lint --version
    in_venv ansible-lint || rc=1

    # The public CI's workflows cannot run here: schema and shellcheck of their run steps.
    "${repo_root}/scripts/check-workflows.sh" || rc=1
    return "${rc}"
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
        say "stopping the lab VM${LVS_DR_LAB_INSTANCE:+ ${LVS_DR_LAB_INSTANCE}} (started by this run; LVS_DR_KEEP_LAB=1 keeps it)"
        "${LAB}" down || err "lab/lab down failed"
    fi
    lab_started_here=0
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
    # SSH masters of this checkout only; short, as a socket path is at most 107 bytes.
    local cp_dir
    cp_dir="/tmp/lvs-dr-cp-$(printf '%s' "${repo_root}" | sha1sum | cut -c1-10)"
    sed "s|@CONTROL_PATH_DIR@|${cp_dir}|" tests/integration/integration.cfg.in >tests/integration/integration.cfg \
        || { err "cannot render tests/integration/integration.cfg"; return 1; }
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

    # tests/integration/integration.cfg: pipelining, ControlPersist masters in cp_dir.
    local sock
    for sock in "${cp_dir}"/*; do
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

# The ansible-core versions meta/runtime.yml claims, each in its own venv (.venv-core/<version>,
# pinned by tests/matrix/ansible-core-<version>.txt): sanity and units on every one, one
# integration target against the lab on the oldest. Full output in tests/output/matrix/.
core_venv() {
    local version="$1" venv="${repo_root}/.venv-core/$1" reqs="tests/matrix/ansible-core-$1.txt"
    local stamp want_hash python_bin="${PYTHON:-python${PYVER}}"
    stamp="${venv}/.requirements.sha256"
    want_hash="$( (sha256sum "${reqs}"; "${python_bin}" -VV) | sha256sum | cut -d' ' -f1)"
    if [[ ! -x "${venv}/bin/ansible-test" || ! -f "${stamp}" || "$(cat "${stamp}")" != "${want_hash}" ]]; then
        echo "creating ${venv} from ${reqs}"
        rm -rf "${venv}"
        "${python_bin}" -m venv "${venv}" \
            && "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "${reqs}" \
            && "${venv}/bin/python" -m pip check \
            && printf '%s\n' "${want_hash}" >"${stamp}" \
            || return 1
    fi
    "${repo_root}/scripts/get-pip-cache.sh" "${venv}/bin/python" || return 1
    local got
    got="$("${venv}/bin/python" -c 'from ansible.release import __version__; print(__version__)')"
    [[ "${got}" == "${version}."* ]] || { err "${venv} holds ansible-core ${got:-nothing}, want ${version}"; return 1; }
    echo "ansible-core ${got} in ${venv}"
}

# Run one ansible-test command with the core of a matrix venv; output to LOG. Prints a
# summary line, the whole log on failure.
matrix_run() {
    local version="$1" log="$2" rc
    shift 2
    LVS_DR_ANSIBLE_TEST_VENV="${repo_root}/.venv-core/${version}" ansible_test "$@" >"${log}" 2>&1
    rc=$?
    if ((rc != 0)); then
        cat "${log}"
        err "ansible-core ${version}: ansible-test $1 failed (rc ${rc}; log: ${log})"
    fi
    return "${rc}"
}

# "N passed, N skipped" over every pytest summary line of an ansible-test units log (one per
# pytest run: ansible-test runs modules and module_utils separately).
pytest_counts() {
    grep -E '^=+ .* in [0-9.]+s' "$1" | grep -Eo '[0-9]+ (passed|skipped)' \
        | awk '{n[$2] += $1} END {printf "%d passed, %d skipped\n", n["passed"], n["skipped"]}'
}

stage_matrix() {
    local -a versions
    local v out="${repo_root}/tests/output/matrix" target="${LVS_DR_MATRIX_TARGET:-ipvs_realserver}"
    mapfile -t versions < <(find tests/matrix -maxdepth 1 -name 'ansible-core-*.txt' -printf '%f\n' \
        | sed -e 's/^ansible-core-//' -e 's/\.txt$//' | sort -V)
    if ((${#versions[@]} == 0)); then
        err "no ansible-core versions (tests/matrix/ansible-core-<version>.txt)"
        return 1
    fi
    # Every version meta/runtime.yml claims: from its minimum, without a gap, up to the one
    # requirements.txt pins (the newest, which .venv and the other stages use).
    local floor pinned i
    floor="$(sed -nE 's/^requires_ansible: *["'\'']?>= *([0-9]+\.[0-9]+)(\.[0-9]+)?["'\'']? *$/\1/p' meta/runtime.yml)"
    pinned="$(sed -nE 's/^ansible-core==([0-9]+\.[0-9]+)\..*/\1/p' requirements.txt)"
    if [[ "${floor}" != "${versions[0]}" || "${pinned}" != "${versions[-1]}" ]]; then
        err "tests/matrix/ has ansible-core ${versions[0]} to ${versions[-1]}; meta/runtime.yml claims" \
            "'${floor:-?}' and up, requirements.txt pins '${pinned:-?}': keep them equal"
        return 1
    fi
    for ((i = 1; i < ${#versions[@]}; i++)); do
        if [[ "${versions[i]}" != "${versions[i - 1]%.*}.$((${versions[i - 1]#*.} + 1))" ]]; then
            err "tests/matrix/ has no ansible-core between ${versions[i - 1]} and ${versions[i]}"
            return 1
        fi
    done
    if [[ -n "${LVS_DR_MATRIX_CORES:-}" ]]; then
        mapfile -t versions < <(tr ' ' '\n' <<<"${LVS_DR_MATRIX_CORES}" | grep -v '^$' | sort -V)
    fi
    mkdir -p "${out}"

    local -A res secs
    local start n_sanity n_skipped n_units failed=0
    for v in "${versions[@]}"; do
        say "matrix: ansible-core ${v}"
        start=${SECONDS}
        res[${v}]=""
        if ! core_venv "${v}"; then
            res[${v}]="venv:FAIL"
        else
            if matrix_run "${v}" "${out}/${v}-sanity.log" sanity --venv --python "${PYVER}"; then
                n_sanity="$(grep -c '^Running sanity test' "${out}/${v}-sanity.log")"
                n_skipped="$(grep -ci 'skipping sanity test' "${out}/${v}-sanity.log")"
                if ((n_sanity == 0)); then
                    res[${v}]="sanity:FAIL(no test ran)"
                else
                    res[${v}]="sanity:PASS(${n_sanity} run, ${n_skipped} skipped)"
                fi
            else
                res[${v}]="sanity:FAIL"
            fi
            if matrix_run "${v}" "${out}/${v}-units.log" units --venv --python "${PYVER}"; then
                n_units="$(pytest_counts "${out}/${v}-units.log")"
                if [[ "${n_units}" == "0 passed"* ]]; then
                    res[${v}]+=" units:FAIL(no test passed: ${n_units})"
                else
                    res[${v}]+=" units:PASS(${n_units})"
                fi
            else
                res[${v}]+=" units:FAIL"
            fi
        fi
        secs[${v}]=$((SECONDS - start))
        [[ "${res[${v}]}" == *FAIL* ]] && failed=1
        echo "ansible-core ${v}: ${res[${v}]} (${secs[${v}]}s)"
    done

    # One integration target against the lab with the oldest core (controller and ansible-test).
    local oldest="${versions[0]}" irc=1 integration="FAIL (not run: no venv)"
    if [[ "${res[${oldest}]}" != venv:FAIL* ]]; then
        say "matrix: integration target ${target} with ansible-core ${oldest}"
        start=${SECONDS}
        "${repo_root}/.venv-core/${oldest}/bin/ansible-test" --version
        LVS_DR_ANSIBLE_TEST_VENV="${repo_root}/.venv-core/${oldest}" LVS_DR_INTEGRATION_TARGETS="${target}" \
            stage_integration
        irc=$?
        integration="${target}:$( ((irc == 0)) && echo PASS || echo FAIL) ($((SECONDS - start))s)"
    fi
    ((irc == 0)) || failed=1

    printf '\n%-14s %s\n' ANSIBLE-CORE RESULT
    for v in "${versions[@]}"; do
        printf '%-14s %s (%ss)\n' "${v}" "${res[${v}]}" "${secs[${v}]}"
    done
    printf '%-14s integration %s\n' "${oldest}" "${integration}"
    ((failed == 0))
}

# `molecule test -s SCENARIO` against the lab's Docker engine; its log in tests/output/ (molecule.log
# for the default scenario, molecule-SCENARIO.log for another).
molecule_log() {
    [[ "$1" == default ]] && echo tests/output/molecule.log || echo "tests/output/molecule-$1.log"
}

molecule_scenario() {
    local scenario="$1" lab_env log rc attempt
    if [[ ! -f "molecule/${scenario}/molecule.yml" ]]; then
        err "molecule/${scenario}/molecule.yml not found"
        return 1
    fi
    mkdir -p tests/output
    log="$(molecule_log "${scenario}")"
    : >"${log}"
    rm -f "${log%.log}.lab-restarted"
    for attempt in 1 2; do
        lab_up || return 1
        lab_env="$("${LAB}" env)" || { err "lab/lab env failed"; return 1; }
        (
            eval "${lab_env}"
            in_venv molecule test -s "${scenario}"
        ) 2>&1 | tee -a "${log}"
        rc=${PIPESTATUS[0]}
        ((rc == 0)) && return 0
        (eval "${lab_env}"; lab_check) 2>&1 | tee -a "${log}"
        # A UML VM very rarely stops answering altogether (seen once in CI: the kernel stalled while
        # Docker started the first container, and nothing ran in it after). That is the lab, not the
        # collection: a VM this run started is restarted and the scenario run again, once, and the
        # summary says so. A VM that answers means the scenario itself failed: no second run.
        if ((attempt == 1 && lab_started_here)) && [[ "${LVS_DR_LAB_RESTART_HUNG:-1}" != 0 ]] \
            && grep -q '^lab-check: ssh: no answer' "${log}"; then
            say "molecule ${scenario}: the lab VM${LVS_DR_LAB_INSTANCE:+ ${LVS_DR_LAB_INSTANCE}} does not answer:" \
                "restarting it and running the scenario again (LVS_DR_LAB_RESTART_HUNG=0: no second run)" \
                | tee -a "${log}"
            echo "molecule ${scenario}: lab VM hung after ${SECONDS}s of the run; restarted" \
                >"${log%.log}.lab-restarted"
            "${LAB}" down || { err "lab/lab down failed"; return "${rc}"; }
            continue
        fi
        return "${rc}"
    done
    return "${rc}"
}

stage_molecule() {
    molecule_scenario default
}

# Two directors on keepalived (director_engine: keepalived): failover, health checks, reloads.
stage_ha() {
    molecule_scenario ha
}

# The lines of a failed molecule run that say what failed (pytest's and Ansible's), without colours:
# printed again after the summary, where a log cut to its end still shows them.
molecule_failures() {
    sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^ *│ \{0,1\}//' "$1" 2>/dev/null \
        | grep -E '^(FAILED|ERROR) |^E  |^fatal: |^failed: |Error: |^[a-z_/]+\.py:[0-9]+: |➜ [a-z]+: Executed|^lab-check: ' \
        | grep -v -e '^FAILED - RETRYING' -e 'Executed: Successful' | tail -n 40
}

# After a failed scenario, while its lab still runs: does the VM answer, and its engine? (A hung VM
# and a failing test look alike in molecule's output.) Lines start with "lab-check: ".
lab_check() {
    local out
    out="$(timeout 30 "${LAB}" ssh -- sh -c 'uptime; free -m | sed -n 2p' 2>&1)" \
        || out="no answer over SSH within 30 s (${out:0:200})"
    printf 'lab-check: ssh: %s\n' "${out//$'\n'/ | }"
    out="$(timeout 30 docker ps -a --format '{{.Names}} {{.Status}}' 2>&1)" \
        || out="no answer from the Docker API within 30 s (${out:0:200})"
    printf 'lab-check: docker: %s\n' "${out//$'\n'/ | }"
    "${LAB}" status 2>&1 | sed 's/^/lab-check: status: /' | head -n 3
    local console
    console="$("${LAB}" status --json 2>/dev/null | "${VENV_DIR}/bin/python" -c \
        'import json, sys; print(json.load(sys.stdin).get("serial_log", ""))' 2>/dev/null)"
    [[ -f "${console}" ]] && tail -n 5 "${console}" | sed 's/\x1b\[[0-9;]*[mK]//g; s/^/lab-check: console: /'
}

# The background stage (bg_stage), on its own lab instance, in its own process group (so that an
# interrupted run can stop all of it): status "<rc> <seconds>" in tests/output/<stage>-stage.status.
bg_stage=""
bg_pid=""
bg_start() {
    mkdir -p tests/output
    rm -f "tests/output/${bg_stage}-stage.status" "tests/output/${bg_stage}-stage.log"
    say "stage ${bg_stage}: started in the background on lab instance ${LVS_DR_BACKGROUND_LAB:-bg}" \
        "(output: tests/output/${bg_stage}-stage.log)"
    set -m
    (
        export LVS_DR_LAB_INSTANCE="${LVS_DR_BACKGROUND_LAB:-bg}"
        lab_started_here=0
        _lab_checked=""
        trap lab_down_if_ours EXIT
        trap 'exit 143' TERM
        start=${SECONDS}
        "stage_${bg_stage}" </dev/null
        printf '%s %s\n' "$?" "$((SECONDS - start))" >"tests/output/${bg_stage}-stage.status"
    ) >"tests/output/${bg_stage}-stage.log" 2>&1 &
    bg_pid=$!
    set +m
}

# Wait for the background stage; print its output; its exit status is the stage's, its duration
# goes to bg_secs.
bg_secs=0
bg_wait() {
    say "stage ${bg_stage}: waiting for the background run"
    wait "${bg_pid}"
    bg_pid=""
    cat "tests/output/${bg_stage}-stage.log"
    local rc
    read -r rc bg_secs <"tests/output/${bg_stage}-stage.status" 2>/dev/null || { rc=1; bg_secs=0; }
    echo "${bg_stage} stage: exit status ${rc}, ${bg_secs}s in the background"
    return "${rc}"
}

on_exit() {
    if [[ -n "${bg_pid}" ]] && kill -0 "${bg_pid}" 2>/dev/null; then
        err "stopping the background ${bg_stage} stage"
        kill -TERM -- "-${bg_pid}" 2>/dev/null
        wait "${bg_pid}"
    fi
    lab_down_if_ours
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

trap on_exit EXIT

# One of the lab's stages runs beside the others when at least two of them run. Only a molecule
# scenario can: the integration and matrix stages share files of the tree (inventory, keys, SSH masters).
case "${LVS_DR_BACKGROUND_STAGE:-ha}" in
    molecule | ha) ;;
    *)
        err "LVS_DR_BACKGROUND_STAGE='${LVS_DR_BACKGROUND_STAGE}': choose molecule or ha"
        exit 2
        ;;
esac
parallel=0
lab_stages=0
for s in integration matrix ha molecule; do
    [[ " ${stages[*]} " == *" ${s} "* ]] && lab_stages=$((lab_stages + 1))
done
if [[ "${LVS_DR_PARALLEL:-1}" != 0 ]] && ((lab_stages >= 2)); then
    for s in "${LVS_DR_BACKGROUND_STAGE:-ha}" molecule; do
        if [[ " ${stages[*]} " == *" ${s} "* ]]; then
            bg_stage="${s}"
            parallel=1
            break
        fi
    done
fi

declare -A result duration
passed=0
failed=0
record() {  # record STAGE RC SECONDS
    duration[$1]=$3
    if (($2 == 0)); then
        result[$1]=PASS
        passed=$((passed + 1))
    else
        result[$1]=FAIL
        failed=$((failed + 1))
    fi
    say "stage $1: ${result[$1]} ($3s)"
}
for s in "${stages[@]}"; do
    if [[ "${s}" != bootstrap && "${result[bootstrap]:-}" == FAIL ]]; then
        record "${s}" 1 0
        continue
    fi
    ((parallel)) && [[ "${s}" == "${bg_stage}" ]] && continue  # waited for after the others
    start=${SECONDS}
    say "stage ${s}"
    "stage_${s}" </dev/null  # CI has no usable stdin; ansible refuses non-blocking ones
    rc=$?
    record "${s}" "${rc}" "$((SECONDS - start))"
    if [[ "${s}" == bootstrap ]] && ((rc == 0 && parallel)); then
        bg_start
    fi
done
if ((parallel)) && [[ -n "${bg_pid}" ]]; then
    lab_down_if_ours  # the other stages' lab: its CPU goes to the background stage's
    bg_wait
    rc=$?
    record "${bg_stage}" "${rc}" "${bg_secs}"
fi

lab_down_if_ours
trap - EXIT

printf '\n%-12s %-6s %s\n' STAGE RESULT SECONDS
for s in "${stages[@]}"; do
    note=""
    [[ "${s}" == "${bg_stage}" ]] && ((parallel)) && note=" (in the background, beside the stages after bootstrap)"
    restarted="$(molecule_log "${s/molecule/default}")"
    restarted="${restarted%.log}.lab-restarted"
    [[ "${s}" == molecule || "${s}" == ha ]] && [[ -f "${restarted}" ]] \
        && note+=" (the lab VM hung and was restarted once: $(cat "${restarted}"))"
    printf '%-12s %-6s %s%s\n' "${s}" "${result[${s}]}" "${duration[${s}]}" "${note}"
done
echo "wall time: ${SECONDS}s"
for s in molecule ha; do
    log="$(molecule_log "${s/molecule/default}")"
    if [[ "${result[${s}]:-}" == FAIL && -s "${log}" ]]; then
        printf '\n%s failed; what failed (full log: %s):\n' "${s}" "${log}"
        molecule_failures "${log}"
    fi
done
echo
echo "${passed} passed, ${failed} failed"
((failed == 0))
