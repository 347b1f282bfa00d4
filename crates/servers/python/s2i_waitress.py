"""waitress-serve with a graceful stop, written by python-s2i's `run` (rewritten on every start).

waitress has no graceful shutdown: SIGTERM ends the process and requests in flight are cut.
This runner takes the same arguments as `waitress-serve`. On SIGTERM or SIGINT it closes the
listening sockets, keeps serving the requests already received until they are answered (at
most S2I_GRACEFUL_TIMEOUT seconds), then exits 0.
"""

import os
import signal
import sys
import time

import waitress
from waitress import runner

try:
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
except ImportError:  # waitress 1.x (Python 2.7): no graceful stop, plain waitress-serve
    wasyncore = None


def _busy(channels):
    return any(c.requests or c.total_outbufs_len for c in channels)


def _serve(app, **kw):
    server = waitress.create_server(app, **kw)
    socket_map = getattr(server, "map", None) or server._map
    server.print_listen("Serving on http://{}:{}")
    state = {"stop_at": None}

    def stop(signum, frame):
        if state["stop_at"] is not None:
            return
        state["stop_at"] = time.monotonic()
        for dispatcher in list(socket_map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.accepting = False
                dispatcher.del_channel()
                dispatcher.socket.close()
        sys.stderr.write("waitress (python-s2i): stopping; finishing requests in flight\n")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timeout = float(os.environ.get("S2I_GRACEFUL_TIMEOUT", "18"))
    while True:
        wasyncore.loop(timeout=0.2, map=socket_map, use_poll=True, count=1)
        if state["stop_at"] is None:
            continue
        channels = [c for c in socket_map.values() if isinstance(c, HTTPChannel)]
        if not _busy(channels) or time.monotonic() - state["stop_at"] > timeout:
            break
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    sys.exit(0)


if __name__ == "__main__":
    if wasyncore is None:
        sys.stderr.write("waitress (python-s2i): this waitress has no wasyncore; SIGTERM stops at once\n")
        runner.run(argv=["waitress-serve"] + sys.argv[1:])
    else:
        runner.run(argv=["waitress-serve"] + sys.argv[1:], _serve=_serve)
