"""Runs the real veil-vsock-proxy binary: forwards to a unix echo server,
logs JSON lines with metadata only (never a forwarded byte), stops cleanly on
SIGTERM, and rejects bad usage with exit status 2.

Usage: vsock_proxy_cli_test.py PATH/TO/veil-vsock-proxy
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PAYLOAD = b"secret-looking payload 0123456789" * 100


def echo_server(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen()

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return srv


def wait_for(path, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise AssertionError(f"proxy exited early: {proc.returncode}")
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def round_trip(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(path)
        c.sendall(PAYLOAD)
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            data = c.recv(65536)
            if not data:
                break
            got += data
    assert got == PAYLOAD, f"echo mismatch: {len(got)} bytes"


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="veil-vp-", dir="/tmp") as tmp:
        dest = os.path.join(tmp, "dest.sock")
        listen = os.path.join(tmp, "proxy.sock")
        srv = echo_server(dest)
        log_path = os.path.join(tmp, "proxy.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [binary, "--listen", f"unix:{listen}", "--to", f"unix:{dest}",
                 "--max-connections", "4", "--idle-timeout", "5"],
                stderr=log)
        try:
            wait_for(listen, proc)
            for _ in range(3):
                round_trip(listen)
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0, f"exit status {proc.returncode}"
        finally:
            if proc.poll() is None:
                proc.kill()
            srv.close()
        assert not os.path.exists(listen), "the socket file was left behind"

        raw = open(log_path, "rb").read()
        assert b"secret-looking" not in raw, "a forwarded byte reached the log"
        lines = [json.loads(line) for line in raw.decode().splitlines()]
        events = [line["event"] for line in lines]
        assert events[0] == "listening", events
        assert events.count("connection_closed") == 3, events
        assert events[-2:] == ["stopping", "stopped"], events
        for line in lines:
            if line["event"] == "connection_closed":
                assert line["reason"] == "finished", line
                assert line["bytes_to_destination"] == len(PAYLOAD), line
                assert line["bytes_to_client"] == len(PAYLOAD), line
        totals = lines[-1]["totals"]
        assert totals["connections_accepted"] == 3, totals
        assert totals["bytes_to_destination"] == 3 * len(PAYLOAD), totals
        assert totals["connections_active"] == 0, totals

    # Usage errors: exit status 2.
    for args in ([], ["--listen", "unix:/tmp/x.sock"],
                 ["--listen", "bogus", "--to", "unix:/tmp/y.sock"],
                 ["--listen", "unix:/tmp/x.sock", "--to", "tcp:example.com:443"]):
        r = subprocess.run([binary] + args, capture_output=True)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    print("ok")


if __name__ == "__main__":
    main()
