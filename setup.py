"""Map the repository's top-level folders envs/, agents/ and sim/ to banditsim.envs/.agents/.sim.

The metadata lives in pyproject.toml; this file only names the packages, found from the tree so a
new subpackage cannot be left out of the wheel.
"""

from setuptools import find_packages, setup

FOLDERS = ("envs", "agents", "sim")
packages = ["banditsim"] + [f"banditsim.{p}" for p in find_packages(include=[f"{f}*" for f in FOLDERS])]
setup(packages=packages, package_dir={"banditsim": "banditsim", **{f"banditsim.{f}": f for f in FOLDERS}})
