"""The shared LISA core, which lives once in the collection's module_utils and serves both layers."""

from ansible_collections.lisa.core.plugins.module_utils import (
    backoff,
    criteria,
    errors,
    metadata,
    platforms,
    pool,
    requirements,
    runbook,
)

__all__ = ["backoff", "criteria", "errors", "metadata", "platforms", "pool", "requirements", "runbook"]
