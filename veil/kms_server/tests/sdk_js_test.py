#!/usr/bin/env python3
"""Runs sdk_js_test.mjs (@aws-sdk/client-kms) against a fresh veil-kms.

usage: sdk_js_test.py VEIL_KMS_BINARY INTEROP_DIR
Exit status: 0 pass, 1 fail, 77 node or interop/node_modules missing
(scripts/bootstrap installs them).
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_servers  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    veil_kms, interop = sys.argv[1], os.path.abspath(sys.argv[2])
    if shutil.which("node") is None:
        kms_servers.skip("node is not installed")
    if not os.path.isdir(os.path.join(interop, "node_modules", "@aws-sdk", "client-kms")):
        kms_servers.skip("interop/node_modules lacks @aws-sdk/client-kms (run scripts/bootstrap)")
    with kms_servers.veil_kms_target(veil_kms) as (target, server):
        env = target.env()
        env["VEIL_KMS_ENDPOINT"] = target.endpoint
        env["VEIL_INTEROP_DIR"] = interop
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk_js_test.mjs")
        rc = subprocess.run(["node", script], env=env).returncode
        if rc != 0:
            print(server.log())
        return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
