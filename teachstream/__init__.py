"""teachstream: consented, redacted computer-use trajectories from Kafka to S3."""

__version__ = "0.1.0"
