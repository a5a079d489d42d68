"""Engines: one adapter per provider behind one protocol (see `base`)."""
