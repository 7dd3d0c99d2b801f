"""The shared runtime below the components: settings loading, Kafka clients and the control-topic follower.

Layers, top to bottom: ``teachstream`` (CLI, demo, reader) → ``producers | streams | sinks`` →
``runtime`` → ``schemas``. No arrow runs back up (an import-linter contract checks it).
"""
