"""Build hook: the top-level weights/ folder travels inside the wheel as emotalk_cli/weights/.

`weights/` stays the one source of truth in the repository; an editable install (`make setup`)
reads it in place (emotalk_cli.resources), while a wheel gets a copy, read there through
importlib.resources. Everything else is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = ("*.safetensors", "*.task", "*.tflite", "*.LICENSE", "NOTICE")  # models, their licences, the provenance list


class BuildPyWithWeights(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # editable installs read <repo>/weights directly
        target = Path(self.build_lib) / "emotalk_cli" / "weights"
        target.mkdir(parents=True, exist_ok=True)
        for pattern in SHIPPED:
            for source in sorted(WEIGHTS.glob(pattern)):
                shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildPyWithWeights})
