# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: pool
short_description: The LISA target pool as an inventory
version_added: 0.1.0
description:
  - Lists the targets of the LISA target pool that are ready, with what it takes to reach them over SSH
    (address, port, user, the pool's key and its own known_hosts, strict host key checking).
  - Groups C(lisa), C(lisa_<platform>), C(lisa_target_<name>) and C(lisa_feature_<feature>), plus
    whatever O(groups), O(keyed_groups) and O(compose) construct.
  - Host variables C(lisa_platform), C(lisa_target), C(lisa_capabilities) (measured), C(lisa_spec) (asked
    for in the runbook), C(lisa_features), C(lisa_serial_log), and for the two instances of a target group
    linked by a second NIC C(lisa_private_address) (this instance's address on it) and C(lisa_private_peer)
    (the other instance's name).
  - The inventory file must end in C(lisa.yml) or C(lisa.yaml).
author:
  - LISA developers (@lisa-developers)
extends_documentation_fragment:
  - ansible.builtin.constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [lisa.core.pool]
    type: str
  state_dir:
    description:
      - The LISA state directory holding the pool. A relative path is relative to the inventory file.
      - Without it, E(LISA_STATE_DIR), else C(.lisa) beside the Ansible configuration file in use, else
        C(.lisa) in the current directory.
    type: path
    env:
      - name: LISA_STATE_DIR
"""

EXAMPLES = r"""
# inventory/lisa.yml
plugin: lisa.core.pool
keyed_groups:
  - key: lisa_capabilities.kernel
    prefix: kernel
compose:
  big: lisa_capabilities.memory_mb >= 4096
"""

import os
import re

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.pool import Pool

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 trusts inventory values anyway

    def trust_as_template(value):
        return value


_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# Values LISA composes itself. What the target reported (capabilities such as its hostname or kernel)
# stays untrusted: a target must not be able to inject templates into the controller.
TRUSTED = (
    "ansible_connection",
    "ansible_host",
    "ansible_python_interpreter",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "lisa_platform",
    "lisa_target",
    "lisa_resource",
    "lisa_serial_log",
    "lisa_state_dir",
    "lisa_private_address",
    "lisa_private_peer",
)


def group_name(*parts):
    return _UNSAFE.sub("_", "_".join(parts))


def host_vars(pool, record):
    """The host variables of one ready target."""
    connection = record.get("connection") or {}
    variables = {
        "lisa_platform": record["platform"],
        "lisa_target": record["group"],
        "lisa_resource": record.get("resource"),
        "lisa_capabilities": record.get("capabilities") or {},
        # Feature names match ^[a-z][a-z0-9_]*$ (the runbook schema), so they cannot hold templates.
        "lisa_features": [trust_as_template(f) for f in record.get("spec", {}).get("features", [])],
        "lisa_serial_log": record.get("serial_log"),
        "lisa_state_dir": pool.state_dir,
        "lisa_lease": record.get("lease"),
        # What the runbook asked for (cpus, memory_mb, disks, nics, ...), beside what was measured.
        "lisa_spec": record.get("spec") or {},
    }
    link = record.get("link")
    if link:
        # The second NIC's point-to-point link to the other instance of the group (libvirt, nics 2).
        variables["lisa_private_address"] = link["address"]
        variables["lisa_private_peer"] = link["peer"]
    if connection.get("connection") == "local":
        variables["ansible_connection"] = "local"
        variables["ansible_host"] = connection.get("host", "localhost")
        if connection.get("python"):
            variables["ansible_python_interpreter"] = connection["python"]
        return variables
    variables.update(
        {
            "ansible_connection": "ssh",
            "ansible_host": connection["host"],
            "ansible_port": int(connection.get("port", 22)),
            "ansible_user": connection.get("user", "root"),
            "ansible_ssh_private_key_file": connection.get("private_key_file") or pool.private_key,
            # testinfra reads host key checking from here, not from host_key_checking.
            "ansible_ssh_common_args": pool.ssh_common_args,
        }
    )
    return variables


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "lisa.core.pool"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("lisa.yml", "lisa.yaml"))

    def _state_dir(self, path):
        state_dir = self.get_option("state_dir")
        if state_dir:
            return os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(state_dir))
        if C.CONFIG_FILE:
            return os.path.join(os.path.dirname(C.CONFIG_FILE), ".lisa")
        return ".lisa"

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        pool = Pool(self._state_dir(path))
        try:
            records = pool.records()
        except LisaError as error:
            raise AnsibleParserError("LISA pool inventory %s: %s" % (path, error)) from None
        strict = self.get_option("strict")
        self.inventory.add_group("lisa")
        for record in records:
            if record.get("state") != "ready":
                continue
            name = record["name"]
            groups = ["lisa", group_name("lisa", record["platform"]), group_name("lisa_target", record["group"])]
            groups += [group_name("lisa_feature", feature) for feature in record.get("spec", {}).get("features", [])]
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_host(name, group=group)
            variables = host_vars(pool, record)
            for key, value in variables.items():
                trusted = key in TRUSTED and isinstance(value, str)
                self.inventory.set_variable(name, key, trust_as_template(value) if trusted else value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
