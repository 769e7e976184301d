"""Prepare a throwaway PostgreSQL data folder for the connection tests: TLS and one password user.

The server gets a self-signed certificate (``ssl = on``; clients may still connect without TLS),
and the role ``ocpagg_pw`` must authenticate with a password (scram-sha-256) over TCP, ahead of
the ``trust`` lines initdb wrote. The tests create that role with a password full of special
characters. Used by ``tests/conftest.py`` and by ``.ci/run``:

    python tests/pgtls.py DATA_DIR OWNER   # prints the server options to add to ``pg_ctl -o``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PASSWORD_ROLE = "ocpagg_pw"


def prepare(data: Path, owner: str | None) -> str:
    """Write the certificate and the pg_hba line into ``data``; the server options to start with."""
    cert, key = data / "server.crt", data / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1",
            "-newkey", "rsa:2048", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    hba = data / "pg_hba.conf"
    rule = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rule + hba.read_text())
    if owner:
        for path in (cert, key, hba):
            shutil.chown(path, user=owner)
    return "-c ssl=on -c password_encryption=scram-sha-256"


if __name__ == "__main__":
    print(prepare(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))
