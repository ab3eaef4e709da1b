"""Sphinx configuration of the CloudKitty documentation."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "CloudKitty"
copyright = "CloudKitty developers"
extensions = [
    "oslo_config.sphinxext",
    "oslo_policy.sphinxext",
    # The sample cloudkitty.conf and policy.yaml, generated into the output.
    "sample_files",
]
master_doc = "index"
exclude_patterns = ["_build", "_ext"]
html_theme = "alabaster"
