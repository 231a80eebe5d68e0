#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pool_info
short_description: List the targets in the LISA target pool
version_added: 0.1.0
description:
  - Returns every record of the LISA target pool, whatever its state, without changing anything.
author:
  - LISA developers (@lisa-developers)
extends_documentation_fragment:
  - lisa.core.state_dir
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
"""

EXAMPLES = r"""
- name: Read the pool
  lisa.core.pool_info:
    state_dir: "{{ playbook_dir }}/../.lisa"
  register: lisa_pool
"""

RETURN = r"""
targets:
  description: The pool's records, sorted by name.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "debian-1", "state": "ready", "platform": "libvirt", "resource": "lisa-3f2a1c-debian-1"}]
state_dir:
  description: The absolute state directory.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.pool import Pool


def main():
    module = AnsibleModule(argument_spec={"state_dir": {"type": "path"}}, supports_check_mode=True)
    pool = Pool(module.params["state_dir"])
    try:
        targets = pool.records()
    except LisaError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, targets=targets, state_dir=pool.state_dir)


if __name__ == "__main__":
    main()
