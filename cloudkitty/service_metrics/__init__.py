"""Prometheus metrics of the services about themselves.

* :mod:`.exposition` — where the figures of a service's processes are
  kept (in memory, or in a directory shared by its processes) and how
  they are rendered (OpenMetrics text, or Prometheus' classic text
  format when a client asks for it) and served over HTTP;
* :mod:`.processor` — the processor's metrics (scope-periods and points
  rated, collect errors, per-scope lag, rating RPC latency) and its
  endpoint;
* :mod:`.api` — the API's request counts and latencies (a WSGI
  middleware) and the path that serves them.

Everything is off unless ``[service_metrics] enabled`` is set; the
recording functions then cost a global lookup.
"""
