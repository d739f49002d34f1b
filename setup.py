"""Build the optional C accelerators (wsdissect/_speedups.c, which includes its parts from wsdissect/csrc/).

``optional=True``: on a machine without a C compiler or Python headers the build is skipped with a warning and
wsdissect runs on its pure-Python path (same output, slower).
"""
from glob import glob

from setuptools import Extension, setup

setup(ext_modules=[Extension("wsdissect._speedups", ["wsdissect/_speedups.c"], depends=sorted(glob("wsdissect/csrc/*.c")),
                             optional=True, extra_compile_args=["-O2"])])
