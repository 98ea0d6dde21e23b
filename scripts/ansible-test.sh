#!/usr/bin/env bash
# Run ansible-test on this repository as the collection lvs.dr.
#
# ansible-test insists that the *physical* working directory is .../ansible_collections/lvs/dr:
# with `--venv` it delegates to a child whose content root is os.getcwd(), so a symlink to the
# repository (which bootstrap.sh creates for ansible itself) resolves back to the repo path and
# fails. We therefore run it in a private mount namespace where the very same path
# (${COLLECTION_PATH}) is a bind mount of the repository: nothing persists outside the process,
# results land in the repo's (git-ignored) tests/output/, and git sees the live work tree.
#
# Usage: scripts/ansible-test.sh sanity --venv --python 3.11 [...]
#
# Environment:
#   LVS_DR_ANSIBLE_TEST_VENV  venv whose ansible-test runs (default: .venv; the matrix stage
#                             points it at .venv-core/<version>)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

test_venv="${LVS_DR_ANSIBLE_TEST_VENV:-${VENV_DIR}}"
[[ -x "${test_venv}/bin/ansible-test" ]] \
    || { echo "ansible-test.sh: no ${test_venv}/bin/ansible-test (run scripts/bootstrap.sh first)" >&2; exit 2; }

if [[ "${_LVS_DR_IN_NS:-}" == 1 ]]; then
    ns_parent="$(dirname "${COLLECTION_PATH}")"
    # Hide the symlink behind an empty tmpfs, then bind the repository at the same path.
    mount -t tmpfs -o size=1m,mode=0755 lvs-dr-ns "${ns_parent}"
    mkdir "${COLLECTION_PATH}"
    mount --bind "${repo_root}" "${COLLECTION_PATH}"
    cd "${COLLECTION_PATH}"
    export PATH="${test_venv}/bin:${PATH}"
    exec ansible-test "$@"
fi

command -v unshare >/dev/null 2>&1 || { echo "ansible-test.sh: unshare (util-linux) is required" >&2; exit 2; }
mkdir -p "$(dirname "${COLLECTION_PATH}")"
unshare_opts=(--mount --propagation private)
if [[ ${EUID} -ne 0 ]]; then
    # Unprivileged: a user namespace maps us to root inside so that mount(2) is permitted.
    unshare_opts=(--user --map-root-user "${unshare_opts[@]}")
fi
if ! unshare "${unshare_opts[@]}" true 2>/dev/null; then
    echo "ansible-test.sh: cannot create a mount namespace (unshare ${unshare_opts[*]});" \
        "run as root or enable unprivileged user namespaces" >&2
    exit 2
fi
_LVS_DR_IN_NS=1 exec unshare "${unshare_opts[@]}" -- bash "${BASH_SOURCE[0]}" "$@"
