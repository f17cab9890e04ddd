"""Shared test fixtures.

- A network guard (autouse, whole session): tests, and the Python subprocesses they start,
  may only talk to loopback. Any attempt
  to resolve a non-local name or connect a socket elsewhere raises RuntimeError naming
  the address, so a test that forgot the relay fails loudly instead of reaching WeChat.
- `fake_wechat`: a running fake WeChat (tests/fakewechat.py) for one test.
- `relay_env`: sets HARVESTER_RELAY so every WeChat host goes to `fake_wechat`.
- `served`: `fake_wechat` relayed to, with the CLI's politeness and retry waits made instant.
- `archive`: where a test's archive goes (not created).
- `http_client`: an HttpClient relayed to `fake_wechat`, with no politeness delays and
  near-zero backoff, for tests that are not about politeness.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakewechat import FakeWeChat

from harvester.http import HttpClient

# --------------------------------------------------------------------------- network guard

# Python subprocesses started by tests load tests/netguard/sitecustomize.py: the same guard.
NETGUARD = str(Path(__file__).resolve().parent / "netguard")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_loopback(host: object) -> bool:
    """A loopback address or a name that can only mean one."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    return ip is not None and ip.is_loopback


def _may_resolve(host: object) -> bool:
    """getaddrinfo may run for loopback, and for None / unspecified addresses (binding)."""
    if host is None or host in ("", b""):
        return True
    if _is_loopback(host):
        return True
    ip = _ip(host.decode() if isinstance(host, bytes) else str(host))
    return ip is not None and ip.is_unspecified


def _check_address(address: object) -> None:
    if isinstance(address, (str, bytes)):  # AF_UNIX path or abstract name
        return
    if isinstance(address, tuple) and address and _is_loopback(address[0]):
        return
    raise RuntimeError(
        f"network guard: tests may only connect to loopback; refused connection to {address!r}"
    )


@pytest.fixture(autouse=True, scope="session")
def _network_guard() -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname

    def connect(self: socket.socket, address: object) -> None:
        if self.family != getattr(socket, "AF_UNIX", None):
            _check_address(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family != getattr(socket, "AF_UNIX", None):
            _check_address(address)
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        _check_address(address)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _may_resolve(host):
            raise RuntimeError(
                f"network guard: tests may only resolve local names; refused lookup of {host!r}"
            )
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not _may_resolve(host):
            raise RuntimeError(
                f"network guard: tests may only resolve local names; refused lookup of {host!r}"
            )
        return real_gethostbyname(host)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "create_connection", create_connection)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket, "gethostbyname", gethostbyname)
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [NETGUARD, os.getenv("PYTHONPATH")]))
        )
        yield


# --------------------------------------------------------------------------- fake WeChat


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    """A fake WeChat on 127.0.0.1 (random port) for one test; `.base_url`, `.relay`."""
    server = FakeWeChat().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def relay_env(fake_wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> str:
    """HARVESTER_RELAY mapping every WeChat host to `fake_wechat`; also set in os.environ."""
    value = fake_wechat.relay_env()
    monkeypatch.setenv("HARVESTER_RELAY", value)
    return value


@pytest.fixture
def served(fake_wechat: FakeWeChat, relay_env: str, monkeypatch: pytest.MonkeyPatch) -> FakeWeChat:
    """The fake WeChat, relayed to, with politeness and retry waits made instant."""
    monkeypatch.setenv("HARVESTER_RATE", "1000")
    monkeypatch.setenv("HARVESTER_BACKOFF", "0.001")
    return fake_wechat


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def http_client(fake_wechat: FakeWeChat) -> Iterator[HttpClient]:
    """An HttpClient relayed to `fake_wechat`: no rate limit, tiny backoff, short timeouts."""
    with HttpClient(
        relay=fake_wechat.relay,
        requests_per_second=None,
        concurrency=8,
        jitter=0.0,
        backoff_base=0.001,
        timeout=(2.0, 5.0),
    ) as client:
        yield client
