"""Mesh Portal: a self-service data marketplace for a data mesh."""

from .celery import app as celery_app

__all__ = ("celery_app",)
