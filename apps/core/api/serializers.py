"""Serializers shared by every app's API."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer."""

    message = serializers.CharField(help_text="What went wrong, readable by a person.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Field errors: `{"field": ["message", ...]}`; nested fields are dotted (`tags.0`). Empty when none.',
    )
