"""RADIUS protocol engine: codec, crypto, duplicate cache, server loop and CoA client.

Pure protocol, no Django: the product plugs its subscribers in through ``Policy``.
"""

from .attributes import AttributeCodec, load_dictionary
from .clients import Client, ClientTable
from .coa import CoaClient, CoaResult
from .counters import Counters
from .policy import (
    AccessRequest,
    AccountingRequest,
    AuthDecision,
    AuthMethod,
    Policy,
    ReplyAttribute,
)
from .server import RadiusServer, ServerConfig, serve_processes

__all__ = [
    "AccessRequest",
    "AccountingRequest",
    "AttributeCodec",
    "AuthDecision",
    "AuthMethod",
    "Client",
    "ClientTable",
    "CoaClient",
    "CoaResult",
    "Counters",
    "Policy",
    "RadiusServer",
    "ReplyAttribute",
    "ServerConfig",
    "load_dictionary",
    "serve_processes",
]
