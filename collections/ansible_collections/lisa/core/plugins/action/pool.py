# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""lisa.core.pool on the controller: the pool is the controller's file, so no module is shipped anywhere.

Deploying N targets at once makes three pool calls per target; running them in the worker process that
Ansible already forked, instead of a new Python interpreter each, is what lets the controller keep up.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError
from ansible_collections.lisa.core.plugins.module_utils.pool import ARGUMENT_SPEC, REQUIRED_IF, apply


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)
        try:
            result.update(apply(params))
        except LisaError as error:
            result.update(failed=True, msg=str(error))
        return result
