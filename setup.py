"""Build the optional C accelerators (wsdissect/_speedups.c).

``optional=True``: on a machine without a C compiler or Python headers the build is skipped with a warning and
wsdissect runs on its pure-Python path (same output, slower).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("wsdissect._speedups", ["wsdissect/_speedups.c"], optional=True,
                             extra_compile_args=["-O2"])])
