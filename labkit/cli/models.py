"""``labkit models``: list the models of the one registry, what each does and reads, and its hyperparameters.

Every name listed is what ``labkit cv --model NAME``, a config's ``model:`` and
:func:`labkit.models.make_model` take (:func:`labkit.models.describe_models` gives the same rows). ``--task`` keeps
one task; ``labkit models NAME`` prints one model's hyperparameters and their defaults; ``--json`` prints JSON.

Example
-------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="labkit models")
>>> configure(parser)
>>> run(parser.parse_args(["--task", "super-resolution"]))  # doctest: +NORMALIZE_WHITESPACE
name   task              reads   dates  GPU  description
dsen2  super-resolution  scenes  no     yes  DSen2-style residual CNN: Sentinel-2's 20 m bands to 10 m, trained by Wald's protocol
0
"""

from __future__ import annotations

import argparse
import json

HELP = "List the models labkit builds by name (classical and deep): task, what they read, GPU; one model's parameters."


TASKS = ("classification", "regression", "super-resolution")
""":data:`labkit.models.registry.TASKS`, written out so that building the parser does not import scikit-learn and
torch (``labkit --help`` answers at once); a test keeps the two equal."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``labkit models``.

    Example
    -------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> configure(parser)
    >>> parser.parse_args(["ltae", "--json"]).name
    'ltae'
    """
    parser.add_argument("name", nargs="?", metavar="NAME", help="a model: print its hyperparameters and defaults")
    parser.add_argument("--task", choices=TASKS, help="only the models of this task")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _hyperparameters(name: str) -> dict[str, object]:
    """The hyperparameters of the registered model ``name`` and their defaults (its estimator's ``get_params``); for
    a series network, ``network_params`` shows the network's own defaults (what ``network_params={...}`` sets)."""
    import inspect

    from ..models import make_model

    model = make_model(name)
    final = model.steps[-1][1] if isinstance(getattr(model, "steps", None), list) else model
    params = final.get_params(deep=False)
    if params.get("network_params") is None and isinstance(params.get("network"), str):
        from ..models.deep.networks import NETWORKS

        signature = inspect.signature(NETWORKS[params["network"]].__init__).parameters.values()
        params["network_params"] = {p.name: p.default for p in signature
                                    if p.default is not p.empty and p.name not in ("n_bands", "n_outputs", "n_times")}
    return params


def _table(rows: list[dict]) -> str:
    header = ["name", "task", "reads", "dates", "GPU", "description"]
    body = [[r["name"], r["task"], r["inputs"], "yes" if r["dates"] else "no", "yes" if r["gpu"] else "no",
             r["description"]] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in [header, *body])


def run(args: argparse.Namespace) -> int:
    """Print the registry (or one model's hyperparameters); return 0.

    Raises
    ------
    labkit.errors.ConfigError
        An unknown model name (with the closest known one).
    """
    import labkit.models  # noqa: F401  (registers the classical and deep models)

    from ..errors import ConfigError
    from ..models.registry import _unknown_name_message, describe_models, model_names

    if args.name is not None:
        if args.name not in model_names():
            raise ConfigError(_unknown_name_message(args.name) + ".")
        params = _hyperparameters(args.name)
        if args.json:
            print(json.dumps({"name": args.name, "params": params}, default=repr))
        else:
            width = max(map(len, params), default=0)
            print("\n".join(f"{key:<{width}}  {value!r}" for key, value in params.items()))
        return 0
    rows = [row for row in describe_models() if args.task is None or row["task"] == args.task]
    print(json.dumps(rows) if args.json else _table(rows))
    return 0
