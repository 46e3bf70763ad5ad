"""Where the chart comes from: a Helm repository (default), an OCI registry, or a local path.

Air-gapped sites mirror the chart to an OCI registry or unpack it next to the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.rules.products import Product


@dataclass(frozen=True)
class ChartSource:
    product: Product
    repository: str
    version: str

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")

    @property
    def is_local(self) -> bool:
        return not self.repository.startswith(("http://", "https://", "oci://"))

    @property
    def chart(self) -> str:
        if self.is_oci:
            return f"{self.repository.rstrip('/')}/{self.product.chart}"
        return self.repository if self.is_local else self.product.chart

    def repository_opts(self) -> k8s.helm.v3.RepositoryOptsArgs | None:
        if self.is_oci or self.is_local:
            return None
        return k8s.helm.v3.RepositoryOptsArgs(repo=self.repository)

    def helm_cli_args(self) -> list[str]:
        """The chart reference and version as `helm upgrade` takes them."""
        args = [self.chart]
        if not self.is_oci and not self.is_local:
            args += ["--repo", self.repository]
        if not self.is_local:
            args += ["--version", self.version]
        return args

    def release_args(self, *, release_name: str, namespace: str,
                     values: Mapping[str, Any] | pulumi.Output[Any],
                     timeout_seconds: int, wait: bool = True) -> k8s.helm.v3.ReleaseArgs:
        """A helm.v3.Release of this chart; with `wait`, Helm waits up to `timeout_seconds` for
        every resource to be ready (LoadBalancer Services included), else for its hooks only."""
        return k8s.helm.v3.ReleaseArgs(
            name=release_name,
            chart=self.chart,
            version=None if self.is_local else self.version,
            repository_opts=self.repository_opts(),
            namespace=namespace,
            create_namespace=True,
            # An Output when the values are a secret (kept one in the release's inputs).
            values=values if isinstance(values, pulumi.Output) else dict(values),
            timeout=timeout_seconds,
            skip_await=not wait,
        )
