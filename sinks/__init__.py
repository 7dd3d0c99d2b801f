"""Sink workers that land clean records and trajectories in S3-compatible storage (boto3 edge, pure core)."""
