"""Sphinx configuration of the CloudKitty documentation."""
project = "CloudKitty"
copyright = "CloudKitty developers"
extensions = [
    "oslo_config.sphinxext",
    "oslo_policy.sphinxext",
]
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
