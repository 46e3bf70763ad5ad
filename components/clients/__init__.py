"""How the program and its tools reach a control plane: the Kuma API client, the Kubernetes
access (kube contexts, the service proxy, list calls). No Pulumi imports."""
