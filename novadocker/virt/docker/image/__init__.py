"""Glance images as local Docker images: loading, checking, caching."""
