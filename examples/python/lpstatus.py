#!/usr/bin/python3
"""lpstatus: a livepatchd client in Python, generated from the daemon's own .proto files.

Generate the modules first (README.md), then:

    PYTHONPATH=gen ./lpstatus.py [--socket PATH] status          GetStatus: the kernel and the daemon's state
    PYTHONPATH=gen ./lpstatus.py [--socket PATH] patch NAME      GetPatch: one live patch
    PYTHONPATH=gen ./lpstatus.py [--socket PATH] health [NAME]   grpc.health.v1 Check, then Watch's first answer
    PYTHONPATH=gen ./lpstatus.py [--socket PATH] raw METHOD HEX  HEX as the request body of METHOD, e.g.
                                                                 /livepatch.v1.Agent/GetStatus 0896

A failed call prints "error: CODE REASON: message" on stderr and exits 1; REASON is the ErrorInfo reason
that livepatchd puts in every failure (docs/errors.md), decoded from the google.rpc.Status details.
"""

import argparse
import sys

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from livepatch.v1 import agent_pb2, agent_pb2_grpc

# Where gRPC servers put the google.rpc.Status of a failed call (the grpcio-status package reads the same).
STATUS_DETAILS = "grpc-status-details-bin"


def error_info(error: grpc.RpcError):
    """The ErrorInfo in the call's google.rpc.Status, or None when there is none."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    return info
    return None


def status(channel):
    reply = agent_pb2_grpc.AgentStub(channel).GetStatus(agent_pb2.GetStatusRequest(), timeout=30)
    state = agent_pb2.AgentState.Name(reply.state).removeprefix("AGENT_STATE_").lower()
    print(f"kernel {reply.kernel.release}, livepatchd {reply.daemon_version}, state {state}, "
          f"{reply.enabled_patch_count} of {reply.patch_count} patches enabled")


def patch(channel, name):
    reply = agent_pb2_grpc.AgentStub(channel).GetPatch(agent_pb2.GetPatchRequest(name=name), timeout=30)
    state = agent_pb2.PatchState.Name(reply.state).removeprefix("PATCH_STATE_").lower()
    print(f"{reply.name}: {state}")


def health(channel, service):
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service=service)
    check = stub.Check(request, timeout=30)
    watch = stub.Watch(request, timeout=30)
    first = next(watch)
    watch.cancel()
    name = health_pb2.HealthCheckResponse.ServingStatus.Name
    print(f"health {service or '(server)'}: check {name(check.status)}, watch {name(first.status)}")


def raw(channel, method, body):
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    reply = call(bytes.fromhex(body), timeout=30)
    print(f"{method}: {len(reply)} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/run/livepatchd/livepatchd.sock")
    parser.add_argument("command", choices=["status", "patch", "health", "raw"])
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    with grpc.insecure_channel("unix:" + options.socket) as channel:
        try:
            if options.command == "status":
                status(channel)
            elif options.command == "patch":
                patch(channel, *options.args)
            elif options.command == "health":
                health(channel, *(options.args or [""]))
            else:
                raw(channel, *options.args)
        except grpc.RpcError as error:
            info = error_info(error)
            reason = f"{info.reason} ({info.domain})" if info else "(no ErrorInfo)"
            print(f"error: {error.code().name} {reason}: {error.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
