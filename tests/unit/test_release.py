"""A release is one version everywhere (docs/releasing.md): the package, the chart
and the image the chart runs by default; and the licence goes with each."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "burnafter"


def test_the_package_the_chart_and_its_default_image_carry_one_version() -> None:
    package = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text("utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))
    assert chart["version"] == chart["appVersion"] == package["version"]
    assert values["image"]["tag"] in ("", chart["appVersion"])  # "": the appVersion


def test_the_licence_is_named_alike_and_shipped() -> None:
    package = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text("utf-8"))
    assert "Apache License" in (ROOT / "LICENSE").read_text("utf-8")
    assert chart["annotations"]["artifacthub.io/license"] == "Apache-2.0"
    assert "Apache-2.0" in str(package.get("license")) + str(package.get("classifiers"))
    assert "LICENSE" in (ROOT / "Dockerfile").read_text("utf-8")
