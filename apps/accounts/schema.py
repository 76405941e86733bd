"""OpenAPI description of the API's token authentication (drf-spectacular), so the schema says
how to authenticate and ``check --deploy`` has no W001 warning for our knox subclass."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>`` (django-rest-knox keys, hashed at rest; see docs/api.md)."""

    target_class = "apps.accounts.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: create a token on your profile page or with `manage.py api_token_create`.",
        }
