"""The real cost of `pulumi up` (issue 13): the guide's `kubectl apply -f resources.yaml` against
this program's `pulumi preview` and `pulumi up`, for the same N exported objects, on real
kube-apiservers, with the real Pulumi CLI and pulumi-kubernetes provider.

    python bench/pulumi_apply.py [--sizes 0,100,1000,10000] [--cap-minutes 25]
                                 [--skip-checkpoints-from 10000] [--alternatives 1000]

For each N, fresh clusters (tests/integration/clusters.py: one etcd, kube-apiservers `global`,
`zone-1`, `plain` and `alt`, podless controllers) and:
- the zone: the kuma chart installed standalone on `zone-1` (helm, as the quickstart), and its
  Kuma API played by the loopback fake zone (tests/integration/quickstart.py) serving a Mesh with
  mTLS, five Kuma Secrets and N policies (`demo_objects`). No kuma-cp runs (tier 1, as
  tests/integration/test_guide.py says).
- resources.yaml: what `python -m components.export --api-url <fake>` prints for that zone (the
  program's own exporter; timed apart: it is the guide's step 2, not step 3);
- (a) the guide's step: `kubectl apply -f resources.yaml` against `plain`, a fresh API server
  with the chart's CRDs and the system namespace applied first (not timed);
- (b) the program, cloned as test_guide does (stack config as there: product kuma, `provided`
  KDS TLS, check off, zones[0].api.url = the fake zone) against `global`: `pulumi preview` on the
  new stack, `pulumi up --skip-preview`, then `pulumi preview --expect-no-changes`. (b) includes
  fixed work (the global chart's install, the zone's helm upgrade): N = 0 gives it.
- with `--alternatives N`: what per-object registration costs against one
  `kubernetes:yaml/v2:ConfigGroup` with `objs`, in a minimal Pulumi program of its own over the
  same resources.yaml, against `alt` (CRDs and namespace applied first, as for (a)), so only the
  objects are compared, with checkpoints and with PULUMI_SKIP_CHECKPOINTS=true.

Each command is measured whole (bench/measure.py): wall time, peak RSS summed over its process
tree (CLI, language host, Python program, provider plugins), CPU of the tree, and for `up` the
state file writes and bytes the file backend makes. The load average is printed beside each
figure: the machine is shared. A run longer than --cap-minutes is killed and reported as such.
Benchmarks are never timed tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import venv  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import trustme  # noqa: E402
import yaml  # noqa: E402

from bench.measure import Run, StateWrites, run_measured  # noqa: E402
from tests.integration.clusters import Clusters, running_clusters  # noqa: E402
from tests.integration.pulumi_cli import Pulumi, clone_project  # noqa: E402
from tests.integration.quickstart import (  # noqa: E402
    KUMA_CHART,
    SYSTEM_NAMESPACE,
    chart_present,
    demo_objects,
    fake_zone_api,
    install_standalone,
)
from tests.integration.tools import Tools, cached_tools, not_built_reason  # noqa: E402

ZONE = "zone-1"
TOKEN = "bench-zone-api-token"
PROJECT = "mesh-federation"


@dataclass
class Figures:
    n: int
    documents: int = 0
    export: Run | None = None
    kubectl: Run | None = None
    preview: Run | None = None
    up: Run | None = None
    up_writes: tuple[int, int, int] | None = None  # state writes, .bak writes, bytes
    state_bytes: int = 0
    no_change: Run | None = None
    skip_checkpoints: bool = False
    alternatives: dict[str, Run] = field(default_factory=dict)
    alt_writes: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def _stack_env(stack: Pulumi, skip_checkpoints: bool) -> dict[str, str]:
    env = stack.env()
    if skip_checkpoints:
        env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    return env


def _pulumi(stack: Pulumi, *args: str, cap_s: float, skip_checkpoints: bool = False,
            grpc_log: Path | None = None) -> Run:
    argv = [stack.tools.path("pulumi"), "--non-interactive", *args, "--stack", stack.stack]
    env = _stack_env(stack, skip_checkpoints)
    if grpc_log is not None:
        # Every gRPC call (language host -> engine, engine -> providers) with its start and duration.
        env["PULUMI_DEBUG_GRPC"] = str(grpc_log)
    return run_measured(argv, cwd=stack.project, env=env, timeout_s=cap_s)


def _stack_dir(stack: Pulumi) -> Path:
    return stack.backend / ".pulumi" / "stacks" / PROJECT


def _measured_up(stack: Pulumi, project: str, *args: str, cap_s: float,
                 skip_checkpoints: bool) -> tuple[Run, tuple[int, int, int]]:
    directory = stack.backend / ".pulumi" / "stacks" / project
    directory.mkdir(parents=True, exist_ok=True)
    with StateWrites(directory, f"{stack.stack}.json") as writes:
        run = _pulumi(stack, "up", "--yes", "--skip-preview", *args, cap_s=cap_s,
                      skip_checkpoints=skip_checkpoints)
    return run, (writes.writes, writes.bak_writes, writes.bytes_written)


def _crds_and_namespace(clusters: Clusters, context: str) -> None:
    # Server-side: the chart's CRDs exceed the client-side last-applied annotation's 256 KiB.
    clusters.kubectl(context, "apply", "--server-side", "-f", str(KUMA_CHART / "crds"))
    clusters.kubectl(context, "wait", "--for", "condition=established", "--timeout", "120s", "crd", "--all")
    clusters.kubectl(context, "create", "namespace", SYSTEM_NAMESPACE)


def _export(fake_url: str, output: Path, cap_s: float) -> Run:
    return run_measured(
        [sys.executable, "-m", "components.export", "--api-url", fake_url, "--quiet",
         "--profile", "federation-with-policies", "--system-namespace", SYSTEM_NAMESPACE,
         "--output", str(output)],
        cwd=ROOT, env={"KUMA_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}, timeout_s=cap_s)


def _check(run: Run, what: str) -> None:
    if run.returncode not in (0, None):
        raise RuntimeError(f"{what} failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}")


def _program_stack(tools: Tools, work: Path, clusters: Clusters, fake_url: str, ca: trustme.CA) -> Pulumi:
    # The stack as tests/integration/test_guide.py writes it (imported, not copied).
    from tests.integration.test_guide import base_config, tls_files

    ca_pem, cert_pem, key_pem = tls_files(ca)
    stack = Pulumi(tools, clone_project(work / "project"), work / "backend", work / "pulumi-home", "bench")
    zone = {"name": ZONE, "kubeContext": ZONE, "releaseName": "kuma", "api": {"url": fake_url}}
    stack.init(base_config(clusters, ca_pem, cert_pem, [zone]),
               secrets={"mesh-federation:kdsTls.serverKey": key_pem,
                        "mesh-federation:zones[0].api.token": TOKEN})
    return stack


# -- the alternatives: per-object resources against one ConfigGroup, objects only ----------------

ALT_PROGRAM = '''\
"""Bench only: the exported objects on a cluster that already has the CRDs, two ways."""
import os

import pulumi
import pulumi_kubernetes as k8s
import yaml

with open(os.environ["BENCH_RESOURCES"]) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
provider = k8s.Provider("alt", context=os.environ["BENCH_CONTEXT"])
opts = pulumi.ResourceOptions(provider=provider)
if os.environ["BENCH_MODE"] == "configgroup":
    k8s.yaml.v2.ConfigGroup("exported", objs=docs, opts=opts)
else:
    for doc in docs:
        meta = {k: v for k, v in doc["metadata"].items() if k not in ("creationTimestamp", "uid")}
        name = "-".join(filter(None, [doc["kind"].lower(), meta.get("namespace"), meta["name"]]))
        if doc["kind"] == "Secret":
            k8s.core.v1.Secret(name, metadata=meta, type=doc.get("type"),
                               data=pulumi.Output.secret(doc.get("data") or {}), opts=opts)
        else:
            body = dict(doc, metadata=meta)
            pulumi.CustomResource(f"kubernetes:{doc['apiVersion']}:{doc['kind']}", name, body, opts)
'''


def _alt_project(work: Path) -> Path:
    project = work / "alt-project"
    project.mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(
        "name: bench-alt\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n")
    (project / "__main__.py").write_text(ALT_PROGRAM)
    (project / "requirements.txt").write_text("")
    venv.EnvBuilder(with_pip=False).create(project / ".venv")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = project / ".venv" / "lib" / version / "site-packages"
    (site / "bench-runner.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return project


def _alternatives(tools: Tools, work: Path, clusters: Clusters, resources: Path, figures: Figures,
                  cap_s: float, home: Path) -> None:
    _crds_and_namespace(clusters, "alt")
    project = _alt_project(work)
    modes = [("configgroup", False), ("per-object", False), ("configgroup", True), ("per-object", True)]
    for mode, skip in modes:
        name = f"{mode}{'-skip' if skip else ''}"
        stack = Pulumi(tools, project, work / f"alt-backend-{name}", home, name.replace("-", ""))
        stack.init({})
        env_extra = {"BENCH_RESOURCES": str(resources), "BENCH_CONTEXT": "alt", "BENCH_MODE": mode,
                     "KUBECONFIG": str(clusters.kubeconfig)}
        original_env = stack.env

        def env_with(original: Any = original_env, extra: dict[str, str] = env_extra) -> dict[str, str]:
            return {**original(), **extra}

        stack.env = env_with  # type: ignore[method-assign]
        figures.alternatives[f"{name} preview"] = preview = _pulumi(stack, "preview", cap_s=cap_s)
        _check(preview, f"alt {name} preview")
        print(f"    alt {name}: preview {_fmt(preview)}", flush=True)
        run, writes = _measured_up(stack, "bench-alt", cap_s=cap_s, skip_checkpoints=skip)
        _check(run, f"alt {name} up")
        figures.alternatives[f"{name} up"] = run
        figures.alt_writes[f"{name} up"] = writes
        # The next way starts from an empty cluster again: delete what this one made.
        deleted = clusters.kubectl("alt", "delete", "-f", str(resources), "--wait=false", check=False)
        if deleted.returncode != 0:
            raise RuntimeError(deleted.stderr[-2000:])
        print(f"    alt {name}: up {_fmt(run)}, state writes/bak/bytes {writes}", flush=True)


def _as_stored(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo objects as an API server stores them, hence as a zone serves them: an empty
    `labels` map is not kept (the GlobalSecrets have none)."""
    for obj in objects:
        if not obj["metadata"].get("labels"):
            obj["metadata"].pop("labels", None)
    return objects


# -- one size -------------------------------------------------------------------------------------

def one_size(tools: Tools, n: int, *, cap_s: float, skip_checkpoints: bool, alternatives: bool,
             keep: Path | None, program: bool = True, first_preview: bool = True,
             grpc_log: Path | None = None, profile: Path | None = None,
             preview_skips: bool = False, preview_only: bool = False) -> Figures:
    figures = Figures(n, skip_checkpoints=skip_checkpoints)
    with contextlib.ExitStack() as stack_of:
        work = keep / f"n{n}" if keep else Path(stack_of.enter_context(
            tempfile.TemporaryDirectory(prefix=f"bench-pulumi-{n}-")))
        work.mkdir(parents=True, exist_ok=True)
        clusters = stack_of.enter_context(
            running_clusters(tools, work / "clusters", ["global", ZONE, "plain", "alt"]))
        install_standalone(clusters, ZONE)
        fake = stack_of.enter_context(fake_zone_api(_as_stored(demo_objects(ZONE, n)), token=TOKEN))
        resources = work / "resources.yaml"
        figures.export = _export(fake.base_url, resources, cap_s)
        _check(figures.export, "export")
        figures.documents = sum(1 for d in yaml.safe_load_all(resources.read_text()) if d)
        print(f"  N={n}: {figures.documents} documents, export {_fmt(figures.export)}", flush=True)

        if not preview_only:
            _crds_and_namespace(clusters, "plain")
            figures.kubectl = run_measured(
                [tools.path("kubectl"), "--kubeconfig", str(clusters.kubeconfig), "--context", "plain",
                 "apply", "-f", str(resources)], timeout_s=cap_s)
            _check(figures.kubectl, "kubectl apply")
            print(f"    (a) kubectl apply {_fmt(figures.kubectl)}", flush=True)

        if not program:
            if alternatives:
                _alternatives(tools, work, clusters, resources, figures, cap_s, work / "pulumi-home")
            return figures
        stack = _program_stack(tools, work, clusters, fake.base_url, trustme.CA())
        if first_preview:
            # The CLI's own pprof CPU profile of the preview: `go tool pprof -top <file>.<pid>.cpu`.
            profiling = ["--profiling", str(profile / f"n{n}-preview")] if profile else []
            figures.preview = _pulumi(stack, "preview", *profiling, cap_s=cap_s,
                                      skip_checkpoints=skip_checkpoints and preview_skips,
                                      grpc_log=grpc_log / f"n{n}-preview.jsonl" if grpc_log else None)
            _check(figures.preview, "pulumi preview")
            print(f"    (b) pulumi preview {_fmt(figures.preview)}; {_cpu_parts(figures.preview)}",
                  flush=True)
        if preview_only:
            return figures
        figures.up, figures.up_writes = _measured_up(stack, PROJECT, cap_s=cap_s,
                                                     skip_checkpoints=skip_checkpoints)
        _check(figures.up, "pulumi up")
        print(f"    (b) pulumi up {_fmt(figures.up)}, state writes/bak/bytes {figures.up_writes}; "
              f"{_cpu_parts(figures.up)}", flush=True)
        state = _stack_dir(stack) / "bench.json"
        figures.state_bytes = state.stat().st_size if state.exists() else 0
        if not figures.up.timed_out:
            figures.no_change = _pulumi(stack, "preview", "--expect-no-changes", cap_s=cap_s,
                                        skip_checkpoints=skip_checkpoints and preview_skips)
            changed = "" if figures.no_change.returncode == 0 else " (changes proposed: see below)"
            print(f"    (b) no-change preview {_fmt(figures.no_change)}{changed}; "
                  f"{_cpu_parts(figures.no_change)}", flush=True)
            if changed:
                print(figures.no_change.stdout[-3000:], flush=True)
        if alternatives:
            _alternatives(tools, work, clusters, resources, figures, cap_s, work / "pulumi-home")
        errors = clusters.controller_errors()
        if errors:
            print(f"    podless controller errors: {errors[:3]}", flush=True)
    return figures


# -- printing -------------------------------------------------------------------------------------

def _fmt(run: Run | None) -> str:
    if run is None:
        return "-"
    wall = f">{run.wall_s:.0f} s (killed at the cap)" if run.timed_out else f"{run.wall_s:.1f} s"
    return f"{wall}, {run.peak_rss_mb:.0f} MB, cpu {run.cpu_s:.1f} s, load {run.load[0]:.1f}"


def _cpu_parts(run: Run | None) -> str:
    if run is None or not run.cpu_by_program:
        return ""
    parts = sorted(run.cpu_by_program.items(), key=lambda item: -item[1])
    return "cpu by program: " + ", ".join(
        f"{name} {seconds:.1f} s" for name, seconds in parts if seconds >= 0.1)


def _ratio(b: Run | None, a: Run | None) -> str:
    if b is None or a is None or a.wall_s == 0:
        return "-"
    return f"{'>' if b.timed_out else ''}{b.wall_s / a.wall_s:.1f}x"


def report(all_figures: Sequence[Figures]) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        "| N | docs | export | (a) kubectl apply | (b) preview | (b) up | up / kubectl | "
        "state writes (.bak) | written MB | state MB | no-change preview |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in all_figures:
        writes = f.up_writes or (0, 0, 0)
        skip = " (SKIP_CHECKPOINTS)" if f.skip_checkpoints else ""
        lines.append(
            f"| {f.n:,} | {f.documents:,} | {_fmt(f.export)} | {_fmt(f.kubectl)} | {_fmt(f.preview)} | "
            f"{_fmt(f.up)}{skip} | {_ratio(f.up, f.kubectl)} | {writes[0]:,} ({writes[1]:,}) | "
            f"{writes[2] / 1e6:.1f} | {f.state_bytes / 1e6:.2f} | {_fmt(f.no_change)} |")
    alts = [f for f in all_figures if f.alternatives]
    if alts:
        lines += ["", "Objects only, on a cluster with the CRDs (no chart, no zone upgrade):", "",
                  "| N | way | wall, peak RSS, CPU | / kubectl apply | state writes (.bak) | written MB |",
                  "|---|---|---|---|---|---|"]
        for f in alts:
            lines.append(f"| {f.n:,} | kubectl apply | {_fmt(f.kubectl)} | 1.0x | - | - |")
            for name, run in f.alternatives.items():
                w = f.alt_writes.get(name)
                lines.append(f"| {f.n:,} | {name} | {_fmt(run)} | {_ratio(run, f.kubectl)} | "
                             f"{f'{w[0]:,} ({w[1]:,})' if w else '-'} | "
                             f"{f'{w[2] / 1e6:.1f}' if w else '-'} |")
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,100,1000,10000")
    parser.add_argument("--cap-minutes", type=float, default=25.0)
    parser.add_argument("--skip-checkpoints-from", type=int, default=10_000,
                        help="from this N on, `pulumi up` runs with PULUMI_SKIP_CHECKPOINTS=true")
    parser.add_argument("--alternatives", default="",
                        help="comma-separated sizes at which to also measure per-object vs ConfigGroup")
    parser.add_argument("--no-program", action="store_true",
                        help="only (a) and the alternatives, not the program's (b)")
    parser.add_argument("--no-first-preview", action="store_true",
                        help="go straight to `pulumi up --skip-preview` (a preview writes no state, so"
                             " the up starts from the same state either way)")
    parser.add_argument("--grpc-log", type=Path,
                        help="log the first preview's gRPC calls (PULUMI_DEBUG_GRPC) into this directory;"
                             " the logging adds CPU: that preview's figures are then not comparable")
    parser.add_argument("--profile", type=Path,
                        help="write the CLI's CPU and memory profiles of the first preview into this"
                             " directory (pulumi --profiling)")
    parser.add_argument("--previews-skip-checkpoints", action="store_true",
                        help="where `up` skips checkpoints, the previews run with the setting too (the"
                             " 3.274 CLI's preview serializes the whole snapshot per step unless set)")
    parser.add_argument("--first-preview-only", action="store_true",
                        help="only the export and the program's first preview (no kubectl, up, ...)")
    parser.add_argument("--keep", type=Path, help="keep the work directories here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    tools = cached_tools()
    reason = not_built_reason(tools) or chart_present()
    if reason:
        print(f"not run: {reason}")
        return 2
    alternatives = set(_sizes(args.alternatives)) if args.alternatives else set()
    results: list[Figures] = []
    for n in _sizes(args.sizes):
        results.append(one_size(tools, n, cap_s=args.cap_minutes * 60,
                                skip_checkpoints=n >= args.skip_checkpoints_from,
                                alternatives=n in alternatives, keep=args.keep,
                                program=not args.no_program,
                                first_preview=not args.no_first_preview, grpc_log=args.grpc_log,
                                profile=args.profile, preview_skips=args.previews_skip_checkpoints,
                                preview_only=args.first_preview_only))
        if args.json:
            args.json.write_text(json.dumps([_as_json(f) for f in results], indent=1))
    print()
    print(report(results))
    return 0


def _as_json(f: Figures) -> dict[str, Any]:
    def run(r: Run | None) -> dict[str, Any] | None:
        return None if r is None else {"wall_s": r.wall_s, "peak_rss_mb": r.peak_rss_mb, "cpu_s": r.cpu_s,
                                       "timed_out": r.timed_out, "load": r.load,
                                       "cpu_by_program": r.cpu_by_program}
    return {"n": f.n, "documents": f.documents, "export": run(f.export), "kubectl": run(f.kubectl),
            "preview": run(f.preview), "up": run(f.up), "up_writes": f.up_writes,
            "state_bytes": f.state_bytes, "no_change": run(f.no_change),
            "skip_checkpoints": f.skip_checkpoints,
            "alternatives": {k: run(v) for k, v in f.alternatives.items()}, "alt_writes": f.alt_writes}


if __name__ == "__main__":
    raise SystemExit(main())
