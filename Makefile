# labkit: two commands on a fresh machine.
#   make demo   set up .venv, then run the main job on the embedded data
#   make test   set up .venv, then run the whole suite: unit tests, doctests, every notebook (student variant by
#               nbval, solution variant by the book's build), the book
#   make lab    set up .venv and the learner's copy of the course (student/), then open it in JupyterLab
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
COURSE_BUILD := build/course

# Public datasets (labkit fetch, the course's "bring your own data") come from the project's local mirror where there
# is one (development machines, CI: no internet), else from their origin. Set LABKIT_DATA_MIRROR to override.
MIRROR := $(wildcard ../shared/data/mirror/github)
ifneq ($(MIRROR),)
export LABKIT_DATA_MIRROR ?= $(abspath $(MIRROR))
endif

.PHONY: all venv demo test unit notebooks nbtest nbtest-student student lab publish book bench clean

all: test

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,course]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/labkit demo --out outputs/demo

# The book executes every solution notebook (an error fails its build), so the suite runs nbval on the student
# variant only; `make nbtest` runs both variants.
test: unit nbtest-student book

unit: venv
	$(BIN)/python -m pytest

# Notebooks are kept as jupytext py:percent sources in course/; both variants are built as .ipynb under build/.
notebooks: venv
	$(BIN)/labkit course build --out $(COURSE_BUILD)

NBVAL := $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider -o addopts="" -o testpaths=""

nbtest: notebooks
	$(NBVAL) $(COURSE_BUILD)/solution $(COURSE_BUILD)/student

nbtest-student: notebooks
	$(NBVAL) $(COURSE_BUILD)/student

# The learner's version of the course: solution cells replaced by stubs.
student: venv
	$(BIN)/labkit course student --out student

# JupyterLab on the learner's copy. LAB_ARGS passes options, e.g. make lab LAB_ARGS="--no-browser --port 8890".
# Jupyter refuses to run as root (containers, CI) unless told to: root gets --allow-root.
LAB_ARGS ?=
lab: student
	$(BIN)/jupyter lab --ServerApp.root_dir=student $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The learner's notebooks for a JupyterHub: PUBLISH (a worktree of the course's `student` branch) gets them with a
# README; nbgitpuller links hand them out (book/hub.md). HUB=https://hub.example.org REPO=https://github.com/ORG/REPO
# also prints each notebook's link.
PUBLISH ?= build/student-branch
publish: venv
	$(BIN)/labkit course publish --out $(PUBLISH) $(if $(HUB),--hub $(HUB)) $(if $(REPO),--repo $(REPO))

book: notebooks
	$(BIN)/labkit course book --notebooks $(COURSE_BUILD)/solution --book book

bench: venv
	for f in bench/[!_]*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf build outputs student book/_build book/notebooks
