#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pool
short_description: Record a LISA target in the target pool
version_added: 0.1.0
description:
  - Writes the record of one target into the LISA target pool, a JSON file guarded by a file lock and
    replaced atomically on every write.
  - O(state=deploying) is written B(before) the platform is asked to create anything; it names the
    resource LISA will create, so a run killed at any moment leaves a record that cleanup deletes from.
  - O(state=deploying) with O(connection), O(host_keys) or O(data) updates the record of a target being deployed.
  - O(state=ready) stores how to connect, the measured capabilities and the trusted SSH host keys.
  - O(state=absent) forgets the target and its host keys.
  - The pool is on the controller; an action plugin of the same name does the work there, without
    starting a Python interpreter for each call.
author:
  - LISA developers (@lisa-developers)
extends_documentation_fragment:
  - lisa.core.state_dir
options:
  name:
    description: Name of the target instance, unique in the pool.
    type: str
    required: true
  state:
    description: The state to record.
    type: str
    required: true
    choices: [deploying, ready, deleting, failed, bad, absent]
  group:
    description: Target group (the runbook's target name). Required with O(state=deploying).
    type: str
  platform:
    description: Platform of the target. Required with O(state=deploying).
    type: str
  spec:
    description:
      - The resolved target parameters from the runbook.
      - For platforms reached through a forwarded port (libvirt), O(state=deploying) allocates a free TCP
        port on 127.0.0.1, or checks that C(ssh_port) from the spec is free, and records it as C(forward_port).
    type: dict
    default: {}
  run:
    description: Identifier of the run deploying the target.
    type: str
    default: ""
  connection:
    description: How to reach the target (C(host), C(port), C(user), C(connection)), with O(state=ready).
    type: dict
  capabilities:
    description: Capabilities measured on the target, with O(state=ready).
    type: dict
  host_keys:
    description: SSH host public keys (C(type base64)) to trust for the target's host and port.
    type: list
    elements: str
  error:
    description: Why the target failed, with O(state=failed) or O(state=bad).
    type: str
  data:
    description: Platform-specific facts to keep with the record (paths of overlays, domain names).
    type: dict
attributes:
  check_mode:
    support: none
    description: The record must exist before anything is created; there is nothing to simulate.
  diff_mode:
    support: none
    description: Not supported.
"""

EXAMPLES = r"""
- name: Record the target before creating it
  lisa.core.pool:
    state_dir: /srv/lisa/.lisa
    name: debian-1
    state: deploying
    group: debian
    platform: libvirt
  register: lisa_record

- name: Mark it ready
  lisa.core.pool:
    state_dir: /srv/lisa/.lisa
    name: debian-1
    state: ready
    connection: {host: 127.0.0.1, port: "{{ lisa_record.record.forward_port }}", user: root}
    host_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..."]
"""

RETURN = r"""
record:
  description: The target's record after the change (empty after O(state=absent)).
  returned: always
  type: dict
  sample: {"name": "debian-1", "state": "deploying", "resource": "lisa-3f2a1c-debian-1", "forward_port": 40211}
reserved:
  description: With O(state=deploying), false when the target was already ready and nothing was reserved.
  returned: always
  type: bool
public_key:
  description: The pool's SSH public key, to authorize on new targets.
  returned: always
  type: str
private_key_file:
  description: Path of the pool's SSH private key (mode 0600).
  returned: always
  type: str
known_hosts:
  description: Path of the pool's known_hosts file.
  returned: always
  type: str
ssh_common_args:
  description: SSH options for connections to the pool's targets (its known_hosts, strict host key checking).
  returned: always
  type: str
state_dir:
  description: The absolute state directory.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.pool import ARGUMENT_SPEC, REQUIRED_IF, apply


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)
    try:
        result = apply(module.params)
    except LisaError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
