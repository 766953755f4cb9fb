"""The C loops of `dedup._native` (see dedup/native.py); everything else is in setup.cfg.

The extension is optional: where it cannot be built (no C compiler, no Python headers),
dedup installs all the same and runs its numpy code, with the same results, slower.
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3"]
setup(
    ext_modules=[
        Extension(
            "dedup._native",
            [f"dedup/loops/{name}.c" for name in ("module", "shingles", "text", "paragraphs", "edit_keys", "lines")],
            depends=["dedup/loops/common.h"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
