#!/usr/bin/env bash
# The main job (`make demo`): an LVS-DR cluster - one director, two real servers, a client -
# in Docker containers on a kernel with IPVS, configured by playbooks/site.yml, and the load
# shown live as it spreads over the real servers. Bounded: it stops by itself.
#
# 1. bootstrap (.venv, the lvs.dr collection path);
# 2. a Docker engine with ip_vs: `lab/lab up` (QEMU VM) unless the lab already runs or a
#    local engine can do IPVS (lab/lab decides; `lab/lab env` is empty then);
# 3. the molecule scenario's topology: `molecule create` (containers, network, the test web
#    service on the real servers) and `molecule converge` (playbooks/site.yml);
# 4. LVS_DR_DEMO_ROUNDS rounds of LVS_DR_DEMO_REQUESTS requests from the client to the VIP,
#    each followed by per-server counts and bars and the director's packet counters;
# 5. how to look around and how to tear it down.
#
# Environment:
#   LVS_DR_DEMO_ROUNDS    rounds of traffic (default 10)
#   LVS_DR_DEMO_REQUESTS  requests per round (default 20)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
# shellcheck source=scripts/env.sh
. "${repo_root}/scripts/env.sh"

ROUNDS="${LVS_DR_DEMO_ROUNDS:-10}"
REQUESTS="${LVS_DR_DEMO_REQUESTS:-20}"
VIP=192.168.88.100
PORT=8080
DIRECTOR=lvs-dr-director
CLIENT=lvs-dr-client
REALSERVERS=(lvs-dr-rs1 lvs-dr-rs2)
LAB="${repo_root}/lab/lab"

[[ "${ROUNDS}" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "LVS_DR_DEMO_ROUNDS must be 1-999" >&2; exit 2; }
[[ "${REQUESTS}" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "LVS_DR_DEMO_REQUESTS must be 1-999" >&2; exit 2; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
started=${SECONDS}

step "Bootstrap (.venv and the lvs.dr collection path)"
scripts/bootstrap.sh >/dev/null

step "A Docker engine whose kernel has IPVS"
if "${LAB}" status >/dev/null 2>&1; then
    echo "the lab is already running"
else
    echo "starting the lab (lab/lab up; the first run builds its image, which takes a while)"
    "${LAB}" up
fi
"${LAB}" wait
lab_env="$("${LAB}" env)"
eval "${lab_env}"
export ANSIBLE_COLLECTIONS_PATH="${LVS_DR_COLLECTIONS}"
export PATH="${VENV_DIR}/bin:${PATH}"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}"
export MOLECULE_NO_LOG=false

step "Create the topology: director, two real servers, client (molecule create)"
(cd "${repo_root}" && molecule create)

step "Configure it with playbooks/site.yml (molecule converge)"
(cd "${repo_root}" && molecule converge)

step "The director's IPVS table"
docker exec "${DIRECTOR}" ipvsadm -Ln

step "Live: ${ROUNDS} rounds of ${REQUESTS} requests from the client to http://${VIP}:${PORT}/"
declare -A total=()
for rs in "${REALSERVERS[@]}"; do total[${rs}]=0; done
other=0
sent=0
shown=0
for ((round = 1; round <= ROUNDS; round++)); do
    answers="$(docker exec "${CLIENT}" curl --silent --max-time 10 --header "Connection: close" \
        "http://${VIP}:${PORT}/?n=[1-${REQUESTS}]" || true)"
    sent=$((sent + REQUESTS))
    for rs in "${REALSERVERS[@]}"; do
        n="$(grep -cx -- "${rs}" <<<"${answers}" || true)"
        total[${rs}]=$((total[${rs}] + n))
    done
    answered=0
    for rs in "${REALSERVERS[@]}"; do answered=$((answered + total[${rs}])); done
    other=$((sent - answered))
    stats="$(docker exec "${DIRECTOR}" ipvsadm -Ln --stats --exact -t "${VIP}:${PORT}" \
        | awk '$1 == "TCP" { print "director: InPkts " $4 ", OutPkts " $5 " (DR: replies bypass the director)" }')"
    block="$(
        printf 'round %d/%d - %d requests sent\n' "${round}" "${ROUNDS}" "${sent}"
        for rs in "${REALSERVERS[@]}"; do
            width=$((total[${rs}] * 50 / sent))
            printf '  %-12s %5d  %5s%%  %s\n' "${rs}" "${total[${rs}]}" \
                "$(awk -v a="${total[${rs}]}" -v b="${sent}" 'BEGIN { printf "%.1f", 100 * a / b }')" \
                "$(printf '%*s' "${width}" '' | tr ' ' '#')"
        done
        ((other == 0)) || printf '  %-12s %5d\n' "unanswered" "${other}"
        printf '  %s\n' "${stats}"
    )"
    # On a terminal the block is redrawn in place; in a log every round stays.
    if [[ -t 1 ]] && ((shown > 0)); then
        printf '\033[%dA\033[J' "${shown}"
    elif ((shown > 0)); then
        echo
    fi
    printf '%s\n' "${block}"
    shown=$(($(wc -l <<<"${block}")))
    sleep 1
done
echo
echo "lvs-dr-rs1 has weight 3 and lvs-dr-rs2 weight 1 (scheduler wrr): expect about 75% / 25%."

step "Look around"
docker_host_line="${lab_env:-# (local Docker engine: no DOCKER_HOST needed)}"
cat <<EOF
Everything runs in Docker containers${DOCKER_HOST:+ inside the lab VM (Docker at ${DOCKER_HOST})}. In a shell:

  ${docker_host_line}
$(while IFS='|' read -r command comment; do printf '  %-66s # %s\n' "${command}" "${comment}"; done <<LOOK
docker exec ${DIRECTOR} ipvsadm -Ln --stats|the IPVS table and its counters
docker exec ${DIRECTOR} ipvsadm -Sn|the table in rules format
docker exec ${DIRECTOR} cat /etc/ipvsadm.rules /etc/ethers|what is restored at boot
docker exec ${DIRECTOR} systemctl status ipvsadm.service|the restore unit
docker exec ${CLIENT} curl -s http://${VIP}:${PORT}/|one request through the VIP
docker exec ${CLIENT} ip neigh show ${VIP}|the VIP resolves to the director's MAC
docker exec lvs-dr-rs1 ip -4 address show dev lo|the VIP on a real server's loopback
docker exec lvs-dr-rs1 sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce|arp_ignore=1, arp_announce=2
LOOK
)

Re-run the site playbook yourself (the molecule inventory):
  (cd ${repo_root} && ${lab_env:+${lab_env} && }ANSIBLE_COLLECTIONS_PATH=${LVS_DR_COLLECTIONS} ${VENV_DIR}/bin/molecule converge)

Tear it down:
  (cd ${repo_root} && ${lab_env:+${lab_env} && }ANSIBLE_COLLECTIONS_PATH=${LVS_DR_COLLECTIONS} ${VENV_DIR}/bin/molecule destroy)
  ${LAB} down      # stops the lab VM (if you started it for this)
EOF
printf '\ndemo finished in %d s\n' "$((SECONDS - started))"
