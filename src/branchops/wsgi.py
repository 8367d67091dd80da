import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branchops.settings")
application = get_wsgi_application()


def _warm_forecast_models() -> None:
    # Importing statsforecast takes ~6 s (measured): most of an outlet page's first forecast in a fresh
    # worker. Do it in the background at boot so no request waits for it.
    import importlib

    try:
        importlib.import_module("statsforecast.models")
    except Exception:  # the forecast still works; it just pays the import on first use
        pass


if os.environ.get("BRANCHOPS_WARM_FORECAST", "1") == "1":
    threading.Thread(target=_warm_forecast_models, name="warm-forecast", daemon=True).start()
