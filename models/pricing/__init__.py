"""Dynamic pricing: demand/elasticity models, a constrained price optimiser, Thompson sampling."""
