"""Exporters: events in, records out to an injected binary file object."""
