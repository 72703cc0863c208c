"""HTTP plumbing shared by every FastAPI app of the engine: problem+json, body limits, correlation ids."""
