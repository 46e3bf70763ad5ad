"""A local federation to run: etcd and kube-apiservers, a podless kubelet that runs the real
kuma-cp for the chart's control plane Deployments, all inside a network namespace of its own,
and the steps that set up a zone as Kuma's quickstart leaves it.

One package for two callers: tier 2 of the tests (tests/tier2) and `tools/local` (a federation
to try on one's own machine). No pytest in here. One job per module:

- `assets`: where the tools are (the tools cache first, then PATH) and what is missing;
- `netns`: the node's network namespace, one per pod, and forwarders from 127.0.0.1 into them;
- `kube`: etcd and one kube-apiserver per cluster, started and stopped as one environment;
- `podless`: the kubelet's and controllers' parts that Helm, kubectl and Kuma wait on;
- `kubelet`: kuma-cp run for a control plane Deployment, as its pod would run it;
- `kuma`: setup steps (the standalone control plane from the chart, a demo mesh, policies);
- `observe`: what a user reads on a federation (a control plane's API, the zone online on the
  global, kumactl's and the program's exports, an exported object on a cluster);
- `pulumi_cli`: the `pulumi` CLI on a clone of the project, one stack, one backend.
"""
