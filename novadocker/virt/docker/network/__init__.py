"""Neutron networking of containers: sandbox, netns wiring, VIFs."""
