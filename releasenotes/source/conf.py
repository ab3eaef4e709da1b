"""Sphinx configuration of the release notes."""
project = "CloudKitty Release Notes"
extensions = ["reno.sphinxext"]
master_doc = "index"
html_theme = "alabaster"
