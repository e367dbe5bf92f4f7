"""pip install --no-build-isolation .  (from bindings/python): the mmt module built from
this checkout offline, with Debian's setuptools and pybind11 (python3-pybind11), and
the C++ libraries mmt itself needs (scripts/install-deps.sh). The CMake build
(-DMMT_BUILD_PYTHON=ON) builds the same module."""
import pathlib
import re

import pybind11
from setuptools import Extension, setup

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent
version = re.search(r"project\(mmt VERSION ([0-9.]+)", (root / "CMakeLists.txt").read_text()).group(1)

module = Extension(
    "mmt._mmt",
    # Relative to this folder, as setuptools wants them; the C API's one source comes along.
    sources=["module.cpp", "../c/mmt_c.cpp"],
    include_dirs=[str(root / "include"), "/usr/include/eigen3", pybind11.get_include()],
    define_macros=[("MMT_VERSION", f'"{version}"')],
    # -fopenmp-simd: OpenMP's simd pragmas only, no runtime (the ops' threads are the library's own).
    extra_compile_args=["-std=c++17", "-O3", "-fopenmp-simd", "-fvisibility=hidden", "-Wno-unused-parameter"],
    libraries=["png", "jpeg", "utf8proc", "sentencepiece"],
    language="c++",
)

setup(
    name="mmt",
    version=version,
    description="HuggingFace multi-modal transformers (CLIP, SigLIP, LayoutLM, Wav2Vec2, ...) in C++, with HF's numbers",
    packages=["mmt"],
    ext_modules=[module],
    python_requires=">=3.7",
    install_requires=["numpy"],
)
