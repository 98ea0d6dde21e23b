"""Builds the lab's node image and VM disk from Debian packages only.

Imported by lab/lab. Every file under lab/recipe/ (this one included) is hashed into the image key,
so a change to any of them makes the next `lab/lab build` or `lab/lab up` build a new image.
The node stage (debootstrap) has its own, narrower key so that a VM-only change reuses it.
Two engines share the recipe: "qemu" (Debian's linux-image-amd64 in the disk, booted by QEMU) and "uml"
(Debian's user-mode-linux kernel on the host, its modules in the disk); each has its own image key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

RECIPE = Path(__file__).resolve().parent
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
NODE_IMAGE = "lvs-dr/node:bookworm"
DISK_SIZE = "12G"
NODE_STAGE_FILES = ("node-packages", "node-setup.sh")
ENGINES = ("qemu", "uml")
# The UML kernel (Debian's user-mode-linux package) and its modules on the host.
UML_KERNEL = Path("/usr/bin/linux.uml")
UML_MODULES = Path("/usr/lib/uml/modules")
# Recipe files that only one engine uses: a change to them does not rebuild the other engine's image.
ENGINE_FILES = {"qemu": ("vm-packages", "initramfs-modules"), "uml": ("uml-packages",)}

# Host command -> Debian package that provides it (building, then running each engine).
HOST_TOOLS = {
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "tar": "tar",
}
ENGINE_TOOLS = {
    "qemu": {"qemu-img": "qemu-utils", "qemu-system-x86_64": "qemu-system-x86"},
    "uml": {"linux.uml": "user-mode-linux", "ip": "iproute2", "timeout": "coreutils"},
}

# Left out of the node tarball: virtual file systems, caches and package lists.
TAR_EXCLUDES = (
    "./proc/*", "./sys/*", "./dev/*", "./run/*", "./tmp/*",
    "./var/cache/apt/archives/*.deb", "./var/cache/apt/*.bin", "./var/lib/apt/lists/*",
)

C_ENV = {"LC_ALL": "C", "LANGUAGE": "C", "LANG": "C"}


class LabError(Exception):
    """An error with a message meant for the user."""


def _hash_files(paths: list[Path], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(RECIPE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def uml_kernel_release() -> str | None:
    """Release of the host's UML kernel (the name of its modules directory), or None when it is not installed."""
    if not UML_KERNEL.exists() or not UML_MODULES.is_dir():
        return None
    releases = sorted(p.name for p in UML_MODULES.iterdir() if (p / "modules.dep").exists())
    return releases[-1] if releases else None


def recipe_hash(engine: str = "qemu") -> str:
    """The image key of an engine: its recipe files (not the other engine's), and for UML the host's kernel."""
    other = {name for eng, names in ENGINE_FILES.items() if eng != engine for name in names}
    files = [p for p in RECIPE.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
             and p.name not in other]
    if engine == "qemu":
        return _hash_files(files, SUITE)
    kernel = UML_KERNEL.stat() if UML_KERNEL.exists() else None
    extra = f"{SUITE} uml {uml_kernel_release()} {kernel.st_size if kernel else 0} {kernel.st_mtime_ns if kernel else 0}"
    return "uml-" + _hash_files(files, extra)


def node_hash() -> str:
    return _hash_files([RECIPE / name for name in NODE_STAGE_FILES], SUITE)


def read_list(name: str) -> list[str]:
    items = []
    for line in (RECIPE / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            items.append(line)
    return items


def missing_host_packages(tools=None) -> list[str]:
    tools = HOST_TOOLS if tools is None else tools
    return sorted({pkg for cmd, pkg in tools.items() if shutil.which(cmd) is None})


class Builder:
    """Builds the node tarball and the VM disk into the cache directory."""

    def __init__(self, cache: Path, log):
        self.cache = cache
        self.log = log
        self.apt_dir = cache / "apt-archives"
        self.build_dir = cache / "build"
        self.logfile = cache / "build.log"
        self.mirror = os.environ.get("LVS_DR_LAB_MIRROR", DEFAULT_MIRROR)

    # -- helpers -------------------------------------------------------------------------------------------------

    def run(self, cmd: list[str], *, env: dict | None = None, check: bool = True) -> int:
        full_env = dict(os.environ, **C_ENV, **(env or {}))
        with open(self.logfile, "ab") as out:
            out.write(f"\n$ {shlex.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env,
                                  check=False)
        if check and proc.returncode != 0:
            tail = "\n".join(self.logfile.read_text(errors="replace").splitlines()[-25:])
            raise LabError(f"command failed (rc={proc.returncode}): {shlex.join(cmd)}\n"
                           f"--- last lines of {self.logfile} ---\n{tail}")
        return proc.returncode

    def step(self, title: str):
        """Context manager that logs a step and its duration."""
        @contextlib.contextmanager
        def _step():
            self.log(f"{title} ...")
            start = time.monotonic()
            yield
            self.log(f"{title}: done in {time.monotonic() - start:.0f} s")
        return _step()

    @staticmethod
    def _mounts_under(path: Path) -> list[str]:
        prefix = str(path.resolve()).rstrip("/") + "/"
        found = []
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                target = line.split()[1].replace("\\040", " ")
                if target.startswith(prefix):
                    found.append(target)
        return sorted(found, key=len, reverse=True)

    def remove_tree(self, path: Path) -> None:
        """Remove a build tree, unmounting anything a crashed build left mounted in it first."""
        if not path.exists():
            return
        for target in self._mounts_under(path):
            if subprocess.run(["umount", target], check=False).returncode != 0:
                subprocess.run(["umount", "-l", target], check=False)
        if self._mounts_under(path):
            raise LabError(f"refusing to delete {path}: file systems are still mounted under it")
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)

    @contextlib.contextmanager
    def chroot_mounts(self, root: Path):
        self.apt_dir.joinpath("partial").mkdir(parents=True, exist_ok=True)
        plan = [
            (["-t", "proc"], "proc", "proc"),
            (["-t", "sysfs"], "sysfs", "sys"),
            (["--bind"], "/dev", "dev"),
            (["--bind"], "/dev/pts", "dev/pts"),
            (["--bind"], str(self.apt_dir), "var/cache/apt/archives"),
        ]
        done = []
        try:
            for args, source, target in plan:
                mountpoint = root / target
                mountpoint.mkdir(parents=True, exist_ok=True)
                self.run(["mount", *args, source, str(mountpoint)])
                done.append(mountpoint)
            yield
        finally:
            for mountpoint in reversed(done):
                if subprocess.run(["umount", str(mountpoint)], check=False).returncode != 0:
                    subprocess.run(["umount", "-l", str(mountpoint)], check=False)

    def chroot(self, root: Path, *cmd: str) -> None:
        chroot_env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        self.run(["chroot", str(root), *cmd], env=chroot_env)

    # -- stages --------------------------------------------------------------------------------------------------

    def node_tarball(self) -> Path:
        """Debootstrap the node tree once per node-stage key and tar it (the container image)."""
        key = node_hash()
        tarball = self.cache / "node" / key / "node.tar"
        if tarball.exists():
            self.log(f"node tarball {key}: cached ({tarball.stat().st_size // 2**20} MiB)")
            return tarball
        work = self.build_dir / f"node-{key}"
        self.remove_tree(work)
        root = work / "root"
        root.mkdir(parents=True)
        self.apt_dir.mkdir(parents=True, exist_ok=True)
        with self.step(f"debootstrap {SUITE} minbase node tree (debs cached in {self.apt_dir})"):
            self.run(["debootstrap", "--variant=minbase", "--components=main",
                      f"--cache-dir={self.apt_dir}", "--include=" + ",".join(read_list("node-packages")),
                      SUITE, str(root), self.mirror])
        with self.step("configure node tree"):
            shutil.copy(RECIPE / "node-setup.sh", root / "tmp" / "node-setup.sh")
            self.chroot(root, "/bin/sh", "/tmp/node-setup.sh")
            (root / "tmp" / "node-setup.sh").unlink()
        with self.step("tar node tree"):
            tarball.parent.mkdir(parents=True, exist_ok=True)
            partial = tarball.with_suffix(".tar.partial")
            self.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--one-file-system",
                      *[f"--exclude={pattern}" for pattern in TAR_EXCLUDES],
                      "-C", str(root), "-cf", str(partial), "."])
            partial.rename(tarball)
        self.remove_tree(work)
        self.log(f"node tarball {key}: {tarball.stat().st_size // 2**20} MiB")
        return tarball

    def vm_disk(self, node_tar: Path, pubkey: Path, key: str, engine: str = "qemu") -> Path:
        """Build the VM tree on top of the node tree and make its raw ext4 disk.

        Returns the work directory holding disk.raw (not baked yet) and the kernel: vmlinuz and initrd.img for
        QEMU, a copy of the host's linux.uml for UML (whose modules go into the tree, indexed by depmod there).
        """
        work = self.build_dir / f"vm-{key}"
        self.remove_tree(work)
        root = work / "root"
        root.mkdir(parents=True)
        with self.step("unpack node tree for the VM"):
            self.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", str(root),
                      "-xpf", str(node_tar)])
        packages = read_list("vm-packages" if engine == "qemu" else "uml-packages")
        if engine == "qemu":
            # Small initramfs: only what mounting the virtio root needs (configured before the kernel arrives).
            conf_d = root / "etc" / "initramfs-tools" / "conf.d"
            conf_d.mkdir(parents=True, exist_ok=True)
            (conf_d / "lvs-dr-lab").write_text("MODULES=list\nCOMPRESS=zstd\n")
            modules_d = root / "usr" / "share" / "initramfs-tools" / "modules.d"
            modules_d.mkdir(parents=True, exist_ok=True)
            shutil.copy(RECIPE / "initramfs-modules", modules_d / "lvs-dr-lab")
        else:
            release = uml_kernel_release()
            if release is None:
                raise LabError(f"no UML kernel: {UML_KERNEL} and {UML_MODULES}/<release> come from the "
                               "user-mode-linux package")
            with self.step(f"UML {release}: modules into the tree, depmod in the chroot"):
                (root / "usr" / "lib" / "modules").mkdir(parents=True, exist_ok=True)  # /lib is usr/lib
                self.run(["cp", "-a", str(UML_MODULES / release), str(root / "usr" / "lib" / "modules" / release)])
                self.chroot(root, "/sbin/depmod", "-a", release)
        policy = root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\n# Built in a chroot: start no services.\nexit 101\n")
        policy.chmod(0o755)
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        (root / "etc" / "apt" / "sources.list").write_text(f"deb {self.mirror} {SUITE} main\n")
        apt = ["apt-get", "-o", "APT::Sandbox::User=root", "-o", "Dpkg::Use-Pty=0"]
        with self.chroot_mounts(root):
            with self.step("apt-get install " + " ".join(packages)):
                self.chroot(root, *apt, "update")
                # No `apt-get clean`: the archives directory is the cache's, bind-mounted, and kept for rebuilds.
                self.chroot(root, *apt, "install", "-y", "--no-install-recommends", *packages)
            with self.step(f"configure VM tree ({engine})"):
                shutil.copy(RECIPE / "vm-setup.sh", root / "tmp" / "vm-setup.sh")
                shutil.copy(pubkey, root / "tmp" / "lab-key.pub")
                self.chroot(root, "/bin/sh", "/tmp/vm-setup.sh", "/tmp/lab-key.pub", engine)
        for leftover in ("tmp/vm-setup.sh", "tmp/lab-key.pub", "usr/sbin/policy-rc.d"):
            (root / leftover).unlink()
        subprocess.run(["rm", "-rf", "--one-file-system", str(root / "var/lib/apt/lists")], check=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        if engine == "qemu":
            kernels = sorted((root / "boot").glob("vmlinuz-*"))
            initrds = sorted((root / "boot").glob("initrd.img-*"))
            if not kernels or not initrds:
                raise LabError(f"no kernel/initrd under {root / 'boot'} after installing linux-image-amd64")
            shutil.copy(kernels[-1], work / "vmlinuz")
            shutil.copy(initrds[-1], work / "initrd.img")
        else:
            # The image keeps its own kernel: a later upgrade of the host package cannot mismatch its modules.
            shutil.copy(UML_KERNEL, work / "linux.uml")
        # The node image rides inside the disk; the bake boot imports it into the VM's Docker.
        inside = root / "var" / "lib" / "lvs-dr-lab"
        inside.mkdir(parents=True, exist_ok=True)
        try:
            os.link(node_tar, inside / "node.tar")
        except OSError:
            shutil.copy(node_tar, inside / "node.tar")
        with self.step(f"mkfs.ext4 -d ({DISK_SIZE} sparse raw disk)"):
            disk = work / "disk.raw"
            self.run(["truncate", "-s", DISK_SIZE, str(disk)])
            self.run(["mkfs.ext4", "-q", "-F", "-L", "lvs-lab", "-E", "lazy_itable_init=1,lazy_journal_init=1",
                      "-d", str(root), str(disk)])
        self.remove_tree(root)
        return work
