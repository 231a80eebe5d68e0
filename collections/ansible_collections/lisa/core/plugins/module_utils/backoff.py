# -*- coding: utf-8 -*-
# Copyright: LISA developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting without fixed sleeps: exponential backoff with jitter under a deadline, and boot detection.

A reboot is detected by the kernel's boot id (``/proc/sys/kernel/random/boot_id``) changing, never by
guessing how long a boot takes.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Tuple, Type, TypeVar

from ansible_collections.lisa.core.plugins.module_utils.errors import LisaError

T = TypeVar("T")

BOOT_ID_COMMAND = "cat /proc/sys/kernel/random/boot_id"


class WaitTimeout(LisaError):
    """A condition did not come true before its deadline."""

    def __init__(self, message: str, attempts: int, last_error: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_error = last_error


@dataclass
class Backoff:
    """Delays growing by ``factor`` from ``initial`` up to ``maximum``; each is shortened by a random
    share of at most ``jitter`` so that many waiters do not retry in lockstep."""

    initial: float = 0.25
    factor: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.maximum < self.initial or not 0 <= self.jitter < 1:
            raise ValueError(
                "Backoff needs initial > 0, factor ≥ 1, maximum ≥ initial and 0 ≤ jitter < 1; got %r" % (self,)
            )

    def delays(self) -> Iterator[float]:
        base = self.initial
        while True:
            yield base * (1 - self.jitter * self.rng.random())
            base = min(base * self.factor, self.maximum)


def wait_until(
    probe: Callable[[], Optional[T]],
    timeout: float,
    what: str = "the condition",
    backoff: Optional[Backoff] = None,
    retry_on: Tuple[Type[BaseException], ...] = (OSError,),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``probe`` until it returns a true value and return that value.

    Exceptions of the ``retry_on`` types count as "not yet" (the last one is reported on timeout). The
    probe is always tried at least once, and never again after the deadline; no sleep runs past it.
    """
    deadline = clock() + timeout
    delays = (backoff or Backoff()).delays()
    attempts = 0
    last_error: Optional[BaseException] = None
    while True:
        attempts += 1
        try:
            result = probe()
        except retry_on as error:
            last_error = error
        else:
            if result:
                return result
        remaining = deadline - clock()
        if remaining <= 0:
            detail = "; last error: %s" % last_error if last_error is not None else ""
            raise WaitTimeout(
                "%s did not happen within %gs (%d attempts)%s" % (what, timeout, attempts, detail),
                attempts,
                last_error,
            )
        sleep(min(next(delays), remaining))


def wait_for_new_boot(
    read_boot_id: Callable[[], str],
    old_boot_id: str,
    timeout: float,
    backoff: Optional[Backoff] = None,
    retry_on: Tuple[Type[BaseException], ...] = (OSError,),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Wait until the machine answers with a boot id other than ``old_boot_id``; return the new one.

    ``read_boot_id`` may fail (raise one of ``retry_on``) while the machine is down.
    """
    old = old_boot_id.strip()
    if not old:
        raise ValueError("the boot id from before the reboot is empty")

    def changed() -> Optional[str]:
        current = read_boot_id().strip()
        return current if current and current != old else None

    return wait_until(changed, timeout, "a new boot (boot id other than %s)" % old, backoff, retry_on, clock, sleep)
