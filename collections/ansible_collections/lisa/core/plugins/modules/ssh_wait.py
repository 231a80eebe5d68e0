#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssh_wait
short_description: Wait until an SSH server answers and read its host keys
version_added: 0.1.0
description:
  - Runs C(ssh-keyscan) against O(host) and O(port), with exponential backoff, until the server offers
    its host keys or O(timeout) passes, and returns the keys.
  - An action plugin of the same name runs it on the controller, which is where LISA reaches targets from.
author:
  - LISA developers (@lisa-developers)
options:
  host:
    description: Address of the SSH server.
    type: str
    required: true
  port:
    description: Port of the SSH server.
    type: int
    default: 22
  timeout:
    description: Seconds to wait for the server to answer.
    type: float
    default: 60.0
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Only reads.
notes:
  - The keys are only read; trusting them is the caller's decision (LISA records them at deploy).
"""

EXAMPLES = r"""
- name: Wait for a machine and read its host keys
  lisa.core.ssh_wait:
    host: 127.0.0.1
    port: 40211
    timeout: 300
  register: keys
"""

RETURN = r"""
host_keys:
  description: The host public keys the server offers, as C(type base64).
  returned: success
  type: list
  elements: str
  sample: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..."]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.sshwait import ARGUMENT_SPEC, apply


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = apply(module.params)
    except LisaError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
