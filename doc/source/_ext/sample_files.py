"""Write the sample configuration and policy files into the HTML output.

The files are generated from the options and policy rules registered by
the installed package (the same generators as ``tox -e genconfig`` and
``tox -e genpolicy``), at build time and into the build directory only,
so the source tree never holds a copy that could go stale. Pages link to
them as ``_downloads-generated/<name>`` relative to the site root.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

OUTPUT_DIR = "_downloads-generated"


def _write(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from oslo_config import cfg, generator
    from oslo_policy import generator as policy_generator

    repo = Path(app.srcdir).resolve().parents[1]
    out = Path(app.outdir) / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    generator.main(args=[
        "--config-file",
        str(repo / "etc" / "oslo-config-generator" / "cloudkitty.conf"),
        "--output-file", str(out / "cloudkitty.conf.sample")])
    policy_generator.generate_sample(
        args=["--config-file",
              str(repo / "etc" / "oslo-policy-generator"
                  / "cloudkitty.conf"),
              "--output-file", str(out / "policy.yaml.sample")],
        conf=cfg.ConfigOpts())


def setup(app: Any) -> dict[str, Any]:
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
