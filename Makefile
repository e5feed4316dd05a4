# labkit: two commands on a fresh machine.
#   make demo   set up .venv, then run the main job on the embedded data
#   make test   set up .venv, then run the whole suite: unit tests, doctests, every notebook (student variant by
#               nbval, solution variant by the book's build), the book, opened in headless Chromium (book-check)
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

.PHONY: all venv demo test unit notebooks nbtest nbtest-student student lab publish book book-static book-check bench clean

all: test

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,course]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/labkit demo --out outputs/demo

# The book executes every solution notebook (an error fails its build), so the suite runs nbval on the student
# variant only (`make nbtest` runs both), and the two one after the other: notebook 06 run by two kernels at once
# (with make -j2) hung twice, its kernel's socket gone (ZMQError: Socket operation on non-socket).
test: unit nbtest-student book book-check

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

# The book reads no CDN, so that it works offline: it serves MathJax and the widgets' JavaScript (ipywidgets' HTML
# manager, RequireJS) itself, from BOOK_STATIC (book/_config.yml), where npm fetches these packages (each one alone,
# no dependencies) and their licences. HUB=https://hub.example.org REPO=https://github.com/ORG/REPO give each notebook
# page a launch button that opens it on that hub (book/hub.md).
BOOK_STATIC := build/book-static
BOOK_NPM    := mathjax@3.2.2 @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.8
book: notebooks book-static
	$(if $(HUB),LABKIT_HUB_URL=$(HUB)) $(if $(REPO),LABKIT_COURSE_REPO=$(REPO)) \
	  $(BIN)/labkit course book --notebooks $(COURSE_BUILD)/solution --book book

book-static: $(BOOK_STATIC)/widgets/embed-amd.js
$(BOOK_STATIC)/widgets/embed-amd.js: Makefile
	@command -v npm >/dev/null || { echo "make book-static needs npm (Debian: apt-get install npm)"; exit 1; }
	rm -rf $(BOOK_STATIC) build/book-npm && mkdir -p $(BOOK_STATIC)/mathjax $(BOOK_STATIC)/widgets build/book-npm
	cd build/book-npm && npm pack --silent $(BOOK_NPM) >/dev/null
	tar -xzf build/book-npm/mathjax-*.tgz -C $(BOOK_STATIC)/mathjax --strip-components 2 package/es5
	tar -xzf build/book-npm/mathjax-*.tgz -C $(BOOK_STATIC)/mathjax --strip-components 1 package/LICENSE
	tar -xzf build/book-npm/requirejs-*.tgz -O package/require.js > $(BOOK_STATIC)/widgets/require.js
	tar -xzf build/book-npm/requirejs-*.tgz -O package/package.json > $(BOOK_STATIC)/widgets/requirejs.package.json
	tar -xzf build/book-npm/jupyter-widgets-html-manager-*.tgz -O package/package.json \
	  > $(BOOK_STATIC)/widgets/html-manager.package.json
	tar -xzf build/book-npm/jupyter-widgets-html-manager-*.tgz -O package/dist/embed.js.LICENSE.txt \
	  > $(BOOK_STATIC)/widgets/embed-amd.js.LICENSE.txt
	tar -xzf build/book-npm/jupyter-widgets-html-manager-*.tgz -O package/dist/embed-amd.js \
	  > $@.tmp && mv $@.tmp $@

# The built book opened in headless Chromium (Debian's chromium, installed here when missing): equations rendered,
# figures and tables shown, internal links resolved, no script from another host; screenshots in build/screenshots.
book-check: venv
	@command -v chromium >/dev/null || [ "$$(id -u)" = 0 ] || \
	  { echo "make book-check needs Debian's chromium: sudo apt-get install chromium"; exit 1; }
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	LABKIT_BOOK_HTML=book/_build/html LABKIT_SCREENSHOTS=build/screenshots \
	  $(BIN)/python -m pytest -p no:cacheprovider -o addopts="-ra" tests/browser

bench: venv
	for f in bench/[!_]*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf build outputs student book/_build book/notebooks
