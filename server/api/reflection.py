"""Server reflection under both standard names: grpc.reflection.v1 and v1alpha.

grpcio-reflection ships only the v1alpha service. The v1 service has the same
messages field for field (only the package differs), so the same servicer
answers it, with the v1alpha message classes doing the (identical) wire
encoding. Tools that ask v1 first (grpcurl, Postman, current grpc-js
clients) then work without falling back.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = reflection.SERVICE_NAME
SERVICE_NAMES = (V1, V1ALPHA)


def enable(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serve reflection of ``service_names`` (the two reflection services are added)."""
    names = (*service_names, *SERVICE_NAMES)
    servicer = reflection.aio.ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    for name in SERVICE_NAMES:
        methods = {"ServerReflectionInfo": handler}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, methods),))
