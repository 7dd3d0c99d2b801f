"""The pure decisions of the sink (pure core): step rows and manifest entries, which offsets may be
committed, whether a session's frames are ready, what a withdrawal keeps, the dataset card.
No boto3 or Kafka here."""
