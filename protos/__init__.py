"""gRPC definitions (vettify.analytics.v1) and their generated stubs."""
