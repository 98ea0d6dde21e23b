# shellcheck shell=bash
# Shared paths and settings for scripts/*.sh. Source it; it only sets variables.
repo_root="${repo_root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV_DIR="${repo_root}/.venv"
LVS_DR_COLLECTIONS="${LVS_DR_COLLECTIONS:-${XDG_CACHE_HOME:-${HOME}/.cache}/lvs-dr/collections}"
COLLECTION_PATH="${LVS_DR_COLLECTIONS}/ansible_collections/lvs/dr"
export VENV_DIR LVS_DR_COLLECTIONS COLLECTION_PATH
