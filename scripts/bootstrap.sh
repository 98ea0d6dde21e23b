#!/usr/bin/env bash
# Prepare everything the tests need, idempotently:
#   1. system packages (apt-get, only when root and only what is missing);
#   2. .venv/ from requirements.txt (reinstalled only when requirements.txt changes);
#   3. the collection reachable as lvs.dr through a symlink OUTSIDE the repository
#      (ansible-test wants .../ansible_collections/lvs/dr; inside the repo it would recurse);
#   4. ansible-test's get-pip cache, so `ansible-test ... --venv` never downloads get-pip.
#
# Environment:
#   PYTHON            interpreter to build .venv with (default: python3.11)
#   LVS_DR_COLLECTIONS collections root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/lvs-dr/collections)
#
# Prints, as its last line, the collection path; scripts/test.sh sources scripts/env.sh instead.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. system packages ------------------------------------------------------
# command -> Debian package providing it
declare -A wanted_cmds=(
    [git]=git
    [make]=make
    [ssh]=openssh-client
    [ssh-keygen]=openssh-client
    [unshare]=util-linux
    [shellcheck]=shellcheck  # ansible-test sanity runs its shellcheck test only when present
)
missing_pkgs=()
for cmd in "${!wanted_cmds[@]}"; do
    command -v "${cmd}" >/dev/null 2>&1 || missing_pkgs+=("${wanted_cmds[${cmd}]}")
done

python_bin="${PYTHON:-python3.11}"
if ! command -v "${python_bin}" >/dev/null 2>&1; then
    missing_pkgs+=(python3.11 python3.11-venv)
elif ! "${python_bin}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # Debian splits ensurepip/venv out of the interpreter package.
    missing_pkgs+=(python3.11-venv)
fi

if ((${#missing_pkgs[@]})); then
    mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
    if [[ ${EUID} -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing system packages: ${missing_pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
    else
        die "missing system packages: ${missing_pkgs[*]} (run as root, or: sudo apt-get install ${missing_pkgs[*]})"
    fi
fi

"${python_bin}" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null \
    || die "${python_bin} is not Python 3.11; requirements.txt is pinned for 3.11 (set PYTHON=...)"

# --- 2. the virtual environment ----------------------------------------------
stamp="${VENV_DIR}/.requirements.sha256"
want_hash="$( (sha256sum requirements.txt; "${python_bin}" -VV) | sha256sum | cut -d' ' -f1)"
if [[ -x "${VENV_DIR}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want_hash}" ]]; then
    log ".venv up to date"
else
    log "creating ${VENV_DIR} from requirements.txt"
    rm -rf "${VENV_DIR}"
    "${python_bin}" -m venv "${VENV_DIR}"
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    "${VENV_DIR}/bin/python" -m pip check >&2
    printf '%s\n' "${want_hash}" >"${stamp}"
fi

# --- 3. the collection path --------------------------------------------------
# ansible-test requires .../ansible_collections/<namespace>/<name>; a symlink is accepted.
mkdir -p "$(dirname "${COLLECTION_PATH}")"
if [[ "$(readlink "${COLLECTION_PATH}" 2>/dev/null || true)" != "${repo_root}" ]]; then
    [[ -e "${COLLECTION_PATH}" && ! -L "${COLLECTION_PATH}" ]] \
        && die "${COLLECTION_PATH} exists and is not a symlink; remove it"
    ln -sfn "${repo_root}" "${COLLECTION_PATH}"
    log "linked ${COLLECTION_PATH} -> ${repo_root}"
fi
git -C "${repo_root}" rev-parse --git-dir >/dev/null 2>&1 \
    || die "${repo_root} is not a git repository; ansible-test needs one"

# --- 4. ansible-test get-pip cache -------------------------------------------
"${repo_root}/scripts/get-pip-cache.sh" "${VENV_DIR}/bin/python"

printf '%s\n' "${COLLECTION_PATH}"
