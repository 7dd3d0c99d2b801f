"""The pure decisions of the sink: object names, batching, file formats. No boto3 or Kafka here."""
