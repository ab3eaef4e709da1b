"""WSGI entry points for application servers (uwsgi, mod_wsgi, gunicorn)."""
