"""The one C extension: the query matcher's scanner (queries/_fastmatch.c).

Everything else is configured in pyproject.toml. The extension is optional: without a C compiler
the install still succeeds and queries.matcher falls back to its pure-Python scanner (same
results, about 15-20x slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("queries._fastmatch", sources=["queries/_fastmatch.c"], optional=True)])
