"""Sequences (automations): enrolment (:mod:`.enroll`) and the runner that moves each contact through the steps
(:mod:`.runner`), durable in PostgreSQL."""
