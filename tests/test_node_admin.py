"""The node's own calls (info, modules, proxies, masters, followers): what each sends to a
respx-mocked node and how it reads the answer.
"""

from __future__ import annotations

import pytest

import joule_sync
from joule_sync import ConfigurationError, Master
from wire import (
    DBINFO_JSON,
    MODULE_JSON,
    PROXY_JSON,
    STATISTICS_JSON,
    UUID,
    VERSION_JSON,
    body_of,
    ok,
    params_of,
)

# -- node info -------------------------------------------------------------------------


def test_info_combines_version_and_dbinfo(mocked_node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(json=DBINFO_JSON)
    info = mocked_node.info()
    assert (info.version, info.name, info.uuid, info.path) == ("1.0.1", "refnode", UUID, "/pg")
    assert (info.size_other, info.size_reserved, info.size_free, info.size_db) == (10, 20, 30, 40)


# -- modules, proxies ------------------------------------------------------------------


def test_module_list(mocked_node, mock):
    route = mock.get("/modules.json").respond(json=[MODULE_JSON])
    modules = mocked_node.module_list()
    assert params_of(route) == {"statistics": "0"}
    assert (modules[0].name, modules[0].outputs, modules[0].statistics) == (
        "random",
        {"output": "/live/random"},
        None,
    )
    route.respond(json=[{**MODULE_JSON, "statistics": STATISTICS_JSON}])
    stats = mocked_node.module_list(statistics=True)[0].statistics
    assert params_of(route) == {"statistics": "1"}
    assert stats is not None and (stats.pid, stats.memory_percent) == (4455, 0.4)


def test_module_get(mocked_node, mock):
    route = mock.get("/module.json").respond(json=MODULE_JSON)
    assert mocked_node.module_get("random").id == 0
    assert params_of(route) == {"name": "random", "statistics": "0"}
    mocked_node.module_get(0, statistics=True)
    assert params_of(route) == {"id": "0", "statistics": "1"}


def test_module_logs(mocked_node, mock):
    lines = ["[2026-11-24T02:29:19.324595]: ---starting module---"]
    route = mock.get("/module/logs.json").respond(json=lines)
    assert mocked_node.module_logs("random") == lines
    assert params_of(route) == {"name": "random"}
    mocked_node.module_logs(joule_sync.Module.from_json(MODULE_JSON))
    assert params_of(route) == {"id": "0"}


def test_proxy_list_and_get(mocked_node, mock):
    mock.get("/proxies.json").respond(json=[PROXY_JSON])
    route = mock.get("/proxy.json").respond(json=PROXY_JSON)
    [proxy] = mocked_node.proxy_list()
    assert (proxy.id, proxy.name, proxy.target_url) == (
        0,
        "refnode_self",
        "http://127.0.0.1:18088/version/",
    )
    assert mocked_node.proxy_get("refnode_self") == proxy
    assert params_of(route) == {"name": "refnode_self"}
    mocked_node.proxy_get(proxy)
    assert params_of(route) == {"id": "0"}


# -- masters, followers ----------------------------------------------------------------


def test_master_add_returns_the_new_users_key(mocked_node, mock):
    new_key = "_6Ydw-AMr04UPhhDHFDyXseQ11WgM6A-EY2rvdOc6no"
    route = mock.post("/master.json").respond(json={"key": new_key, "name": "refnode"})
    master = mocked_node.master_add("user", "bob")
    assert body_of(route) == {
        "master_type": "user",
        "identifier": "bob",
        "lumen_params": None,
        "api_key": None,
    }
    assert (master.master_type, master.name, master.key) == ("user", "bob", new_key)
    mocked_node.master_add("lumen_node", "lumen.test", lumen_parameters={"auth_key": "k"})
    assert body_of(route)["master_type"] == "lumen"
    assert body_of(route)["lumen_params"] == {"auth_key": "k"}


def test_master_list(mocked_node, mock):
    mock.get("/masters.json").respond(
        json=[
            {"id": 1, "name": "refnode", "type": "USER", "grantor_id": None},
            {"id": 2, "name": "other", "type": "JOULE_NODE", "grantor_id": 1},
        ]
    )
    masters = mocked_node.master_list()
    assert [(m.master_type, m.name, m.key) for m in masters] == [
        ("user", "refnode", None),
        ("joule_node", "other", None),
    ]


def test_master_delete_and_its_alias(mocked_node, mock):
    route = ok(mock.delete("/master.json"))
    mocked_node.master_delete("user", "bob")
    assert params_of(route) == {"master_type": "user", "name": "bob"}
    mocked_node.master_remove(Master("joule_node", "other"))
    assert params_of(route) == {"master_type": "joule", "name": "other"}
    with pytest.raises(ConfigurationError, match="master type and a name"):
        mocked_node.master_delete("user")


def test_follower_list_and_delete(mocked_node, mock):
    mock.get("/followers.json").respond(
        json=[{"id": 1, "name": "f1", "location": "http://f1:8088", "key": "follower-secret"}]
    )
    route = ok(mock.delete("/follower.json"))
    [follower] = mocked_node.follower_list()
    assert (follower.name, follower.url, follower.key) == (
        "f1",
        "http://f1:8088",
        "follower-secret",
    )
    mocked_node.follower_delete(follower)
    assert params_of(route) == {"name": "f1"}
    mocked_node.follower_remove("f2")
    assert params_of(route) == {"name": "f2"}
