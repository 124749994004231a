"""Shared machinery of every domain: settings, database, cache, queue, logging, metrics, errors."""
