"""Runner options and the `wit build` command line (no pipeline run here)."""

import pytest

from wit.core.runner import (
    available_cores,
    is_dry_run,
    is_local_runner,
    local_fetch_pool_size,
    local_fetch_workers,
    make_pipeline_options,
    make_runner,
)
from apache_beam.options.pipeline_options import DirectOptions, GoogleCloudOptions, StandardOptions
from wit.app.cli import main


def test_local_default_is_multiprocess_fnapi_never_prism():
    options = make_pipeline_options([])
    direct = options.view_as(DirectOptions)
    assert direct.direct_running_mode == "multi_processing"
    assert direct.direct_num_workers == available_cores()
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    assert isinstance(make_runner(options), FnApiRunner)


def test_small_input_runs_in_memory_and_user_choice_wins():
    small = make_pipeline_options([], input_bytes=1000).view_as(DirectOptions)
    assert (small.direct_running_mode, small.direct_num_workers) == ("in_memory", 1)
    chosen = make_pipeline_options(["--direct_running_mode=multi_processing", "--direct_num_workers", "2"],
                                   input_bytes=1000).view_as(DirectOptions)
    assert (chosen.direct_running_mode, chosen.direct_num_workers) == ("multi_processing", 2)
    workers_only = make_pipeline_options(["--direct_num_workers", "2"], input_bytes=1000).view_as(DirectOptions)
    assert (workers_only.direct_running_mode, workers_only.direct_num_workers) == ("multi_processing", 2)


def test_the_fetch_stage_gets_every_core_whatever_the_input_size():
    # A small input runs its text side in memory with one worker, but the fetch stage's pool is
    # sized by the cores; only an explicit --direct_num_workers changes it.
    assert make_pipeline_options([], input_bytes=1000).view_as(DirectOptions).direct_num_workers == 1
    assert local_fetch_workers([]) == available_cores()
    assert local_fetch_workers(["--direct_num_workers", "3"]) == 3
    assert local_fetch_workers(["--direct_num_workers=1", "--direct_running_mode=in_memory"]) == 1


@pytest.mark.parametrize("beam_args", [
    [], ["--direct_num_workers", "3"], ["--direct_num_workers=1"], ["--direct_num_workers=2", "--direct_running_mode=in_memory"],
    ["--runner", "DirectRunner"], ["--runner=FnApiRunner", "--direct_num_workers", "4"],
    ["--runner", "DataflowRunner", "--project", "p", "--region", "r", "--temp_location", "gs://wit-bucket/tmp"],
    ["--runner=FlinkRunner"], ["--dry_run=True"], ["--dry_run", "True", "--direct_num_workers", "2"], ["--dry_run=False"],
    ["--setup_file", "./setup.py", "--direct_num_workers", "2"],
])
@pytest.mark.parametrize("cores", [1, 2, 8])
def test_the_pool_started_before_beam_is_the_one_the_build_decides_on(beam_args, cores, monkeypatch):
    # `wit build` starts its fetch processes from the plain flags before importing Beam
    # (local_fetch_pool_size); run_build decides with Beam's own parsing. They must agree, or
    # the early processes are wasted and started again.
    import wit.core.runner as runner

    monkeypatch.setattr(runner, "available_cores", lambda: cores)
    options = make_pipeline_options(beam_args, input_bytes=1000)
    workers = local_fetch_workers(beam_args)
    decided = workers if is_local_runner(options) and not is_dry_run(options) and workers > 1 else 0
    assert local_fetch_pool_size(beam_args) == decided


def test_a_malformed_flag_starts_nothing_early_and_prints_nothing(capsys):
    assert local_fetch_pool_size(["--direct_num_workers", "many"]) == 0
    assert local_fetch_pool_size(["--dry_run"]) == 0
    assert capsys.readouterr().err == ""


def test_the_runner_module_does_not_import_beam():
    import subprocess
    import sys

    code = "import sys, wit.core.runner as r; r.local_fetch_pool_size([]); print('apache_beam' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_explicit_direct_runner_still_avoids_prism():
    options = make_pipeline_options(["--runner", "DirectRunner"])
    assert is_local_runner(options)
    assert type(make_runner(options)).__name__ == "FnApiRunner"


def test_dataflow_options_pass_through():
    args = ["--runner", "DataflowRunner", "--project", "p", "--region", "us-central1",
            "--temp_location", "gs://b/tmp", "--sdk_container_image", "img:1"]
    options = make_pipeline_options(args)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.view_as(GoogleCloudOptions).project == "p"
    assert make_runner(options) is None  # Beam resolves DataflowRunner itself
    assert "direct_running_mode" not in options.get_all_options(drop_default=True)


def test_unknown_flags_reach_the_handler_as_beam_args(monkeypatch):
    seen = {}
    import wit.pipeline.build_cli

    monkeypatch.setattr(wit.pipeline.build_cli, "run", lambda args: seen.setdefault("args", args) and 0)
    parser_main = main(["build", "--input", "x.wat.gz", "--out", "o", "--runner", "DataflowRunner",
                        "--project", "p", "--direct_num_workers=3"])
    args = seen["args"]
    assert parser_main == 0
    assert args.input == ["x.wat.gz"]
    assert args.beam_args == ["--runner", "DataflowRunner", "--project", "p", "--direct_num_workers=3"]


def test_other_commands_still_reject_unknown_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-flag"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("argv,message", [
    (["build", "--out", "o"], "nothing to read"),
    (["build", "--input", "/no/such/dir/*.wat.gz", "--out", "o"], "no input files match"),
    (["build", "--input", "x.wat.gz", "--max-files", "2", "--out", "o"], "--max-files goes with --crawl"),
    (["build", "--crawl", "CC-2024", "--out", "o"], "CC-MAIN-2024-22"),
])
def test_build_usage_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_whole_graph_serialises_for_a_remote_runner(shared_data, tmp_path):
    """What Dataflow does at submission: the graph to a runner-API proto, every DoFn pickled.

    Catches unpicklable state (a matcher, a client, a lock) held by a DoFn at construction.
    """
    import apache_beam as beam
    from apache_beam.internal import pickler
    from apache_beam.options.pipeline_options import PipelineOptions

    from wit.filters.chain import FilterConfig
    from wit.pipeline.build import BuildConfig, build_text_side, continue_into_fetch
    from wit.pipeline.sources.inputs import expand_inputs

    config = BuildConfig(files=tuple(expand_inputs([str(shared_data / "real" / "*.warc.gz")])), out=str(tmp_path / "out"),
                         filter_config=FilterConfig(), queries="default", per_query_cap=5)
    # Built, never run: a runner object keeps Beam from validating Dataflow's required options.
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([]))
    kept = build_text_side(pipeline, config, progress_dir=None)
    continue_into_fetch(kept, config)
    proto = pipeline.to_runner_api()
    pardos = [t for t in proto.components.transforms.values() if t.spec.urn == "beam:transform:pardo:v1"]
    pickled = 0
    for transform in pipeline.transforms_stack[0].parts:
        for part in _walk(transform):
            if isinstance(part.transform, beam.ParDo):
                pickler.loads(pickler.dumps(part.transform.fn))
                pickled += 1
    assert pickled >= len(pardos) > 10  # lifted combines hold ParDos the proto names by a combine URN


def _walk(applied):
    yield applied
    for part in applied.parts:
        yield from _walk(part)
