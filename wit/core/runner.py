"""Beam runner options for every command that runs a pipeline (`wit build`, `wit fetch`, `wit queries build`).

Locally the job runs on Beam's FnApiRunner, the engine behind DirectRunner, created explicitly:
in Beam >= 2.60 `DirectRunner` first tries the Prism runner, which downloads a binary at run
time. Workers are separate processes (`direct_running_mode=multi_processing`, one per core) for
real inputs and the in-process mode for small ones, where starting processes would cost more
than the work. That choice is the text side's: a local build's fetch stage runs after the job
in its own pool of one process per core (local_fetch_workers, pipeline/fetch_pool.py). Any other runner (DataflowRunner, FlinkRunner, ...) and all its options pass
through untouched.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

# Beam is imported by the functions that need it, not here: `wit build` decides from the plain
# flags (local_fetch_pool_size) whether to start its fetch processes before importing Beam
# (~1.5 CPU s), so that their start-up overlaps that import.

LOCAL_RUNNER_NAMES = ("DirectRunner", "direct", "FnApiRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner")
# Below this much input, starting worker processes costs more than it saves.
SMALL_INPUT_BYTES = 16 * 1024 * 1024


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _given(beam_args: list[str], name: str) -> bool:
    return any(arg == f"--{name}" or arg.startswith(f"--{name}=") for arg in beam_args)


def is_local_runner(options: PipelineOptions) -> bool:
    from apache_beam.options.pipeline_options import StandardOptions

    runner = options.view_as(StandardOptions).runner
    return runner is None or runner in LOCAL_RUNNER_NAMES


def workers_share_launcher_disk(options) -> bool:
    """True only for the local FnApiRunner, whose workers run on this machine."""
    return is_local_runner(options)


def runner_name(options) -> str:
    from apache_beam.options.pipeline_options import StandardOptions

    return options.view_as(StandardOptions).runner or "DirectRunner"


def is_local_path(path: str) -> bool:
    """A path on this machine's disk: a plain path or a file:// URL."""
    from wit.core.storage import is_url

    return not is_url(path) or str(path).lower().startswith("file://")


def refuse_local_paths(named: dict[str, Iterable[str]], options) -> None:
    """UsageError (exit 2) when a remote runner's workers would have to open local paths.

    `named` maps an option (`--input`) to the paths it gave."""
    from wit.core.errors import UsageError

    local = {option: [path for path in paths if is_local_path(path)] for option, paths in named.items()}
    local = {option: paths for option, paths in local.items() if paths}
    if not local:
        return
    listed = "; ".join(f"{option} {paths[0]}" + (f" and {len(paths) - 1:,} more" if len(paths) > 1 else "")
                       for option, paths in local.items())
    raise UsageError(f"{runner_name(options)} runs the workers on other machines, which cannot read this machine's "
                     f"files: {listed}. Put them in a bucket the workers can read (gs://, s3://) and pass its URL")


def make_pipeline_options(beam_args: list[str], *, input_bytes: int | None = None) -> PipelineOptions:
    """PipelineOptions from the Beam flags, with local defaults filled in.

    `input_bytes` (total size of the inputs, None when unknown) picks the local running mode
    when the user did not: in_memory below SMALL_INPUT_BYTES, multi_processing above.
    """
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

    beam_args = list(beam_args)
    options = PipelineOptions(beam_args)
    if is_local_runner(options):
        small = input_bytes is not None and input_bytes < SMALL_INPUT_BYTES
        if _given(beam_args, "direct_num_workers"):
            # Asking for workers means worker processes, whatever the input size.
            small = PipelineOptions(beam_args).view_as(DirectOptions).direct_num_workers == 1
        if not _given(beam_args, "direct_running_mode"):
            beam_args.append(f"--direct_running_mode={'in_memory' if small else 'multi_processing'}")
        if not _given(beam_args, "direct_num_workers"):
            beam_args.append(f"--direct_num_workers={1 if small else available_cores()}")
        if not _given(beam_args, "default_sdk_harness_log_level"):
            # Local worker processes log every channel they open at INFO onto the user's terminal.
            beam_args.append("--default_sdk_harness_log_level=WARNING")
        if not _given(beam_args, "sdk_harness_log_level_overrides"):
            # ... and warn at start-up about things that do not apply to a local run.
            beam_args.append('--sdk_harness_log_level_overrides={"__main__": "ERROR", '
                             '"apache_beam.options.pipeline_options": "ERROR"}')
        options = PipelineOptions(beam_args)
    return options


def local_fetch_workers(beam_args: list[str]) -> int:
    """Fetch processes of a local run: one per core whatever the input size (the fetch stage
    is bound by its own work, not by the input's bytes), or --direct_num_workers when given."""
    if _given(beam_args, "direct_num_workers"):
        from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

        return max(1, PipelineOptions(list(beam_args)).view_as(DirectOptions).direct_num_workers or 1)
    return available_cores()


class _SilentParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ValueError(message)


def local_fetch_pool_size(beam_args: list[str]) -> int:
    """The fetch processes a local `wit build` will start, read from the plain flags without
    importing Beam: local_fetch_workers on the local runner, 0 for another runner, a dry run or
    a single worker (the stage then runs in the launcher). `wit build` starts them before
    importing Beam; run_build, which decides with Beam's own parsing, drops them if it decides
    otherwise."""
    parser = _SilentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runner")
    parser.add_argument("--direct_num_workers", type=int)
    parser.add_argument("--dry_run")
    try:
        known, _ = parser.parse_known_args(list(beam_args))
    except ValueError:  # a malformed value: Beam says so, once; start nothing early
        return 0
    if known.runner not in (None, *LOCAL_RUNNER_NAMES):
        return 0
    if str(known.dry_run).lower() in ("true", "1", "yes"):
        return 0
    workers = known.direct_num_workers if known.direct_num_workers is not None else available_cores()
    return workers if workers > 1 else 0


def use_options_in_launcher(beam_args: list[str]) -> None:
    """Hand the run's Beam options to Beam's FileSystems in this (the launcher's) process.

    Beam does so only when a Pipeline is made, but the launcher lists s3:// inputs before that,
    and Beam's S3 client cannot even start without its options (--s3_endpoint_url ...).
    """
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    FileSystems.set_options(PipelineOptions(list(beam_args)))


def make_runner(options: PipelineOptions):
    """The runner object to give beam.Pipeline: FnApiRunner locally, else None (Beam's choice).

    Returning None lets Beam resolve `--runner` (DataflowRunner, FlinkRunner ...) itself.
    """
    if is_local_runner(options):
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        # As DirectRunner does: hand the options to the workers through the provision info, so
        # worker processes see them too (their log level among them).
        provision_info = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(
            pipeline_options=JobServiceHandle.encode_pipeline_options(options.get_all_options())))
        return fn_runner.FnApiRunner(provision_info=provision_info)
    return None


def describe_runner(options: PipelineOptions) -> str:
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    if is_local_runner(options):
        direct = options.view_as(DirectOptions)
        return f"local FnApiRunner, {direct.direct_running_mode}, {direct.direct_num_workers} worker(s)"
    return options.view_as(StandardOptions).runner


# Dataflow refuses a job whose creation request is over 10 MB; the pipeline proto is most of it.
DATAFLOW_REQUEST_LIMIT_BYTES = 10 * 1024 * 1024


def is_dry_run(options: PipelineOptions) -> bool:
    """Beam's --dry_run=True: build the job, submit nothing (DataflowRunner honours it itself)."""
    from apache_beam.options.pipeline_options import TestOptions

    return str(options.view_as(TestOptions).dry_run).lower() in ("true", "1", "yes")


def dry_run(pipeline, options: PipelineOptions, inputs: list[tuple[str, str, int]]) -> dict:
    """Build the whole job as the runner would and describe it; read and write nothing.

    `inputs` is (path, format, size or -1) per input file. A remote runner builds its job through
    Beam's own dry run (DataflowRunner returns before submitting); a local runner is not run at
    all. Raises WitError when the job is too large for Dataflow to accept.
    """
    from apache_beam.options.pipeline_options import SetupOptions, WorkerOptions

    from wit.core.errors import WitError

    proto = None
    if not is_local_runner(options):
        result = pipeline.run()  # a dry run: returns once the job request is built
        proto = getattr(getattr(result, "job", None), "proto_pipeline", None)
    if proto is None:
        proto = pipeline.to_runner_api()
    size = len(proto.SerializeToString())
    worker = options.view_as(WorkerOptions)
    formats: dict[str, int] = {}
    for _, fmt, _ in inputs:
        formats[fmt] = formats.get(fmt, 0) + 1
    sizes = [size_bytes for _, _, size_bytes in inputs]
    description = {
        "runner": describe_runner(options),
        "stages": [part.full_label for part in pipeline.transforms_stack[0].parts],
        "worker_image": worker.sdk_container_image or options.view_as(SetupOptions).sdk_location or "Beam's default SDK image",
        "pipeline_bytes": size,
        "limit_bytes": DATAFLOW_REQUEST_LIMIT_BYTES,
        "input_files": len(inputs),
        "input_formats": dict(sorted(formats.items())),
        "input_bytes": sum(sizes) if inputs and all(s >= 0 for s in sizes) else None,
        "first_inputs": [path for path, _, _ in inputs[:3]],
    }
    if size > DATAFLOW_REQUEST_LIMIT_BYTES:
        raise WitError(f"the job is {size / 2**20:.2f} MiB, over Dataflow's {DATAFLOW_REQUEST_LIMIT_BYTES / 2**20:.0f} MiB "
                       "request limit: split the input list over several jobs")
    return description


def format_dry_run(command: str, description: dict) -> str:
    """The lines a dry run prints."""
    formats = ", ".join(f"{name} {n:,}" for name, n in description["input_formats"].items())
    size = description["input_bytes"]
    inputs = f"{description['input_files']:,} file(s) ({formats})" + (f", {size / 1e9:.2f} GB" if size is not None else "")
    lines = [
        f"{command}: dry run on {description['runner']}: the job was built, nothing was read or written",
        f"  stages        {', '.join(description['stages'])}",
        f"  worker image  {description['worker_image']}",
        f"  pipeline      {description['pipeline_bytes'] / 2**20:.2f} MiB (Dataflow accepts up to {description['limit_bytes'] / 2**20:.0f} MiB)",
        f"  inputs        {inputs}",
    ]
    lines += [f"                {path}" for path in description["first_inputs"]]
    return "\n".join(lines)
