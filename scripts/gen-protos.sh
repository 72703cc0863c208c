#!/usr/bin/env bash
# Generate the Python gRPC stubs for protos/*.proto (grpcio-tools 1.62 → code for protobuf 4.25).
# Usage: scripts/gen-protos.sh [OUTPUT_ROOT]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath "${1:-.}")"
python=${PYTHON:-.venv/bin/python}
"$python" -m grpc_tools.protoc -I . --python_out="$out" --grpc_python_out="$out" --pyi_out="$out" protos/*.proto
