# syntax=docker/dockerfile:1
# Two images from one file, both installed from requirements/constraints.txt (the lock CI uses):
#   docker build --target pipeline -t wit-pipeline .   # Beam SDK worker + launcher (Dataflow)
#   docker build --target trainer  -t wit-trainer  .   # CUDA PyTorch + the train extra
# docs/dataflow.md says how to push them and launch jobs.

ARG BEAM_VERSION=2.77.0
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- source: the project files both images install --------------------------------------
FROM scratch AS source
COPY pyproject.toml setup.py README.md /src/
COPY requirements/ /src/requirements/
COPY wit/ /src/wit/
COPY pipeline/ /src/pipeline/
COPY queries/ /src/queries/
COPY filters/ /src/filters/
COPY shards/ /src/shards/
COPY trainer/ /src/trainer/

# ---- pipeline: the Beam Python SDK worker image with wit installed ---------------------
# Usable as --sdk_container_image on Dataflow (workers import wit's DoFns from it) and as the
# launcher (the entrypoint stays the SDK harness; run `wit build` with --entrypoint wit).
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS pipeline
COPY --from=source /src /opt/wit
RUN apt-get update -q && apt-get install -y -q --no-install-recommends wordnet-base \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir -c /opt/wit/requirements/constraints.txt "/opt/wit[gcp,aws]"
# The SDK image's ENTRYPOINT (/opt/apache/beam/boot) is kept so Dataflow can start workers.

# ---- trainer: PyTorch's CUDA build (locked version) + the train extra --------------------
# PyPI's torch wheels carry the CUDA runtime as nvidia-* wheels, so a plain Python base is
# enough: the host needs only the NVIDIA driver and the container toolkit (--gpus all).
FROM ${PYTHON_IMAGE} AS trainer
COPY --from=source /src /opt/wit
# The lock pins torch==2.13.0 without a local tag, so PyPI serves its CUDA build here.
RUN pip install --no-cache-dir "$(grep -E '^torch==' /opt/wit/requirements/constraints.txt)" \
    && pip install --no-cache-dir -c /opt/wit/requirements/constraints.txt "/opt/wit[train]"
WORKDIR /workspace
ENTRYPOINT ["wit"]
CMD ["--help"]
