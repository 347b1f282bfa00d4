"""Starts a command in its own process group, polls GET / on 127.0.0.1:PORT every 2 ms until it
answers 200, prints the milliseconds that took, then stops the group (SIGTERM, SIGKILL after 20 s). Used by serve.sh.

usage: first_ok.py PORT TIMEOUT_S -- COMMAND [ARGS...]   (environment passed through)
"""

import http.client
import os
import signal
import subprocess
import sys
import time


def main():
    port = int(sys.argv[1])
    timeout = float(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    start = time.monotonic()
    child = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = None
    try:
        while time.monotonic() - start < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    elapsed = (time.monotonic() - start) * 1000
                    break
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.002)
    finally:
        # SIGTERM: run stops its server (which has its own process group) before exiting.
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    if elapsed is None:
        print("timeout")
        sys.exit(1)
    print("%.0f" % elapsed)


main()
