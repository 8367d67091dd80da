from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Simplified Chinese unless the user chose another language with the switch.

    Django's own middleware would follow the browser's Accept-Language, so a bank PC with an
    English browser would get English pages; here only the user's explicit choice (the language
    cookie set by the switch) changes the language.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreForSignedInMiddleware:
    """Pages and API answers for a signed-in user carry personal and internal data (complainants'
    phone numbers when revealed, cases, items): no browser or proxy may keep them
    (``Cache-Control: no-store``). Static files never reach this middleware (WhiteNoise serves them
    above it), and a view that sets its own Cache-Control keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or getattr(request, "auth", None) is not None:
            if "Cache-Control" not in response:
                response["Cache-Control"] = "no-store, private"
        return response


class OutOfRangeNotFoundMiddleware:
    """A page address with a number no row can have (``/cases/99999999999999999999/``) is not found,
    not a server error: SQLite cannot even compare such a number (OverflowError). Query filters are
    bounded where they are read (core.limits); this covers ids in the path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError):
            from django.http import Http404

            from .views import not_found

            return not_found(request, Http404())
        return None
