"""Apache Beam stages of `wit build`: read candidates, filter, dedup, match, cap, fetch, write."""

# The paper's cap: at most 20,000 (image, text) pairs per query. It lives here rather than in
# cap.py so that the argparse-only modules (wit build's flags, the search config) read it
# without importing Beam.
DEFAULT_PER_QUERY_CAP = 20000
# URLs a local build's fetch processes may fetch ahead while the text side runs (fetch_ahead.py;
# a byte budget on the images they hold meanwhile bounds it too).
DEFAULT_FETCH_AHEAD = 10000
