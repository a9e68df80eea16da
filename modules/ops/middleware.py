"""First middleware of the chain: probes answered early, every other request measured."""

import time

from modules.ops import metrics, views

# Served before host validation, sessions and tenant lookup: a probe must get its answer when
# the database is down and whatever Host header it sends (these pages build no URLs).
EARLY = {"/health": views.health, "/metrics": views.metrics}


class OpsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = EARLY.get(request.path_info)
        if view is not None:
            return view(request)
        began = time.perf_counter()
        response = self.get_response(request)
        metrics.observe_request(request, response, time.perf_counter() - began)
        return response
