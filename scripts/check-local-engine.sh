#!/usr/bin/env bash
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Prove lab/lab's local-engine path (a host that already runs a Docker engine on a kernel with ip_vs) on such a
# host: the lab VM is one. This checkout (git archive HEAD) and ansible-core (pip --target, from PyPI, the version
# pinned in requirements.txt) are copied into the running VM; inside it, as a user of that host would:
#   LVS_DR_LAB_MODE=local lab/lab up   -> the node container answers SSH; `status` says local; a second `up` reuses it
#   the integration targets (default: ipvs_table) run against the node container with ansible-playbook
#   lab/lab down                       -> no container is left behind
# The node image the VM's Docker already holds (imported by the VM build from the same recipe) is used as is: there
# is no debootstrap in the VM, so its recipe hash is recorded where `up` looks for it.
#
# Usage: scripts/check-local-engine.sh [target ...]     (needs `lab/lab up` and scripts/bootstrap.sh first)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "${repo_root}/scripts/env.sh"
cd "${repo_root}"
LAB="${repo_root}/lab/lab"
targets=("$@")
((${#targets[@]})) || targets=(ipvs_table)

log() { printf '[check-local-engine] %s\n' "$*" >&2; }

"${LAB}" status >/dev/null 2>&1 || { log "the lab VM is not running: lab/lab up"; exit 1; }
[[ -x "${VENV_DIR}/bin/pip" ]] || { log "no ${VENV_DIR}: run scripts/bootstrap.sh"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
git archive --format=tar --prefix=lvsdr/ HEAD >"${tmp}/repo.tar"
core="$(grep -i '^ansible-core==' requirements.txt)"
log "fetching ${core} for the VM's Python 3.11"
LC_ALL=C "${VENV_DIR}/bin/pip" install --quiet --disable-pip-version-check --target "${tmp}/site" \
    --only-binary=:all: --python-version 3.11 --implementation cp --platform manylinux2014_x86_64 "${core}"
tar -C "${tmp}" -cf "${tmp}/site.tar" site

work=/root/lvs-dr-local-check
"${LAB}" ssh -- rm -rf "${work}"
"${LAB}" ssh -- mkdir -p "${work}"
"${LAB}" ssh -- tar -C "${work}" -xf - <"${tmp}/repo.tar"
"${LAB}" ssh -- tar -C "${work}" -xf - <"${tmp}/site.tar"

log "running the local-engine path inside the VM (targets: ${targets[*]})"
# The script goes to a file first: fed on standard input, the commands it runs (docker, ssh) would read the rest.
"${LAB}" ssh -- sh -c "cat > ${work}/inside.sh" <<'INSIDE'
set -euo pipefail
export LC_ALL=C.UTF-8 LVS_DR_LAB_MODE=local LVS_DR_LAB_CACHE="${WORK}/cache" PYTHONPATH="${WORK}/site"
cd "${WORK}/lvsdr"
mkdir -p "${LVS_DR_LAB_CACHE}"
trap 'python3 lab/lab down >/dev/null 2>&1 || true' EXIT
read -r node_image node_hash < <(python3 -c \
    'import sys; sys.path.insert(0, "lab/recipe"); import build; print(build.NODE_IMAGE, build.node_hash())')
docker image inspect "${node_image}" >/dev/null
echo "${node_hash}" >"${LVS_DR_LAB_CACHE}/local-node-hash"

start=$(date +%s)
python3 lab/lab up
echo "local up: $(($(date +%s) - start)) s"
python3 lab/lab status | grep -Eq '^mode: +local'
python3 lab/lab up 2>&1 | tee /dev/stderr | grep -q 'reusing'
python3 lab/lab ssh -- ipvsadm -L -n >/dev/null

python3 lab/lab inventory >"${WORK}/inventory.ini"
mkdir -p "${WORK}/collections/ansible_collections/lvs"
ln -sfn "${WORK}/lvsdr" "${WORK}/collections/ansible_collections/lvs/dr"
{
    echo '- name: Integration targets against the node container of the local engine'
    echo '  hosts: lvs-lab'
    echo '  gather_facts: false'
    echo '  roles:'
    for target in ${TARGETS}; do echo "    - ${target}"; done
} >"${WORK}/play.yml"
ANSIBLE_COLLECTIONS_PATH="${WORK}/collections" ANSIBLE_ROLES_PATH=tests/integration/targets \
    ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 \
    python3 -m ansible.cli.playbook -i "${WORK}/inventory.ini" "${WORK}/play.yml" >"${WORK}/play.log" 2>&1 \
    || { tail -40 "${WORK}/play.log"; exit 1; }
grep -A2 '^PLAY RECAP' "${WORK}/play.log"

python3 lab/lab down
trap - EXIT
left="$(docker ps -aq --filter "name=^lvs-dr-lab$")"
[[ -z "${left}" ]] || { echo "container left behind after down: ${left}"; exit 1; }
echo "local engine path: OK"
INSIDE
"${LAB}" ssh -- env WORK="${work}" TARGETS="${targets[*]}" bash "${work}/inside.sh" </dev/null
"${LAB}" ssh -- rm -rf "${work}"
