"""GangaJupyter: Ganga jobs in Jupyter notebooks (a Ganga runtime package)."""
import os

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

PTH = "GangaJupyter.pth"


class build_py_with_pth(build_py):
    """Also install ``GangaJupyter.pth`` at the top of site-packages.

    Like Ganga's own runtime packages (GangaDirac, GangaLHCb), GangaJupyter installs into ``site-packages/ganga``
    so ``RUNTIME_PATH = GangaJupyter`` loads it without Ganga's "different code" warning. That directory is on
    ``sys.path`` only once ``import ganga`` has run; the ``.pth`` line puts it there at start-up, so
    ``%load_ext GangaJupyter`` works in a fresh kernel.
    """

    def run(self):
        super().run()
        self.copy_file(PTH, os.path.join(self.build_lib, PTH), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.rst"), encoding="utf-8") as readme:
    long_description = readme.read()

setup(
    name="GangaJupyter",
    version="0.1.0",
    description="Define, submit, watch, kill and resubmit Ganga jobs from Jupyter notebooks",
    long_description=long_description,
    long_description_content_type="text/x-rst",
    license="GPL-2.0-or-later",
    python_requires=">=3.9",
    packages=find_namespace_packages(include=["ganga.GangaJupyter", "ganga.GangaJupyter.*"], exclude=["*.test"]),
    package_data={"ganga.GangaJupyter": ["GangaJupyter.ini", "Lib/Display/templates/*.j2", "Lib/Widgets/*.js"]},
    cmdclass={"build_py": build_py_with_pth},
    install_requires=["ganga>=8.7.12", "jinja2>=3.0", "bleach>=6", "ipython>=8.0", "ipywidgets>=8", "anywidget>=0.9", "watchdog>=3", "psutil>=5", "nbformat>=5.9", "nbclient>=0.9", "ipykernel>=6.25"],
    extras_require={
        "test": ["pytest>=7", "nbclient>=0.9", "nbformat>=5.9", "ipykernel>=6.25", "nbconvert>=7"],
        "browser": ["jupyterlab>=4", "notebook>=7", "playwright>=1.40"],
        "docs": ["sphinx>=7"],
    },
    classifiers=[
        "Framework :: Jupyter",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
    ],
)
