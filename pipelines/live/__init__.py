"""The live path: landing segments -> the batch composites -> event-time windows in the live store."""
