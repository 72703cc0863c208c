"""Marketing models: A/B experiments, multi-touch attribution and budget allocation (pure Python, no Ray, no DB)."""
