"""Shipped policy versions (YAML), packaged with the service."""
