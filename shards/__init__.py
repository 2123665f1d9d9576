"""WIT-style webdataset shards: writer, reader, manifest and per-shard stats."""
