"""The capture side: the agent on each device and the simulator of devices (edges around a pure core)."""
