"""A Beam worker pool on 127.0.0.1, for jobs whose workers must not share the launcher's view.

`python worker_pool.py` serves Beam's external worker-pool API (what `--environment_type
EXTERNAL --environment_config localhost:PORT` asks for) and prints its port on the first line
of stdout. Each SDK worker it starts is a process booted the way Beam's container entrypoint
boots a Dataflow worker: `python worker_pool.py --id=... --provision_endpoint=...
--control_endpoint=... --logging_endpoint=...` asks the runner's provision service for the job's
pipeline options and execs Beam's sdk_worker_main with them, so the worker's FileSystems get the
job's options (S3 endpoint ...) as on a real worker. (Beam's own worker_pool_main listens on
every interface and starts bare harnesses without the job's options.)
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile

import grpc


def serve() -> None:
    from apache_beam.portability.api import beam_fn_api_pb2_grpc
    from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer
    from apache_beam.utils import thread_pool_executor

    boot = os.path.join(tempfile.mkdtemp(prefix="wit-worker-boot-"), "boot")
    with open(boot, "w") as handle:
        handle.write(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.abspath(__file__)}" "$@"\n')
    os.chmod(boot, stat.S_IRWXU)
    server = grpc.server(thread_pool_executor.shared_unbounded_instance())
    port = server.add_insecure_port("127.0.0.1:0")
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(
        BeamFnExternalWorkerPoolServicer(use_process=True, container_executable=boot), server)
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


def boot_worker(argv: list[str]) -> None:
    from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc, endpoints_pb2
    from google.protobuf import json_format, text_format

    parser = argparse.ArgumentParser()
    for name in ("id", "provision_endpoint", "control_endpoint", "logging_endpoint", "artifact_endpoint"):
        parser.add_argument(f"--{name}", default="")
    args = parser.parse_args(argv)
    with grpc.insecure_channel(args.provision_endpoint) as channel:
        info = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel).GetProvisionInfo(
            beam_provision_api_pb2.GetProvisionInfoRequest(), metadata=[("worker_id", args.id)]).info

    def descriptor(url: str) -> str:
        return text_format.MessageToString(endpoints_pb2.ApiServiceDescriptor(url=url))

    env = {**os.environ, "WORKER_ID": args.id, "PIPELINE_OPTIONS": json_format.MessageToJson(info.pipeline_options),
           "CONTROL_API_SERVICE_DESCRIPTOR": descriptor(args.control_endpoint),
           "LOGGING_API_SERVICE_DESCRIPTOR": descriptor(args.logging_endpoint)}
    os.execve(sys.executable, [sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"], env)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        boot_worker(sys.argv[1:])
    else:
        serve()
