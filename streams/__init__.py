"""Stream processors: event envelope, bus adapters (HTTP, RabbitMQ, Kafka), processors."""
