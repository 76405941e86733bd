"""``{% url %}`` with the reversed URLs memoised per process (a template builtin, see settings).

A search page reverses ~130 URLs (a product, its team, its domain, its tags, per result) and
Django's ``reverse`` costs ~80 µs each (resolver, namespaces, script prefix through
``asgiref.local``): 11 ms of a 65 ms page in the ``bench/load.py`` profile (``bench/README.md``).
Reversing is a pure function of the view name, the arguments, the current app, the script prefix
and the URLconf, so the result is cached under all of them; only string and integer arguments
are cached (a model instance's ``str`` may change), and the cache empties when the URLconf
setting changes (tests). Same syntax and behaviour as Django's tag, which parses it.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.template import defaulttags
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

_CACHEABLE = (str, int)


@lru_cache(maxsize=50_000)
def _reverse(view_name: str, args: tuple, kwargs: tuple, current_app, prefix: str, urlconf) -> str:
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def cached_reverse(view_name: str, args: list, kwargs: dict, current_app=None) -> str:
    """``reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)``, memoised when
    every argument is a string or an integer. Raises ``NoReverseMatch`` as ``reverse`` does."""
    if isinstance(view_name, str) and all(type(v) in _CACHEABLE for v in (*args, *kwargs.values())):
        return _reverse(
            view_name, tuple(args), tuple(sorted(kwargs.items())), current_app, get_script_prefix(), get_urlconf()
        )
    return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


def _clear(*, setting, **kwargs) -> None:
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        _reverse.cache_clear()


setting_changed.connect(_clear, dispatch_uid="core.cached_url.clear")


class CachedURLNode(defaulttags.URLNode):
    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's ``{% url %}`` (same syntax, parsed by Django), reversing through :func:`cached_reverse`."""
    node = defaulttags.url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
