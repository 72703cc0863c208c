"""Ray Serve deployments, one module per model (plus the stream processors), each thin: load in
``__init__``, delegate to :mod:`models` (or :mod:`streams`)."""

from serve.deployments.churn import ChurnDeployment
from serve.deployments.embedding import EmbeddingDeployment
from serve.deployments.marketing import MarketingDeployment
from serve.deployments.pricing import PricingDeployment
from serve.deployments.sentiment import SentimentDeployment
from serve.deployments.streams import StreamsDeployment
from serve.deployments.summary import SummaryDeployment
from serve.deployments.vision import VisionDeployment
from serve.deployments.voice import VoiceDeployment

__all__ = [
    "ChurnDeployment",
    "EmbeddingDeployment",
    "MarketingDeployment",
    "PricingDeployment",
    "SentimentDeployment",
    "StreamsDeployment",
    "SummaryDeployment",
    "VisionDeployment",
    "VoiceDeployment",
]
