"""``labkit course``: build the course's notebooks, the learner's copy and the Jupyter Book.

Sub-commands (the Makefile's ``notebooks``, ``student`` and ``book`` targets call them)::

    labkit course build   --src course --out build/course      # both variants, as .ipynb
    labkit course student --src course --out student           # the learner's notebooks
    labkit course publish --out build/student-branch [--hub URL --repo URL]   # the hub's branch (course/publish.py)
    labkit course book    --notebooks build/course/solution --book book   # execute all, render the book
    labkit course lint    --src course --book book     # sections and cross-references (course/lint.py)

See :mod:`labkit.course.build` and :mod:`labkit.course.lint`.
"""

from __future__ import annotations

import argparse

HELP = "Build the course: notebooks (solution and student variants), the learner's copy, the Jupyter Book."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``build``, ``student``, ``publish``, ``book`` and ``lint`` sub-commands."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="Build both variants of every notebook: OUT/solution and OUT/student.",
                           description="Build both variants of every notebook: OUT/solution and OUT/student.")
    build.add_argument("--src", default="course", help="folder of the NN_name.py sources (default: course)")
    build.add_argument("--out", default="build/course", help="output folder (default: build/course)")
    student = sub.add_parser("student", help="Write the learner's notebooks: solutions replaced by stubs.",
                             description="Write the learner's notebooks: solutions replaced by stubs.")
    student.add_argument("--src", default="course", help="folder of the NN_name.py sources (default: course)")
    student.add_argument("--out", default="student", help="output folder (default: student)")
    publish = sub.add_parser("publish", help="Write the learner's notebooks and a README into the folder published "
                                             "as the course's student branch, for nbgitpuller links.",
                             description="Write the learner's notebooks and a README into OUT, a worktree of the "
                                         "course's student branch that nbgitpuller links hand out (book: Serving "
                                         "the course on a JupyterHub); with --hub and --repo, print each link.")
    publish.add_argument("--src", default="course", help="folder of the NN_name.py sources (default: course)")
    publish.add_argument("--out", default="build/student-branch", help="output folder (default: build/student-branch)")
    publish.add_argument("--hub", default=None, help="the hub's URL, e.g. https://hub.example.org")
    publish.add_argument("--repo", default=None, help="the URL of the repository that holds the branch")
    publish.add_argument("--branch", default="student", help="the branch (default: student)")
    publish.add_argument("--overwrite", action="store_true", help="replace files in OUT that labkit did not write")
    book = sub.add_parser("book", help="Build the Jupyter Book, executing every notebook; fails on any warning.",
                          description="Copy the solution notebooks into BOOK/notebooks, then run jupyter-book "
                                      "build: every notebook is executed, and any error or warning fails.")
    book.add_argument("--notebooks", default="build/course/solution",
                      help="the built solution notebooks (default: build/course/solution)")
    book.add_argument("--book", default="book", help="the book's folder (default: book)")
    book.add_argument("--builder", default="html", help="Sphinx builder (default: html)")
    lint = sub.add_parser("lint", help="Check every notebook's sections and cross-references, and the book's TOC.",
                          description="Check that every notebook source has its sections (title, learning "
                                      "objectives, prerequisites, time, key points, what's next) and that its "
                                      "cross-references and the book's TOC name notebooks that exist; print one "
                                      "line per problem, FILE:LINE: what to write, and exit with 1 if any.")
    lint.add_argument("--src", default="course", help="folder of the NN_name.py sources (default: course)")
    lint.add_argument("--book", default="book", help="the book's folder, with _toc.yml (default: book)")


def run(args: argparse.Namespace) -> int:
    """Run the chosen sub-command; return the exit code."""
    from ..course import build

    if args.action == "build":
        built = build.build_notebooks(args.src, args.out)
        for variant, paths in built.items():
            print(f"{variant}: {len(paths)} notebook(s) in {args.out}/{variant}: {', '.join(p.name for p in paths)}")
    elif args.action == "student":
        paths = build.make_student(args.src, args.out)
        print(f"{len(paths)} learner notebook(s) in {args.out}/: {', '.join(p.name for p in paths)}")
    elif args.action == "publish":
        from ..course import publish

        paths = publish.publish_student(args.out, args.src, hub=args.hub, repo=args.repo, branch=args.branch,
                                        overwrite=args.overwrite)
        print(f"{len(paths) - 1} learner notebook(s) and {publish.README} in {args.out}/: commit them (with "
              f"{args.out}/.labkit-outputs.json) on the branch {args.branch} and push it.")
        for path in paths[:-1] if args.hub else []:
            print(publish.nbgitpuller_link(args.hub, args.repo, branch=args.branch, notebook=path.name))
    elif args.action == "book":
        out = build.build_book(args.notebooks, args.book, builder=args.builder)
        print(f"The book is in {out}/ (open {out / 'index.html'}).")
    elif args.action == "lint":
        from ..course.lint import lint_course

        problems = lint_course(args.src, args.book)
        for problem in problems:
            print(problem)
        if problems:
            return 1
        print(f"The course in {args.src}/ has every section, and its cross-references and {args.book}/_toc.yml "
              "are right.")
    return 0
