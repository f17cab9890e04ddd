"""`harvester serve`: Datasette over an archive, read-only, with the archive's plugin.

Datasette runs in this process (uvicorn) with the archive's plugin, as plain
`datasette archive.db` has it through the package's entry point (registered here
too, for a checkout that is not installed); the plugin gives the metadata, the
templates, the pages and the images. Here only the settings differ. The socket is
bound here first, so a port already in use is a one-line error (InputError, exit 2),
and Ctrl-C stops the server quietly.

The database is opened read-only (`mode=ro`), not `immutable`: archive.db is
in WAL mode and a cron harvest may write to it while it is being served; an
immutable reader would ignore the WAL (missing recent articles) and could read
pages mid-checkpoint. Only an archive folder we cannot write to (where SQLite
could not create the WAL index) is opened immutable.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Any

from archive import datasette_plugin
from archive.errors import InputError
from archive.index import check_index

PLUGIN_NAME = "wechat_archive"
SETTINGS = {
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 1000,
    "default_page_size": 50,
}


def register_plugin() -> None:
    """Register archive.datasette_plugin with Datasette's plugin manager (once)."""
    from datasette.plugins import pm

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name=PLUGIN_NAME)


def build_datasette(archive_dir: Path) -> Any:
    """A Datasette instance for the archive at `archive_dir` (not started)."""
    from datasette.app import Datasette

    register_plugin()
    archive_dir = Path(archive_dir)
    db_path = archive_dir / "archive.db"
    if not db_path.is_file():
        raise InputError(f"{archive_dir}: no archive here (no archive.db)")
    check_index(db_path)  # a file SQLite cannot read would be a 500 on every page
    writable = os.access(archive_dir, os.W_OK)
    return Datasette(
        [str(db_path)] if writable else [],
        immutables=[] if writable else [str(db_path)],
        settings=SETTINGS,
    )


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; InputError when that is impossible."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise InputError(f"cannot listen on {host}:{port}: unknown host ({error})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is already in use; stop the other server "
                "or choose another with --port"
            ) from None
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def server_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve_archive(archive_dir: Path, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the archive with Datasette until Ctrl-C (then return normally)."""
    import uvicorn

    datasette = build_datasette(archive_dir)
    sock = listen(host, port)
    config = uvicorn.Config(
        datasette.app(), log_level="warning", access_log=False, lifespan="on", workers=1
    )
    server = uvicorn.Server(config)
    print(f"Serving {archive_dir} at {server_url(host, port)} (Ctrl-C to stop)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
