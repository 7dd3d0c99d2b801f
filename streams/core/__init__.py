"""The pure decisions of the stream stages: no faust, Kafka or network imports here."""
