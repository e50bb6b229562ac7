"""Build the compiled modules: the record layer (cytls._record), the data path of Connection
and TLSObject on top of it (cytls._datapath) and the reader of a ClientHello's key exchange
offer (cytls._hello). Metadata lives in pyproject.toml.

There is no pure-Python fallback: if the extension cannot be compiled, installation fails
with a message that says what is missing.
"""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExtensions(build_ext):
    """build_ext that turns a compiler failure into an actionable message."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            sys.stderr.write(
                "\nerror: cytls could not compile its extensions (cytls._record, cytls._datapath,\n"
                "cytls._hello).\n"
                "cytls has no pure-Python fallback. Install a C compiler and the Python\n"
                "development headers (Debian/Ubuntu: apt-get install build-essential python3-dev;\n"
                "macOS: xcode-select --install; Windows: Visual Studio Build Tools), or install\n"
                "a prebuilt wheel for your platform.\n\n"
            )
            raise SystemExit(f"cytls: building the extension modules failed: {exc}") from exc


extensions = [
    Extension("cytls._record", ["src/cytls/_record.pyx"]),
    Extension("cytls._datapath", ["src/cytls/_datapath.pyx"]),
    Extension("cytls._hello", ["src/cytls/_hello.pyx"]),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3", "embedsignature": True},
    ),
    cmdclass={"build_ext": BuildExtensions},
)
