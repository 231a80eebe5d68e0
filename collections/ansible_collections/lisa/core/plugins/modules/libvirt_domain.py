#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: libvirt_domain
short_description: Create, power-cycle and delete a libvirt domain
version_added: 0.1.0
description:
  - Defines and starts a libvirt domain from its XML, resets it (a power cycle), or destroys and undefines
    it, through the libvirt Python binding.
  - Idempotent, a running domain is left alone and a missing one is not an error to delete.
author:
  - LISA developers (@lisa-developers)
requirements:
  - libvirt-python
options:
  name:
    description: Name of the domain.
    type: str
    required: true
  uri:
    description: libvirt connection URI.
    type: str
    default: qemu:///system
  state:
    description:
      - V(running) defines the domain from O(xml) if it does not exist and starts it if it is not running.
      - V(reset) power-cycles a running domain (like pressing its reset button).
      - V(absent) stops the domain if it runs and removes its definition.
    type: str
    choices: [running, reset, absent]
    default: running
  xml:
    description: The domain XML, for O(state=running).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing it.
  diff_mode:
    support: none
    description: Not supported.
"""

EXAMPLES = r"""
- name: Start a VM
  lisa.core.libvirt_domain:
    name: lisa-3f2a1c-debian-1
    xml: "{{ lookup('ansible.builtin.template', 'domain.xml.j2') }}"

- name: Power-cycle it
  lisa.core.libvirt_domain:
    name: lisa-3f2a1c-debian-1
    state: reset

- name: Delete it
  lisa.core.libvirt_domain:
    name: lisa-3f2a1c-debian-1
    state: absent
"""

RETURN = r"""
contacted:
  description: Whether libvirt could be reached; when it could not, nothing was changed.
  returned: always
  type: bool
existed:
  description: Whether the domain existed before the module ran.
  returned: always
  type: bool
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import libvirt

    LIBVIRT_IMPORT_ERROR = None
except ImportError:
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()


def _silence(_context, _error):
    """libvirt prints every error to stderr by default; they are reported through fail_json instead."""


def connect(module, uri):
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as error:
        module.fail_json(
            msg="cannot reach libvirt at %s: %s. Is libvirtd running? (./bootstrap.sh starts it)"
            % (uri, error.get_error_message()),
            contacted=False,
        )
    return None


def lookup(connection, name):
    try:
        return connection.lookupByName(name)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "uri": {"type": "str", "default": "qemu:///system"},
            "state": {"type": "str", "choices": ["running", "reset", "absent"], "default": "running"},
            "xml": {"type": "str"},
        },
        required_if=[("state", "running", ("xml",))],
        supports_check_mode=True,
    )
    if libvirt is None:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    libvirt.registerErrorHandler(_silence, None)
    name, state = module.params["name"], module.params["state"]
    connection = connect(module, module.params["uri"])
    changed = False
    try:
        domain = lookup(connection, name)
        existed = domain is not None
        if state == "running":
            if domain is None:
                changed = True
                if not module.check_mode:
                    domain = connection.defineXML(module.params["xml"])
            if domain is not None and not domain.isActive():
                changed = True
                if not module.check_mode:
                    try:
                        domain.create()
                    except libvirt.libvirtError:
                        if not existed:
                            domain.undefine()  # leave nothing half-created behind
                        raise
        elif state == "reset":
            if domain is None or not domain.isActive():
                module.fail_json(
                    msg="domain %s is not running; it cannot be power-cycled" % name, existed=existed, contacted=True
                )
            changed = True
            if not module.check_mode:
                domain.reset()
        elif domain is not None:
            changed = True
            if not module.check_mode:
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
    except libvirt.libvirtError as error:
        module.fail_json(
            msg="libvirt domain %s: %s" % (name, error.get_error_message()), existed=existed, contacted=True
        )
    finally:
        connection.close()
    module.exit_json(changed=changed, existed=existed, contacted=True)


if __name__ == "__main__":
    main()
