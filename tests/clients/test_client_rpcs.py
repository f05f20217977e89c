"""The client's RPC declarations hold to the contract: every method, its path and its messages."""

from __future__ import annotations

from dwe.clients import rpcs
from dwe.clients.typed import DweClient
from dwe.v1 import service_pb2

SERVICES = (rpcs.WORKFLOW_SERVICE, rpcs.ENGINE_SERVICE)


def contract() -> dict[str, tuple[str, str, bool]]:
    """Path -> (request, response full names, server-streaming) of the client-facing services."""
    found = {}
    for service in service_pb2.DESCRIPTOR.services_by_name.values():
        if service.full_name not in SERVICES:
            continue
        for method in service.methods:
            found[f"/{service.full_name}/{method.name}"] = (
                method.input_type.full_name,
                method.output_type.full_name,
                method.server_streaming,
            )
    return found


def test_every_rpc_of_the_client_services_is_declared_once_with_its_messages() -> None:
    declared = {
        rpc.path: (
            rpc.request.DESCRIPTOR.full_name,
            rpc.response.DESCRIPTOR.full_name,
            isinstance(rpc, rpcs.StreamRpc),
        )
        for rpc in rpcs.ALL
    }
    assert len(declared) == len(rpcs.ALL)
    assert declared == contract()


def test_every_rpc_has_a_client_method() -> None:
    methods = {name for name in vars(DweClient) if not name.startswith("_")}
    for path in contract():
        name = path.rsplit("/", 1)[1]
        snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")
        assert snake in methods, name


def test_the_sync_client_mirrors_every_async_method() -> None:
    import inspect

    from dwe.clients.sync import SyncDweClient

    rpc_methods = [
        name
        for name, value in vars(DweClient).items()
        if not name.startswith("_") and name != "close" and callable(value)
    ]
    assert len(rpc_methods) == len(rpcs.ALL)
    for name in rpc_methods:
        async_params = inspect.signature(getattr(DweClient, name)).parameters
        sync_params = inspect.signature(getattr(SyncDweClient, name)).parameters
        assert list(sync_params.values()) == list(async_params.values()), name
        assert getattr(SyncDweClient, name).__doc__ == getattr(DweClient, name).__doc__
