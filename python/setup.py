"""Builds numjit's Rust library with cargo and bundles it into the Python package.

The package reaches the library through ctypes (numjit/_lib.py), so building needs cargo and
nothing else: no C compiler, no Python headers. The wheel holds a native library, so it is
platform-specific, but it does not depend on the Python version (tag py3-none-<platform>).

Environment: CARGO (the cargo to run), NUMJIT_CARGO_PROFILE (default "release"; "dev" for a
quick debug build), NUMJIT_CARGO_FEATURES (cargo features, e.g. "llvm" for the LLVM tier, which
then needs libLLVM-19.so at run time as well as at build time), CARGO_TARGET_DIR (honoured as
cargo does).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # the Rust crate
LIBNAME = {"darwin": "libnumjit.dylib", "win32": "numjit.dll"}.get(sys.platform, "libnumjit.so")


def crate_version():
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


class build_py_with_cargo(build_py):
    """Also runs `cargo build` and copies the shared library into the package."""

    def run(self):
        super().run()
        profile = os.environ.get("NUMJIT_CARGO_PROFILE", "release")
        cargo = os.environ.get("CARGO", "cargo")
        command = [cargo, "build", "--lib", "--profile", profile, "--manifest-path", str(ROOT / "Cargo.toml")]
        features = os.environ.get("NUMJIT_CARGO_FEATURES", "").strip()
        if features:
            command += ["--features", features]
        subprocess.run(command, cwd=ROOT, check=True)
        target = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
        built = target / ("debug" if profile == "dev" else profile) / LIBNAME
        dest = Path(self.build_lib) / "numjit" / LIBNAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)


class BinaryDistribution(Distribution):
    """Holds a native library, so it installs to platlib and its wheel names a platform."""

    def has_ext_modules(self):
        return True


class platform_wheel(bdist_wheel):
    """A wheel for this platform that any Python 3 can use (ctypes, no extension modules)."""

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    version=crate_version(),
    distclass=BinaryDistribution,
    cmdclass={"build_py": build_py_with_cargo, "bdist_wheel": platform_wheel},
)
