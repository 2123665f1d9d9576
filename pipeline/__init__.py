"""Apache Beam stages of `wit build`: read candidates, filter, dedup, match, cap, fetch, write."""
