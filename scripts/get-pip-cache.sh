#!/usr/bin/env bash
# Give ansible-test a local get-pip, so `ansible-test ... --venv` never downloads one.
#
# ansible-test (_util/target/setup/requirements.py) bootstraps pip into each --venv from
# ~/.ansible/test/cache/get_pip_<X_Y>.py, downloading it from a host unreachable here when absent,
# and passes it the packages of get_venv_packages() (pip only on 2.18+; pip, setuptools and wheel
# on 2.16/2.17). We fetch those wheels from PyPI into the cache and write a small script that
# installs from them.
#
# Usage: scripts/get-pip-cache.sh PYTHON   (the interpreter of a venv holding ansible-core)
set -euo pipefail

log() { printf 'get-pip-cache: %s\n' "$*" >&2; }
die() { printf 'get-pip-cache: ERROR: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: $0 PYTHON"
python="$1"
[[ -x "${python}" ]] || die "${python} is not executable"

# name==version, one per line; pip first.
mapfile -t pins < <("${python}" - <<'PY'
import types
from ansible_test._internal.python_requirements import get_venv_packages
packages = get_venv_packages(types.SimpleNamespace(version='3.11'))
for name in ['pip'] + sorted(set(packages) - {'pip'}):
    print('%s==%s' % (name, packages[name]))
PY
)
if ((${#pins[@]} == 0)) || [[ "${pins[0]}" != pip==* ]]; then
    die "cannot read ansible-test's venv packages from ${python}"
fi
pip_version="${pins[0]#pip==}"

cache_dir="${HOME}/.ansible/test/cache"
get_pip="${cache_dir}/get_pip_${pip_version//./_}.py"
mkdir -p "${cache_dir}"
for pin in "${pins[@]}"; do
    name="${pin%%==*}"
    version="${pin#*==}"
    if ! compgen -G "${cache_dir}/${name}-${version}-*.whl" >/dev/null; then
        log "fetching ${pin} wheel for ansible-test"
        "${python}" -m pip download --quiet --disable-pip-version-check \
            --no-deps --only-binary=:all: --dest "${cache_dir}" "${pin}"
    fi
    compgen -G "${cache_dir}/${name}-${version}-*.whl" >/dev/null || die "${pin} wheel missing in ${cache_dir}"
done

umask 022
cat >"${get_pip}.tmp" <<PY
"""get-pip replacement written by lvs.dr scripts/get-pip-cache.sh: installs pip from a local wheel."""
import os
import sys

WHEEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-${pip_version}-py3-none-any.whl")
sys.path.insert(0, WHEEL)

from pip._internal.cli.main import main  # noqa: E402  pylint: disable=wrong-import-position

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-index", "--find-links", os.path.dirname(WHEEL)] + args))
PY
if ! cmp -s "${get_pip}.tmp" "${get_pip}" 2>/dev/null; then
    mv "${get_pip}.tmp" "${get_pip}"
    log "wrote ${get_pip}"
else
    rm -f "${get_pip}.tmp"
fi
