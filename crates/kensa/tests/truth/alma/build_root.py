#!/usr/bin/python3
"""Build an AlmaLinux-looking root with a real rpm database (Debian's rpm).

    build_root.py PACKAGES.TSV ROOT

Writes one minimal spec per package (no files), builds it with
`rpmbuild -bb`, initialises ROOT/var/lib/rpm and installs the packages
there with `--justdb`, then writes ROOT/etc/os-release (AlmaLinux 9.2).
"""

import concurrent.futures
import os
import subprocess
import sys

SPEC = """Name: {name}
{epoch}Version: {version}
Release: {release}
Summary: {name} (Kensa test fixture, no files)
License: MIT
Vendor: {vendor}
BuildArch: {arch}
%description
Kensa detection truth fixture.
%files
"""


def main():
    tsv, root = sys.argv[1], os.path.abspath(sys.argv[2])
    work = os.path.join(root, "..", os.path.basename(root) + "-rpmbuild")
    os.makedirs(work, exist_ok=True)
    pkgs = []
    for line in open(tsv):
        if not line.strip() or line.startswith("#"):
            continue
        name, epoch, version, release, arch, vendor = line.rstrip("\n").split("\t")
        pkgs.append((name, epoch, version, release, arch, vendor))

    def build(i_pkg):
        i, (name, epoch, version, release, arch, vendor) = i_pkg
        d = os.path.join(work, str(i))
        os.makedirs(d, exist_ok=True)
        spec = os.path.join(d, "p.spec")
        with open(spec, "w") as f:
            f.write(SPEC.format(name=name, epoch=f"Epoch: {epoch}\n" if epoch != "-" else "",
                                version=version, release=release, arch=arch, vendor=vendor))
        subprocess.run(["rpmbuild", "-bb", "--quiet", "--target", arch,
                        "--define", f"_topdir {d}/top", "--define", f"_rpmdir {d}/out",
                        "--define", "_build_id_links none", spec],
                       check=True, stdout=subprocess.DEVNULL)
        out = []
        for dp, _, fs in os.walk(os.path.join(d, "out")):
            out += [os.path.join(dp, f) for f in fs if f.endswith(".rpm")]
        assert len(out) == 1, out
        return out[0]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rpms = list(ex.map(build, enumerate(pkgs)))
    os.makedirs(os.path.join(root, "var/lib/rpm"), exist_ok=True)
    db = ["rpm", "--root", root, "--dbpath", "/var/lib/rpm"]
    subprocess.run(db + ["--initdb"], check=True)
    subprocess.run(db + ["-i", "--justdb", "--nodeps", "--noscripts", "--notriggers",
                         "--ignorearch", "--ignoreos", "--nosignature", "--nodigest"] + rpms,
                   check=True)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    with open(os.path.join(root, "etc/os-release"), "w") as f:
        f.write('NAME="AlmaLinux"\nVERSION="9.2 (Turquoise Kodkod)"\nID="almalinux"\n'
                'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.2"\nPLATFORM_ID="platform:el9"\n'
                'PRETTY_NAME="AlmaLinux 9.2 (Turquoise Kodkod)"\n')


if __name__ == "__main__":
    main()
