"""Ray Serve applications, ingress and the `vettify` CLI."""
