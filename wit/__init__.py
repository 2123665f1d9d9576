"""wit: build CLIP-style WebImageText datasets and train CLIP on them.

The import packages mirror the stages: queries/ (the query list and matcher), filters/ (caption
and URL filters), pipeline/ (the Beam job), shards/ (webdataset output and reader) and trainer/
(the bundled CLIP trainer). This package holds what they share: the command frame, the record
contract and the error type.
"""

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("wit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+src"
