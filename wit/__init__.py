"""wit: build CLIP-style WebImageText datasets and train CLIP on them.

One namespace over four layers; imports only go down (docs/architecture.md):

    wit.app                              the `wit` command, demo, report, sample web
    wit.pipeline, wit.trainer            the stages (Beam job; CLIP trainer)
    wit.queries, wit.filters, wit.shards the libraries they compose
    wit.core                             records, errors, output layout (imports none of the above)

This module holds only the version, so importing any part of wit imports nothing else.
"""

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("wit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+src"
