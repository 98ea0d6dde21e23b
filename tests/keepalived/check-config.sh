#!/usr/bin/env bash
# Check keepalived.conf files with keepalived's own parser: `keepalived --config-test -f FILE` for each FILE.
#
#   tests/keepalived/check-config.sh FILE...
#
# keepalived is not installed for this: the script uses LVS_DR_KEEPALIVED (a keepalived binary) when set, else
# Debian 12's keepalived 2.2.7 and the libraries this host lacks, fetched with `apt-get download` and unpacked with
# `dpkg -x` into ${XDG_CACHE_HOME:-~/.cache}/lvs-dr/keepalived (once). Nothing is installed, no service starts, and
# nothing is written outside that cache: --config-test parses and validates, then exits.
#
# keepalived's check fails on an interface the host does not have, so each file is checked in a new network
# namespace (unshare; root, or a user namespace) holding a link (dummy or veth) for every interface the file names
# (`interface X`, `dev X`, `lvs_sync_daemon X`). Where no namespace can be made, the file is checked on the host.
#
# Prints `OK FILE` or `FAIL FILE (exit N)` with keepalived's messages; exits 0 when every file passed, 1 when one
# failed, 77 when no keepalived can be run here.
set -uo pipefail

if (($# == 0)); then
    echo "usage: $0 FILE..." >&2
    exit 2
fi

cache="${XDG_CACHE_HOME:-${HOME}/.cache}/lvs-dr/keepalived"
# keepalived and the libraries of its Debian 12 dependencies that a host without it may lack.
packages=(keepalived libnl-genl-3-200 libnl-3-200 libnftnl11 libmnl0 libsnmp40 libpci3 libwrap0 libsensors5)

fetch_keepalived() {
    local root="${cache}/root" deb
    if [[ -x "${root}/usr/sbin/keepalived" ]]; then
        return 0
    fi
    command -v apt-get >/dev/null && command -v dpkg >/dev/null || return 1
    mkdir -p "${cache}/debs" || return 1
    (cd "${cache}/debs" && apt-get download "${packages[@]}" >/dev/null 2>"${cache}/download.log") || {
        cat "${cache}/download.log" >&2
        return 1
    }
    mkdir -p "${root}.new" || return 1
    for deb in "${cache}"/debs/*.deb; do
        dpkg -x "${deb}" "${root}.new" || return 1
    done
    rm -rf "${root}" && mv "${root}.new" "${root}"
}

if [[ -n "${LVS_DR_KEEPALIVED:-}" ]]; then
    keepalived=("${LVS_DR_KEEPALIVED}")
else
    if ! fetch_keepalived; then
        echo "SKIP: cannot fetch Debian's keepalived (apt-get download) into ${cache}" >&2
        exit 77
    fi
    libs="${cache}/root/usr/lib/x86_64-linux-gnu:${cache}/root/lib/x86_64-linux-gnu"
    keepalived=(env "LD_LIBRARY_PATH=${libs}${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}" "${cache}/root/usr/sbin/keepalived")
fi
if ! version="$("${keepalived[@]}" --version 2>&1)" || [[ "${version}" != Keepalived* ]]; then
    echo "SKIP: keepalived does not run here: ${version}" >&2
    exit 77
fi
echo "${version%%$'\n'*}"

# How to get a network namespace of our own, if any.
netns=()
if unshare --net true 2>/dev/null; then
    netns=(unshare --net)
elif unshare --user --map-root-user --net true 2>/dev/null; then
    netns=(unshare --user --map-root-user --net)
fi

failed=0
for file in "$@"; do
    if [[ ! -r "${file}" ]]; then
        echo "FAIL ${file} (cannot read it)"
        failed=1
        continue
    fi
    file="$(cd "$(dirname "${file}")" && pwd)/$(basename "${file}")"
    mapfile -t links < <(awk '$1 == "interface" || $1 == "lvs_sync_daemon" { print $2 }
                              { for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' "${file}" | sort -u)
    if ((${#netns[@]})); then
        # In the namespace: a link per interface (a dummy, or a veth where the kernel has no dummy driver; names
        # are awk fields: no spaces), then the check.
        # shellcheck disable=SC2016
        output="$("${netns[@]}" bash -c 'n=0; for link in $1; do
                n=$((n + 1))
                { ip link add "${link}" type dummy 2>/dev/null ||
                    ip link add "${link}" type veth peer name "lvsdr-peer${n}"; } && ip link set "${link}" up ||
                    { echo "cannot add a link ${link}"; exit 125; }
            done
            shift
            exec "$@" 2>&1' check "${links[*]}" "${keepalived[@]}" --config-test --use-file="${file}" 2>&1)"
        rc=$?
    else
        output="$("${keepalived[@]}" --config-test --use-file="${file}" 2>&1)"
        rc=$?
    fi
    if ((rc == 0)); then
        echo "OK ${file}"
    else
        echo "FAIL ${file} (exit ${rc})"
        if ((rc == 143)) && grep -Eq '^[[:space:]]*script_user[[:space:]]+[^r]' "${file}"; then
            # lib/notify.c checks a script as its user, then kills itself when its parent is not keepalived's main
            # process - always so under --config-test. Fixed by aae8e910 in keepalived 2.2.8.
            echo "    keepalived 2.2.7 --config-test kills itself checking a script of a non-root script_user"
        fi
        failed=1
    fi
    [[ -z "${output}" ]] || printf '%s\n' "${output}" | sed 's/^/    /'
done
exit "${failed}"
