"""The Pulumi component resources, one per step of the guide.

Each takes typed Args of domain inputs, and its provider and dependencies through the
`ResourceOptions` it is given (`opts=ResourceOptions(provider=..., depends_on=...)`), as
pulumi-kubernetes' own components do. Its children get `parent=self`, which hands them the
component's provider; the component passes its `depends_on` on to the children that must wait
(`dependencies.after_component`), since the SDK does not.
"""
