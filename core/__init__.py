"""Leaf package shared by every layer: the expected-error hierarchy."""
