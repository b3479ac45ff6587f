"""The node itself: its version and disk, its modules and proxies, and who may control it
(masters) or whom it controls (followers).
"""

from __future__ import annotations

from typing import Any

from ._arguments import MASTER_MODEL_TYPES, require_text, spec, wire_master_type
from ._errors import InvalidArgument
from ._models import Follower, Master, Module, NodeInfo, NodeJSON, Proxy
from ._transport import Transport


def info(transport: Transport) -> NodeInfo:
    """The node's version, name, uuid and disk use."""
    version_json = transport.json("GET", "/version.json")
    return NodeInfo.from_json(version_json, transport.json("GET", "/dbinfo"))


def module_list(transport: Transport, statistics: bool = False) -> list[Module]:
    """The node's modules; ``statistics=True`` adds CPU and memory use (takes ~0.5 s)."""
    params = {"statistics": int(bool(statistics))}
    return [Module.from_json(m) for m in transport.json("GET", "/modules.json", params=params)]


def module_get(
    transport: Transport, module: Module | str | int, statistics: bool = False
) -> Module:
    """One module, by object, name or id."""
    params = {
        **spec(module, Module, "module", name_key="name"),
        "statistics": int(bool(statistics)),
    }
    return Module.from_json(transport.json("GET", "/module.json", params=params))


def module_logs(transport: Transport, module: Module | str | int) -> list[str]:
    """A module's recent output lines (stdout and stderr)."""
    params = spec(module, Module, "module", name_key="name")
    logs: list[str] = transport.json("GET", "/module/logs.json", params=params)
    return logs


def proxy_list(transport: Transport) -> list[Proxy]:
    """The URLs the node proxies."""
    return [Proxy.from_json(p) for p in transport.json("GET", "/proxies.json")]


def proxy_get(transport: Transport, proxy: Proxy | str | int) -> Proxy:
    """One proxy, by object, name or id."""
    params = spec(proxy, Proxy, "proxy", name_key="name")
    return Proxy.from_json(transport.json("GET", "/proxy.json", params=params))


def master_add(
    transport: Transport,
    master_type: str,
    identifier: str,
    lumen_parameters: dict[str, Any] | None = None,
    api_key: str | None = None,
) -> Master:
    """Let a user (``user``) or node (``joule``/``lumen``) control this node.

    For a user the returned ``Master.key`` is the user's new API key (or ``api_key``).
    """
    wire_type = wire_master_type(master_type)
    require_text(identifier, "master identifier")
    body = {
        "master_type": wire_type,
        "identifier": identifier,
        "lumen_params": lumen_parameters,
        "api_key": api_key,
    }
    answer = NodeJSON(transport.json("POST", "/master.json", json=body), "master")
    # only a user gets a key; the node answers other types with its name alone
    key = answer.required("key", str) if wire_type == "user" else None
    return Master(MASTER_MODEL_TYPES[wire_type], identifier, key=key)


def master_list(transport: Transport) -> list[Master]:
    """The users and nodes that may control this node (their keys are never listed)."""
    return [Master.from_json(m) for m in transport.json("GET", "/masters.json")]


def master_delete(transport: Transport, master: Master | str, name: str | None = None) -> None:
    """Revoke a master's access: ``master_delete(master)`` or ``(master_type, name)``."""
    if isinstance(master, Master):
        master_type, name = master.master_type, master.name
    else:
        master_type = master
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("master_delete needs a Master, or a master type and a name")
    params = {"master_type": wire_master_type(master_type), "name": name}
    transport.ok("DELETE", "/master.json", params=params)


def follower_list(transport: Transport) -> list[Follower]:
    """The nodes this node may control."""
    return [Follower.from_json(f) for f in transport.json("GET", "/followers.json")]


def follower_delete(transport: Transport, follower: Follower | str) -> None:
    """Forget a follower (by object or name); its API key stays valid on it."""
    name = follower.name if isinstance(follower, Follower) else follower
    require_text(name, "follower name")
    transport.ok("DELETE", "/follower.json", params={"name": name})
