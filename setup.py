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


class build_py_with_labextension(build_py_with_pth):
    """Also build the Jobs browser's JupyterLab / Notebook 7 extension (``labextension/``, TypeScript) with npm,
    so wheels ship it prebuilt and users never need Node.js. Needs Node.js >= 18 and npm at package build time,
    and JupyterLab (a build requirement in pyproject.toml: its ``staging`` folder says which packages are shared);
    an sdist carries the built files, and a build whose output is newer than its sources is kept."""

    def run(self):
        build_labextension()
        self.distribution.data_files = (self.distribution.data_files or []) + labextension_data_files()
        super().run()


LABEXT = "labextension"
LABEXT_OUT = os.path.join(LABEXT, "build", "labextension")
LABEXT_DEST = "share/jupyter/labextensions/gangajupyter-jobs"


def _newest(paths):
    return max((os.path.getmtime(os.path.join(root, n)) for p in paths for root, _, names in os.walk(p) for n in names), default=0)


def build_labextension():
    sources = [os.path.join(LABEXT, p) for p in ("src", "style", "package.json", "package-lock.json", "tsconfig.json")]
    if not os.path.isdir(os.path.join(LABEXT, "src")) or _newest([LABEXT_OUT]) > max(
        _newest(sources[:2]), *(os.path.getmtime(p) for p in sources[2:])
    ):
        return  # an sdist's prebuilt extension, or nothing changed since the last build
    import shutil
    import subprocess

    if not shutil.which("npm") or not shutil.which("node"):
        raise SystemExit(
            "Building GangaJupyter needs Node.js (>= 18) and npm for its JupyterLab extension; install them "
            "(e.g. apt-get install nodejs npm) or install GangaJupyter from a wheel."
        )
    import jupyterlab

    staging = os.path.join(os.path.dirname(jupyterlab.__file__), "staging")
    builder = os.path.join("node_modules", "@jupyterlab", "builder", "lib", "build-labextension.js")
    for command in (
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        ["npm", "run", "build:lib"],
        ["node", builder, "--core-path", staging, "."],
    ):
        subprocess.run(command, cwd=LABEXT, check=True)


def labextension_data_files():
    files = []
    for root, _dirs, names in os.walk(LABEXT_OUT):
        rel = os.path.relpath(root, LABEXT_OUT)
        files.append((LABEXT_DEST if rel == "." else f"{LABEXT_DEST}/{rel}", [os.path.join(root, n) for n in names]))
    return files


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
    packages=find_namespace_packages(include=["ganga.GangaJupyter", "ganga.GangaJupyter.*"], exclude=["*.test", "*.test.*"]),
    package_data={
        "ganga.GangaJupyter": [
            "GangaJupyter.ini",
            "Lib/Display/templates/*.j2",
            "Lib/Widgets/*.js",
            "Lib/Widgets/*.css",
            "Lib/Server/templates/*.j2",
            "Lib/Server/static/*",
        ]
    },
    data_files=[("etc/jupyter/jupyter_server_config.d", ["jupyter-config/jupyter_server_config.d/gangajupyter.json"])],
    cmdclass={"build_py": build_py_with_labextension},
    install_requires=["ganga>=8.7.12", "jinja2>=3.0", "nh3>=0.2.14", "ipython>=8.0", "ipywidgets>=8", "anywidget>=0.9", "watchdog>=3", "psutil>=5", "nbformat>=5.9", "nbclient>=0.9", "ipykernel>=6.25", "jupyter_server>=2.4"],
    extras_require={
        "test": [
            "pytest>=7", "nbclient>=0.9", "nbformat>=5.9", "ipykernel>=6.25", "nbconvert>=7", "htcondor>=24", "papermill>=2.4", "hypothesis>=6",
            "uproot>=5",
        ],
        "htcondor": ["htcondor>=24"],  # the HTCondor backend (its htcondor2 module)
        "root": ["uproot>=5"],  # output previews list a ROOT file's trees and histograms
        "browser": ["jupyterlab>=4", "notebook>=7", "playwright>=1.40"],
        "docs": ["sphinx>=7", "furo>=2024.1", "myst-nb>=1.1"],  # myst-nb executes examples/*.ipynb as pages
    },
    classifiers=[
        "Framework :: Jupyter",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
    ],
)
