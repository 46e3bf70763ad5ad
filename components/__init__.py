"""mesh-federation: Pulumi components that federate Kong Mesh / Kuma zones."""
