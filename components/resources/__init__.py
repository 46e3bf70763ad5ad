"""The Pulumi component resources, one per step of the guide.

Each takes typed Args of domain inputs and its provider, dependencies and parent through the
`ResourceOptions` it is given, and turns them into registrations.
"""
