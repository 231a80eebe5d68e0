#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: runbook
short_description: Validate a LISA runbook and return its resolved targets
version_added: 0.1.0
description:
  - Checks a LISA runbook (platform defaults, targets, criteria, suites) against its schema before
    anything is deployed, and returns the targets with every default merged in.
  - Every problem is reported with its key path, what was expected and what was found.
  - Uses the same validation code as the C(lisa check) command and the pytest plugin.
author:
  - LISA developers (@lisa-developers)
options:
  src:
    description:
      - Path of the runbook YAML file. Mutually exclusive with O(data).
    type: path
  data:
    description:
      - The runbook as data (for example read with M(ansible.builtin.include_vars)). Mutually exclusive
        with O(src).
    type: dict
  suite:
    description:
      - Name of a suite (built in, or from the runbook's C(suites)) whose criteria to return as RV(criteria).
      - Without it, RV(criteria) holds the runbook's own C(criteria).
    type: str
attributes:
  check_mode:
    support: full
    description: Reads and checks only; nothing changes in either mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Reading O(src) needs PyYAML on the host the module runs on (it ships with ansible-core).
"""

EXAMPLES = r"""
- name: Validate the runbook and resolve its targets
  lisa.core.runbook:
    src: runbooks/local.yml
    suite: smoke
  register: lisa_runbook

- name: Show the first target group
  ansible.builtin.debug:
    var: lisa_runbook.targets[0]
"""

RETURN = r"""
targets:
  description: Target groups with platform and runbook defaults merged in.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "debian", "platform": "libvirt", "count": 1, "cpus": 1, "memory_mb": 1024}]
criteria:
  description: The selected criteria entries, as given in the runbook or the suite.
  returned: success
  type: list
  elements: dict
  sample: [{"priority": 0}]
instances:
  description: One entry per target instance to deploy, with its name and its target group.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "debian-1", "target": {"name": "debian", "platform": "libvirt", "count": 1}}]
suites:
  description: Names of the suites this runbook offers.
  returned: success
  type: list
  elements: str
  sample: ["all", "core", "network", "smoke", "storage"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.runbook import load, load_file


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path"},
            "data": {"type": "dict"},
            "suite": {"type": "str"},
        },
        mutually_exclusive=[("src", "data")],
        required_one_of=[("src", "data")],
        supports_check_mode=True,
    )
    try:
        src = module.params["src"]
        book = load_file(src) if src else load(module.params["data"], "runbook")
        criteria = book.suite(module.params["suite"]) if module.params["suite"] else book.criteria
    except LisaError as error:
        module.fail_json(msg=str(error))
    module.exit_json(
        changed=False,
        targets=[spec.to_dict() for spec in book.targets],
        instances=[{"name": name, "target": spec.to_dict()} for spec in book.targets for name in spec.instance_names()],
        criteria=[dict(entry.source) for entry in criteria.entries],
        suites=sorted(book.suites),
    )


if __name__ == "__main__":
    main()
