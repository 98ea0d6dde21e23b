#!/bin/sh
# Runs in a chroot of the VM tree (node tree + vm-packages installed), with /proc, /sys and /dev mounted.
# $1: path of the lab's SSH public key inside the chroot.
set -eu
pubkey="$1"

echo lvs-lab > /etc/hostname
cat > /etc/hosts <<'CONF'
127.0.0.1	localhost
127.0.1.1	lvs-lab
::1	localhost ip6-localhost ip6-loopback
CONF
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > /etc/fstab

# QEMU user networking: DHCP on the virtio NIC (named en* by udev).
mkdir -p /etc/systemd/network
cat > /etc/systemd/network/10-lvs-dr-lab.network <<'CONF'
[Match]
Name=en*

[Network]
DHCP=ipv4
CONF
systemctl enable systemd-networkd.service
# Nothing here needs to wait for a DHCP lease (dockerd listens on 0.0.0.0): do not hold network-online.target.
systemctl disable systemd-networkd-wait-online.service
echo 'nameserver 10.0.2.3' > /etc/resolv.conf

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

# dockerd also listens on TCP inside the VM; QEMU forwards it to 127.0.0.1 on the host only.
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
