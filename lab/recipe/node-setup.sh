#!/bin/sh
# Runs in a chroot of the freshly debootstrapped node tree (no /proc, no network needed).
# The node image is used for privileged systemd containers; the same tree is the base of the VM.
set -eu

# Containers get their own machine id at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# Lab nodes have no network access to Debian mirrors: drop the package lists to keep the image small.
rm -rf /var/lib/apt/lists/*
mkdir -p /var/lib/apt/lists/partial

# Key-based root login only; the lab injects its public key at run time.
install -d -m 0700 /root/.ssh
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/lvs-dr-lab.conf <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
CONF

# Timers and services that only cost time (or fail) in a short-lived lab node.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    getty@tty1.service systemd-firstboot.service; do
    ln -sf /dev/null "/etc/systemd/system/${unit}"
done
