#!/bin/sh
# Generates the Python modules lpstatus.py imports, from the daemon's own .proto files, with Debian's protoc
# (protobuf-compiler, 3.21 in Debian 12: proto3 `optional` needs >= 3.15), its well-known types (libprotobuf-dev,
# /usr/include/google/protobuf) and gRPC's Python plugin (protobuf-compiler-grpc).
#
# Usage: ./generate.sh [OUTDIR]      (default: gen/ next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/gen}
plugin=$(command -v grpc_python_plugin) || { echo "generate.sh: grpc_python_plugin is missing (apt install protobuf-compiler-grpc)" >&2; exit 1; }
[ -f /usr/include/google/protobuf/timestamp.proto ] || { echo "generate.sh: the well-known types are missing (apt install libprotobuf-dev)" >&2; exit 1; }
mkdir -p "$out"
protoc -I "$here/../../protos" -I "$here" -I /usr/include \
  --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  livepatch/v1/agent.proto google/rpc/status.proto google/rpc/error_details.proto grpc_health/v1/health.proto
