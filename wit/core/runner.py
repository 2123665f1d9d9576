"""Beam runner options for every command that runs a pipeline (`wit build`, `wit fetch`, `wit queries build`).

Locally the job runs on Beam's FnApiRunner, the engine behind DirectRunner, created explicitly:
in Beam >= 2.60 `DirectRunner` first tries the Prism runner, which downloads a binary at run
time. Workers are separate processes (`direct_running_mode=multi_processing`, one per core) for
real inputs and the in-process mode for small ones, where starting processes would cost more
than the work. Any other runner (DataflowRunner, FlinkRunner, ...) and all its options pass
through untouched.
"""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

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
    runner = options.view_as(StandardOptions).runner
    return runner is None or runner in LOCAL_RUNNER_NAMES


def make_pipeline_options(beam_args: list[str], *, input_bytes: int | None = None) -> PipelineOptions:
    """PipelineOptions from the Beam flags, with local defaults filled in.

    `input_bytes` (total size of the inputs, None when unknown) picks the local running mode
    when the user did not: in_memory below SMALL_INPUT_BYTES, multi_processing above.
    """
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
    if is_local_runner(options):
        direct = options.view_as(DirectOptions)
        return f"local FnApiRunner, {direct.direct_running_mode}, {direct.direct_num_workers} worker(s)"
    return options.view_as(StandardOptions).runner
