"""The pure decisions of the capture side: no Kafka, pynput or mss imports here."""
