# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  state_dir:
    description:
      - The LISA state directory holding the pool file C(pool.json), its lock, the pool's SSH key pair,
        its C(known_hosts) and the targets' logs.
      - Defaults to the environment variable E(LISA_STATE_DIR), else C(.lisa) in the current directory.
    type: path
"""
