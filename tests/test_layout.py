"""wit.core.layout: the one place that names the paths of a dataset folder."""

from wit.core.layout import DatasetLayout, join, parquet_name, stats_name, tar_name


def test_paths_of_a_local_folder_and_of_a_bucket_are_joined_alike():
    for root in ("/data/out", "/data/out/", "gs://bucket/out", "s3://bucket/out/"):
        layout = DatasetLayout(root)
        base = root.rstrip("/")
        assert layout.candidates_prefix == f"{base}/candidates/part"
        assert layout.text_counts == f"{base}/counts/text_counts.json"
        assert layout.query_counts == f"{base}/counts/queries.parquet"
        assert layout.shards_dir == f"{base}/shards"
        assert layout.sizes == f"{base}/sizes.json" and layout.shards_sizes == f"{base}/shards/sizes.json"
        assert layout.manifest == f"{base}/manifest.json"
        assert layout.report_dir == f"{base}/report"


def test_shard_files_share_the_shard_name_as_img2dataset_names_them():
    assert (tar_name("00007"), parquet_name("00007"), stats_name("00007")) == ("00007.tar", "00007.parquet", "00007_stats.json")
    assert join("memory://x/", "shards", "00007.tar") == "memory://x/shards/00007.tar"
    assert join("relative") == "relative"
