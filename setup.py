"""Package list for setuptools: the code under tnbc_desktop/ plus two data packages mapped from the top-level
resources/ and models/ folders (pyproject.toml holds everything else)."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["tnbc_desktop", "tnbc_desktop.*"])
    + ["tnbc_desktop.resources", "tnbc_desktop.models"],
    package_dir={"tnbc_desktop.resources": "resources", "tnbc_desktop.models": "models"},
    package_data={
        "tnbc_desktop": ["py.typed"],
        "tnbc_desktop.resources": ["*.yaml", "*.json", "*.qss", "*.svg", "*.png", "*.csv", "*.md"],
        "tnbc_desktop.models": ["*.json", "*.md"],
    },
    include_package_data=False,
)
