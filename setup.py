"""The C extensions: the query matcher's scanner (queries/_fastmatch.c), the dump counter's word
and pair counter (queries/_ngramcount.c), fastText inference
for language identification (filters/_fastlid.c), the caption rules' proven-keep pre-checks
(filters/_rulescan.c) and the fetch stage's image resize (pipeline/_resample.c).

Everything else is configured in pyproject.toml. Every extension is optional: without a C
compiler the install still succeeds, wit.queries.matcher falls back to its pure-Python scanner (same
results, about 15-20x slower), wit.queries.dump_counts to wikipedia.PythonNgramCounter (same
counts, slower), and wit.filters.language to fasttext-predict's own predict (same
answers, several times slower per caption), the filter chain runs every caption rule in
Python (same verdicts, slower), and wit.pipeline.images resizes with Pillow (within a level or two
per channel, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("wit.queries._fastmatch", sources=["queries/_fastmatch.c"], optional=True),
        Extension("wit.queries._ngramcount", sources=["queries/_ngramcount.c"], optional=True),
        Extension("wit.filters._fastlid", sources=["filters/_fastlid.c"], optional=True),
        Extension("wit.filters._rulescan", sources=["filters/_rulescan.c"], optional=True),
        Extension("wit.pipeline._resample", sources=["pipeline/_resample.c"], optional=True),
    ]
)
