#!/bin/sh
# Runs in a chroot of the VM tree (node tree + vm-packages installed), with /proc, /sys and /dev mounted.
# $1: path of the lab's SSH public key inside the chroot; $2: the engine, qemu (default) or uml.
set -eu
pubkey="$1"
engine="${2:-qemu}"

echo lvs-lab > /etc/hostname
cat > /etc/hosts <<'CONF'
127.0.0.1	localhost
127.0.1.1	lvs-lab
::1	localhost ip6-localhost ip6-loopback
CONF
mkdir -p /etc/systemd/network
if [ "$engine" = uml ]; then
    echo '/dev/ubda / ext4 rw,errors=remount-ro 0 1' > /etc/fstab
    # UML's vector NIC vec0 sits on a veth pair of the host. Its address comes from the kernel command line
    # (lvs_dr_lab.address=A/P, chosen by lab/lab) and is written for networkd before it starts. The default
    # route is on-link (no gateway: nothing forwards the guest's packets; only the host's end answers ARP),
    # like QEMU's restricted user network, whose default route leads nowhere either: tools that need a route
    # to any address (`arp -f` of /etc/ethers at boot) find one. No DNS.
    cat > /usr/local/sbin/lvs-dr-lab-address <<'SCRIPT'
#!/bin/sh
set -eu
address="$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^lvs_dr_lab\.address=//p' | tail -n 1)"
[ -n "$address" ] || { echo "no lvs_dr_lab.address= on the kernel command line" >&2; exit 1; }
mkdir -p /run/systemd/network
printf '[Match]\nName=vec0\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n%s\n' "$address" \
    '[Route]' > /run/systemd/network/10-lvs-dr-lab-vec0.network
printf 'Destination=0.0.0.0/0\nScope=link\n' >> /run/systemd/network/10-lvs-dr-lab-vec0.network
SCRIPT
    chmod 0755 /usr/local/sbin/lvs-dr-lab-address
    cat > /etc/systemd/system/lvs-dr-lab-address.service <<'CONF'
[Unit]
Description=lvs.dr lab: vec0 address from the kernel command line
DefaultDependencies=no
Before=systemd-networkd.service
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lvs-dr-lab-address

[Install]
WantedBy=systemd-networkd.service
CONF
    systemctl enable lvs-dr-lab-address.service
    : > /etc/resolv.conf
    # The UML kernel's netfilter has no nft nat chain: Docker needs the legacy iptables backend.
    update-alternatives --set iptables /usr/sbin/iptables-legacy
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy
else
    echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > /etc/fstab
    # QEMU user networking: DHCP on the virtio NIC (named en* by udev).
    cat > /etc/systemd/network/10-lvs-dr-lab.network <<'CONF'
[Match]
Name=en*

[Network]
DHCP=ipv4
CONF
    echo 'nameserver 10.0.2.3' > /etc/resolv.conf
fi
systemctl enable systemd-networkd.service
if [ "$engine" = uml ]; then
    # network-online.target waits for vec0's static address (a second at most): units ordered after it, like
    # lvs.dr's static ARP loader (`arp -f /etc/ethers` needs a route), find the network configured.
    mkdir -p /etc/systemd/system/systemd-networkd-wait-online.service.d
    cat > /etc/systemd/system/systemd-networkd-wait-online.service.d/lvs-dr-lab.conf <<'CONF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --interface=vec0 --timeout=60
CONF
    systemctl enable systemd-networkd-wait-online.service
else
    # Nothing here needs to wait for a DHCP lease (dockerd listens on 0.0.0.0): do not hold network-online.target.
    systemctl disable systemd-networkd-wait-online.service
fi

# Root logs in with the lab key only.
install -d -m 0700 /root/.ssh
install -m 0600 "$pubkey" /root/.ssh/authorized_keys

# IPVS and every scheduler this kernel ships, loaded at boot (containers cannot load modules).
kver="$(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
{
    echo ip_vs
    for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
        if ls "/lib/modules/${kver}/kernel/net/netfilter/ipvs/ip_vs_${s}.ko"* >/dev/null 2>&1; then
            echo "ip_vs_${s}"
        fi
    done
} > /etc/modules-load.d/lvs-dr-lab.conf

# dockerd also listens on TCP inside the VM; QEMU forwards it to 127.0.0.1 on the host only, under UML only the
# host's end of the TAP device can reach it.
mkdir -p /etc/systemd/system/docker.service.d
cat > /etc/systemd/system/docker.service.d/lvs-dr-lab.conf <<'CONF'
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2375 --tls=false --containerd=/run/containerd/containerd.sock
CONF
mkdir -p /etc/docker
cat > /etc/docker/daemon.json <<'CONF'
{
  "storage-driver": "overlay2",
  "log-driver": "local"
}
CONF
