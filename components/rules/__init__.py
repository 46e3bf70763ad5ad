"""Pure rules: Helm values, merging zones' exports, preflight, signing keys, products, charts.

No Pulumi resource is created here; Outputs only pass through.
"""
