"""The Pulumi driver lives in local_federation.pulumi_cli (shared with tier 2 and tools/local)."""

from local_federation.pulumi_cli import PASSPHRASE, PROJECT_FILES, Pulumi, clone_project

__all__ = ["PASSPHRASE", "PROJECT_FILES", "Pulumi", "clone_project"]
