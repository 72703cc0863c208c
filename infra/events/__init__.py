"""Events: the envelope every producer and consumer shares, the buses (in-process, RabbitMQ), the transactional
outbox and its relay, and the one RabbitMQ consumer (durable retry queue, attempt header, dead-letter queue)."""
