# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait until an SSH server answers, and read its host keys (ssh-keyscan), with backoff."""

from __future__ import annotations

import subprocess
from typing import Any, Dict, List, Optional

from ansible_collections.lisa.core.plugins.module_utils.backoff import Backoff, WaitTimeout, wait_until
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError

ARGUMENT_SPEC: Dict[str, Any] = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 22},
    "timeout": {"type": "float", "default": 60.0},
}


def scan(host: str, port: int) -> Optional[List[str]]:
    """The host keys (``type base64``) the server at host:port offers, or None while it does not answer."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", "5", "-p", str(port), "-t", "ed25519,ecdsa,rsa", host],
        capture_output=True,
        text=True,
        check=False,
    )
    keys = [line.split(None, 1)[1] for line in result.stdout.splitlines() if line and not line.startswith("#")]
    return keys or None


def apply(params: Dict[str, Any]) -> Dict[str, Any]:
    host, port, timeout = params["host"], params["port"], params["timeout"]
    try:
        keys = wait_until(
            lambda: scan(host, port), timeout, "%s:%d answering over SSH" % (host, port), Backoff(0.2, 2, 2)
        )
    except WaitTimeout:
        raise LisaError(
            "%s:%d does not answer over SSH after %gs (is the machine up and sshd running?)" % (host, port, timeout)
        ) from None
    return {"changed": False, "host_keys": keys}
