#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) lvs.dr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: static_arp
short_description: Manage permanent IPv4 neighbour (static ARP) entries, persisted in /etc/ethers
version_added: 0.1.0
description:
  - Adds or removes permanent IPv4 neighbour entries (IP address to MAC address, per interface) in the running kernel
    with C(ip -4 neigh replace ... nud permanent) and C(ip -4 neigh del).
  - Persists them the classic way in the ethers file (O(ethers_path)), inside a marked block that is the only part of the file
    the module touches; every other line and comment is kept as it is.
  - A boot-time loader unit (O(loader_unit)) runs net-tools C(arp -f) on the ethers file once the network is online, so the
    entries come back after a reboot without Ansible.
  - Each managed line is written in ethers(5) order followed by the C(dev) keyword, for example
    C(02:00:5e:00:53:0a 192.0.2.10 dev eth0). C(arp -f) reads the C(dev) keyword per line, which lets one file hold entries
    for several interfaces. glibc's ethers parser ignores the trailing words.
  - The loader unit is enabled while the managed block has entries, and disabled and removed when the last one goes.
  - In a typical LVS-DR cluster the director pins the MAC addresses of its real servers this way, so that ARP traffic or
    ARP spoofing cannot redirect forwarded frames.
extends_documentation_fragment:
  - lvs.dr.lock
author:
  - lvs.dr maintainers (@lvs-dr)
requirements:
  - iproute2 4.14 or later (C(ip -json)) on the managed host.
  - net-tools C(arp) on the managed host when O(persist=true) (the loader unit runs C(arp -f)).
  - systemd on the managed host when O(persist=true).
notes:
  - Only IPv4 is supported; IPv6 has no ARP (and C(arp -f) cannot load IPv6 neighbours).
  - C(arp -f) remembers the last C(dev) keyword for the following lines. A new managed block is therefore appended at the end
    of the file; lines that other tools add after it would be loaded on the block's last interface.
  - O(state=absent) identifies an entry by O(entries[].address) and O(entries[].interface); O(entries[].mac) is not needed.
    It deletes only a permanent live entry and leaves entries the kernel learned by itself alone.
  - When the managed block loses its last entry it is removed. If the ethers file is then empty, the file is removed too.
attributes:
  check_mode:
    support: full
    description: Reports what would change, including the diff, and touches nothing.
  diff_mode:
    support: full
    description: Shows the affected live neighbour entries, the ethers file and the loader unit, before and after.
  platform:
    support: full
    platforms: posix
    description: Linux only.
options:
  entries:
    description:
      - The neighbour entries to manage.
      - Mutually exclusive with O(address).
    type: list
    elements: dict
    suboptions:
      address:
        description: IPv4 address of the neighbour.
        type: str
        required: true
      mac:
        description:
          - Hardware address. Colons or dashes (V(02:00:5E:00:53:0A), V(02-00-5e-00-53-0a)), Cisco dotted notation
            (V(0200.5e00.530a)) and 12 bare hex digits are accepted. The address is normalized to lower-case colon form.
          - Multicast and broadcast addresses (the lowest bit of the first octet set, for example V(01:00:5e:00:00:01) or
            V(ff:ff:ff:ff:ff:ff)) and the all-zero address are refused, as they cannot be one host's address.
          - Required when O(state=present).
        type: str
      interface:
        description: Interface the entry belongs to. It must exist when O(state=present).
        type: str
        required: true
  address:
    description:
      - IPv4 address of a single entry; shorthand for one item in O(entries).
      - Requires O(interface), and O(mac) when O(state=present).
    type: str
  mac:
    description: Hardware address of the single entry given by O(address). Accepts the same formats as O(entries[].mac).
    type: str
  interface:
    description: Interface of the single entry given by O(address).
    type: str
  state:
    description: Whether the entries should exist (live and persisted) or not.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every entry of the managed block that is not in O(entries), both live and from
        the ethers file, so that the block holds exactly the requested entries. Use it when O(entries) is the complete list,
        for example the real servers of a director.
      - Needs O(persist=true), because the managed block is what tells the module's own entries from the others.
    type: bool
    default: false
  persist:
    description:
      - Whether to keep the ethers file and the loader unit in step with the live entries.
      - With V(false) only the running kernel is changed, and the ethers file and the unit are not touched.
    type: bool
    default: true
  ethers_path:
    description: The ethers file holding the managed block, read by the loader unit.
    type: path
    default: /etc/ethers
  loader_unit:
    description:
      - Name of the systemd unit that runs C(arp -f O(ethers_path)) at boot. The unit is written to C(/etc/systemd/system).
      - Use a different name for each different O(ethers_path).
    type: str
    default: lvs-dr-static-arp.service
seealso:
  - module: lvs.dr.lvs_dr_realserver
  - name: arp(8)
    description: net-tools arp, including C(-f) and its ethers file format.
    link: https://manpages.debian.org/bookworm/net-tools/arp.8.en.html
  - name: ethers(5)
    description: The ethers file format.
    link: https://manpages.debian.org/bookworm/manpages/ethers.5.en.html
"""

EXAMPLES = r"""
- name: Pin the MAC addresses of two real servers on the director
  lvs.dr.static_arp:
    entries:
      - address: 192.0.2.11
        mac: "02:00:5e:00:53:0b"
        interface: eth0
      - address: 192.0.2.12
        mac: "0200.5e00.530c"
        interface: eth0

- name: One entry, live only (nothing persisted)
  lvs.dr.static_arp:
    address: 198.51.100.7
    mac: "02-00-5E-00-53-07"
    interface: eth1
    persist: false

- name: Pin exactly these entries, unpinning any other entry the module manages
  lvs.dr.static_arp:
    entries:
      - address: 192.0.2.11
        mac: "02:00:5e:00:53:0b"
        interface: eth0
    purge: true

- name: Remove an entry (live and from /etc/ethers)
  lvs.dr.static_arp:
    address: 192.0.2.12
    interface: eth0
    state: absent
"""

RETURN = r"""
entries:
  description: The requested entries, validated and normalized (MAC in lower-case colon form).
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.11
      mac: "02:00:5e:00:53:0b"
      interface: eth0
changed_entries:
  description: The entries whose live state changed (or would change in check mode), including purged ones.
  returned: always
  type: list
  elements: dict
  sample:
    - address: 192.0.2.11
      mac: "02:00:5e:00:53:0b"
      interface: eth0
ethers_path:
  description: The ethers file used for persistence.
  returned: when O(persist=true)
  type: str
  sample: /etc/ethers
loader_unit:
  description: Name of the loader unit. It is enabled while the managed block has entries.
  returned: when O(persist=true)
  type: str
  sample: lvs-dr-static-arp.service
commands:
  description: The C(ip) command lines that were run (or would run in check mode) to change the live neighbour table.
  returned: always
  type: list
  elements: list
  sample:
    - ["/usr/sbin/ip", "-4", "neigh", "replace", "192.0.2.11", "lladdr", "02:00:5e:00:53:0b", "dev", "eth0", "nud", "permanent"]
"""

from ansible_collections.lvs.dr.plugins.module_utils._lock import HostLock
from ansible_collections.lvs.dr.plugins.module_utils._static_arp import build_module, run


def main():
    module = build_module()
    with HostLock(module, 'lvs.dr.static_arp'):
        result = run(module)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
