"""Starts veil-kms and moto_server on free ports for the Python test scripts.

Each server runs in its own temporary directory and is stopped when the
context exits. moto accepts any credentials; veil-kms gets a fresh principal
from `veil-kms principal add`.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REGION = "us-east-1"
ACCOUNT = "111122223333"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with status {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


class Target:
    """An endpoint plus the credentials to call it."""

    def __init__(self, name, endpoint, access_key, secret_key, account):
        self.name = name
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.account = account

    def env(self):
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        )
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        return env

    def client(self, **kwargs):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "kms",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}, **kwargs),
        )


def add_principal(veil_kms, data_dir, arn):
    out = subprocess.run(
        [veil_kms, "principal", "add", "--data-dir", data_dir, "--arn", arn],
        check=True, capture_output=True, text=True).stdout
    creds = dict(line.split("=", 1) for line in out.strip().splitlines())
    return creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]


class VeilKms:
    """A veil-kms process; restartable on the same data directory."""

    def __init__(self, binary, data_dir, extra_args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(data_dir, "server.log")

    def start(self, port=None):
        self.port = port or free_port()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", self.data_dir] + self.extra_args,
            stdout=log, stderr=log)
        wait_http(f"http://127.0.0.1:{self.port}/healthz", self.proc)
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


@contextlib.contextmanager
def veil_kms_target(binary, extra_args=(), arn=f"arn:aws:iam::{ACCOUNT}:user/conformance"):
    tmp = tempfile.mkdtemp(prefix="veil-kms-test-")
    server = VeilKms(binary, os.path.join(tmp, "data"), extra_args)
    try:
        os.makedirs(server.data_dir, mode=0o700)
        access, secret = add_principal(binary, server.data_dir, arn)
        server.start()
        yield Target("veil-kms", server.endpoint, access, secret, ACCOUNT), server
    finally:
        server.kill(signal.SIGTERM)
        shutil.rmtree(tmp, ignore_errors=True)


def moto_available():
    try:
        import moto  # noqa: F401
        import flask  # noqa: F401  (moto_server needs it)
    except ImportError:
        return False
    return shutil.which("moto_server") is not None


@contextlib.contextmanager
def moto_target():
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/", proc, timeout=60)
        # moto's default account.
        yield Target("moto", f"http://127.0.0.1:{port}", "testing", "testing", "123456789012")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def skip(message):
    """Exit the way ctest's SKIP_RETURN_CODE expects."""
    print(f"SKIP: {message}")
    sys.exit(77)
