"""The ``dmft`` command line (``docs/conventions.md`` section 4): a thin layer over library calls.

Every command is first a Python call (:func:`dmft.run`, :func:`dmft.analysis.fit_teff`, ...);
this module only parses arguments, reports and exits.  The flags are flat: the physics
parameters (:class:`~dmft.core.params.Params`) and the settings of the command's own method
(:class:`~dmft.core.methods.DMFTMethod` for ``solve``, :class:`~dmft.core.methods.ParticleMethod`
for ``simulate``); their help text is the field documentation of those classes.  Bad input (an
invalid parameter, an unreadable file) prints one line naming the problem on stderr and exits
with status 2 without writing anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shlex
import sys
from dataclasses import MISSING, fields

import numpy as np

from ..analysis.figures import FIGURE_FORMATS, check_comparable, compare_figure
from ..analysis.phase_diagram import QUANTITIES, parse_slices, phase_diagram, table_path
from ..analysis.fdt_line import fit_fdt_line
from ..analysis.teff import fit_teff
from ..core.checks import check_settings
from ..core.fielddocs import field_docs
from ..core.extrapolation import BIAS_SUFFIX, paths_corrections
from ..core.io import FileFormatError, load, save
from ..core import resources
from ..core.manifest import ManifestError
from ..core.methods import DMFTMethod, ParticleMethod
from ..core.outputs import OutputPathError, WriteError, check_output
from ..core.params import (CONSTRAINTS, DATA, DYNAMICS, LOSSES, NOISE_CLASSES, NORMALIZATIONS, ParameterError,
                           Params)
from ..core.provenance import cli_command, package_version
from .api import run
from .demo import report as demo_report, run_demo
from .measure import QUANTITIES as MEASURE_QUANTITIES, MeasureError, MeasureSettings, measure, parse_budget
from .runner import FolderBusy, ForeignFiles, RunAborted
from .scan import ScanConfigError, load_config, run_scan

EXIT_BAD_INPUT = 2
#: a runtime failure (a write that failed: disk full)
EXIT_FAILURE = 1
#: ``dmft teff --strict`` / ``dmft measure --strict``: the file was read and measured (or the
#: measurement ran), but the value is not available (not stationary, no plateau, a measurement's
#: status other than ok); without --strict that is a result and the status is 0
EXIT_NO_VALUE = 3
#: the conventions page, named in the help
CONVENTIONS = "docs/conventions.md"
#: the end of ``dmft --help``: two worked examples and where the conventions are
EPILOG = f"""examples:
  # DMFT of the canonical stationary UNSAT point, the defaults (minutes on 2 cores:
  # benchmarks/bench_teff.py), then its effective temperature T_eff with the FDT curve
  dmft solve --alpha 4 --delta 0.5 --dynamics sgd --b 0.5 --t-max 125 --tw 50,75 -o unsat.h5
  dmft teff unsat.h5 --curve

  # the same point simulated (N = 1000, 8 systems) and compared with the theory
  dmft simulate --alpha 4 --delta 0.5 --dynamics sgd --b 0.5 --t-max 125 --tw 50,75 \\
      --n 1000 --n-samples 8 -o unsat-sim.h5
  dmft compare unsat.h5 unsat-sim.h5 -o unsat.png

Conventions (model, dynamics, observables, flags, file layout): {CONVENTIONS} in the source
repository. Each flag of solve/simulate is a field of dmft.Params or of the command's method
(help(dmft.Params), help(dmft.DMFTMethod), help(dmft.ParticleMethod)). 'dmft COMMAND -h' lists
a command's flags."""
CHOICES = {"loss": LOSSES, "constraint": CONSTRAINTS, "dynamics": DYNAMICS, "noise_class": NOISE_CLASSES,
           "normalization": NORMALIZATIONS, "response": ("auto", "blocks", "probe", "exact"), "probe_signal": ("y", "dr"),
           "history_dtype": ("float32", "float64"), "data": DATA}


log = logging.getLogger(__name__)

#: what argparse takes for a negative number rather than an option: every float Python parses
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class UsageError(Exception):
    """Bad input detected after argument parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2; a value that looks
    like a negative number (``-inf``, ``-1e300``, ``-.5``) is a value, never an option."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help_text(text: str) -> str:
    """A field docstring as a help line: RST literals plain, '%' escaped for argparse."""
    return text.replace("``", "").replace("%", "%%")


def _add_fields(group, cls, skip=()) -> None:
    """One flag per field of ``cls`` but those in ``skip`` (default None: unspecified means the
    class default); the help is the field's docstring, its choices and its default."""
    docs = field_docs(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()
        text = _help_text(docs.get(f.name, ""))
        if f.name == "tw":
            group.add_argument(_flag(f.name), dest=f.name, default=None, metavar="T1,T2,...",
                               help=f"{text} Comma-separated; --tw '' for none. Default: 0.4 and 0.6 of t_max.")
            continue
        if isinstance(default, bool):
            group.add_argument(_flag(f.name), dest=f.name, default=None,
                               action=argparse.BooleanOptionalAction, help=f"{text} Default: {default}.")
            continue
        choices = CHOICES.get(f.name)
        listed = f" Choices: {', '.join(choices)}." if choices else ""
        group.add_argument(_flag(f.name), dest=f.name, type=type(default), default=None,
                           choices=choices, metavar=None if choices else f.name.upper(),
                           help=f"{text}{listed} Default: {default}.")


def _settings(args, *classes) -> dict:
    """The fields of ``classes`` given on the command line."""
    return {f.name: getattr(args, f.name) for cls in classes for f in fields(cls)
            if getattr(args, f.name, None) is not None}


def _progress_default() -> bool:
    return sys.stderr.isatty()


def _check_output(path: str, suffixes=None) -> None:
    """Refuse, before any computation, an output that cannot become a regular file
    (:func:`dmft.core.outputs.check_output`, trying the folder for real)."""
    try:
        check_output(path, suffixes, probe=True)
    except OutputPathError as exc:
        raise UsageError(str(exc)) from None


def _report_run(result, path: str) -> None:
    e = result.energy[-1]
    print(f"{result.kind} {result.params.dynamics} alpha={result.params.alpha:g} "
          f"delta={result.params.delta:g}: status={result.status}, "
          f"energy(t={result.t[-1]:g})={e:.6g}, wall {result.meta.get('wall_time_s', float('nan')):.1f} s -> {path}")
    if result.status != "ok" and result.meta.get("message"):
        print(f"  {result.meta['message']}")


# --------------------------------------------------------------------------- commands
def _run_point(args, method_cls) -> int:
    """``solve`` and ``simulate``: validate, compute, write atomically, report."""
    params, method = check_settings(_settings(args, Params, method_cls), method_cls.kind)
    _check_output(args.output)
    est = resources.estimate(params, method)
    if not args.allow_large:
        resources.check(est)
    if est.seconds > resources.NOTICE_SECONDS:
        log.info("note: %s", resources.describe(est))
    if not params.tw:
        log.info("note: no waiting times (--tw ''): the file will have no C(t, tw), chi(t, tw), so 'dmft teff' "
                 "cannot use it (leave --tw out for %s)", _suggested_tw(params))
    result = run(params, method, progress=args.progress)
    save(result, args.output)
    _report_run(result, args.output)
    return 0


#: first horizon of ``dmft measure`` when --t-max is not given (time units)
MEASURE_FIRST_T = 20.0
#: settings ``dmft measure`` chooses itself (the repetitions)
MEASURE_CHOSEN = ("replicates", "n_samples")


def cmd_measure(args) -> int:
    """``measure``: choose the horizon and statistics, then report and write the final result."""
    method_cls = DMFTMethod if args.method == "dmft" else ParticleMethod
    other = ParticleMethod if method_cls is DMFTMethod else DMFTMethod
    given_other = [f.name for f in fields(other) if f.name not in _fields_of(method_cls)
                   and getattr(args, f.name, None) is not None]
    if given_other:
        raise UsageError(f"{_flag(given_other[0])} is a setting of the other method (--method "
                         f"{'simulation' if other is ParticleMethod else 'dmft'})")
    settings = _settings(args, Params, method_cls)
    settings.setdefault("t_max", MEASURE_FIRST_T)
    params, method = check_settings({k: v for k, v in settings.items() if k not in MEASURE_CHOSEN}, method_cls.kind)
    try:
        budget = parse_budget(args.budget)
        mset = MeasureSettings(quantity=args.quantity, rel_error=args.rel_error, budget=budget,
                               max_t=args.max_t if args.max_t is not None else 0.0,
                               n_tw=args.n_tw if args.n_tw is not None else 0,
                               min_repetitions=args.min_repetitions if args.min_repetitions is not None else 0)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    _check_output(args.output)
    est = resources.estimate(params.replace(replicas=2) if args.quantity == "distance" else params,
                             method.replace(**({"replicates": 1} if method_cls is DMFTMethod else {"n_samples": 1})))
    if not args.allow_large:
        resources.check(est)
    try:
        m = measure(params, args.quantity, method=method, settings=mset, log=log.info)
    except MeasureError as exc:
        raise UsageError(str(exc)) from None
    if m.result is not None:
        save(m.result, args.output)
    if args.json:
        print(json.dumps({**m.to_dict(), "file": args.output if m.result is not None else None}))
    else:
        print(m.describe())
        print(f"-> {args.output}" if m.result is not None else "nothing written (nothing computed)")
    return EXIT_NO_VALUE if args.strict and m.status != "ok" else 0


def _fields_of(cls) -> set:
    return {f.name for f in fields(cls)}


def cmd_solve(args) -> int:
    return _run_point(args, DMFTMethod)


def cmd_simulate(args) -> int:
    return _run_point(args, ParticleMethod)


def _load(path: str):
    if not os.path.exists(path):
        raise UsageError(f"file '{path}' does not exist")
    try:
        return load(path)
    except FileFormatError as exc:
        raise UsageError(str(exc)) from None


def cmd_info(args) -> int:
    r = _load(args.file)
    print(f"file: {args.file}")
    print(f"kind: {r.kind}    status: {r.status}")
    for key in ("package_version", "git_commit", "created_utc", "wall_time_s", "command_line", "message"):
        if key in r.meta:
            print(f"{key}: {r.meta[key]}")
    print("parameters:")
    for name, value in r.params.to_dict().items():
        print(f"  {name} = {value}")
    print(f"method ({r.method.describe()}):")
    for name, value in r.method.to_dict().items():
        print(f"  {name} = {value}")
    print(f"time grid: {len(r.t)} points, t = {r.t[0]:g} .. {r.t[-1]:g}")
    _info_measurement(r)
    print(f"final: energy = {r.energy[-1]:.6g}, frac_unsat = {r.frac_unsat[-1]:.6g}, nu = {r.nu[-1]:.6g}")
    if r.distance is not None:
        print(f"final replica distance = {r.distance[-1]:.6g}")
    bias = {name: r.extra[name + BIAS_SUFFIX][-1] for name in ("energy", "frac_unsat", "nu", "distance", "m",
                                                                "gen_error") if name + BIAS_SUFFIX in r.extra}
    if bias:
        print(f"finite-n_paths correction at the end (value at {r.method.n_paths} paths - extrapolated, "
              f"in errors of the extrapolation): "
              + ", ".join(f"{k} {v:+.3g} ({v / r.sem[k][-1]:+.1f})" if k in r.sem else f"{k} {v:+.3g}"
                          for k, v in bias.items()))
    elif r.kind == "dmft" and "paths_bias" in r.meta:
        print(f"finite-n_paths bias: {r.meta['paths_bias']}")
    if r.kind == "dmft" and r.meta.get("window_steps"):
        how = "automatic" if r.method.memory_window == -1 else "set"
        print(f"memory window: {r.meta['window_steps']} steps ({how}); its bias: {r.meta.get('window_bias', '')}")
    if len(r.tw):
        print(f"waiting times: {', '.join(f'{x:g}' for x in r.tw)}")
    return 0


def _info_measurement(r) -> None:
    """The record of ``dmft measure``: outcome, criteria and every try."""
    m = r.measurement
    if m is None:
        return
    value = m.get("value")
    text = "no value" if value is None else f"{value:.5g} +/- {m.get('error') or float('nan'):.2g}"
    print(f"measurement ({m.get('quantity')}): status = {m.get('status')}, value = {text}, "
          f"t_max = {m.get('t_max')}, {m.get('repetitions')} repetitions, {m.get('wall_s')} s")
    if m.get("status") != "ok":
        print(f"  reason: {m.get('reason')}")
    for name, criterion in (m.get("criteria") or {}).items():
        print(f"  criterion {name}: {criterion}")
    for i, t in enumerate(m.get("tries") or [], 1):
        tw = t.get("tw") or []
        tws = f"tw {tw[0]:g}..{tw[1]:g} ({tw[2]})" if len(tw) == 3 else "no tw"
        print(f"  try {i}: t_max = {t.get('t_max')}, {tws}, {t.get('repetitions')} repetitions "
              f"(+{t.get('added')}), {t.get('wall_s')} s: {t.get('seen')} -> {t.get('action')}")


def _window(text: str, flag: str):
    try:
        t0, t1 = (float(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"invalid value for {flag}: {text!r} (expected T0,T1)") from None
    if not t0 < t1:
        raise UsageError(f"invalid value for {flag}: {text!r} (needs T0 < T1)")
    return t0, t1


def _suggested_tw(params) -> str:
    """Two waiting times on the grid, at about 40% and 60% of the run, for hints."""
    return ",".join(f"{round(f * params.n_steps) * params.dt:.10g}" for f in (0.4, 0.6))


def _rerun_hint(r) -> str:
    """What to re-run so that a file without waiting times can give T_eff."""
    tw = _suggested_tw(r.params)
    command = str(r.meta.get("command_line", ""))
    if command.startswith(("dmft solve", "dmft simulate")):
        return f"re-run it with waiting times, e.g.: {command} --tw {tw}"
    return (f"re-run it with waiting times, e.g. 'dmft {'solve' if r.kind == 'dmft' else 'simulate'} ... "
            f"--tw {tw}' (Params(tw=({tw}))) with the same parameters")


def cmd_teff(args) -> int:
    r = _load(args.file)
    if len(r.tw) == 0:
        raise UsageError(f"'{args.file}' has no waiting times, so no C(t, tw) or chi(t, tw) to measure "
                         f"T_eff from; {_rerun_hint(r)}")
    if args.tw is not None and not math.isfinite(args.tw):
        raise UsageError(f"invalid value for --tw: {args.tw}")
    window = None if args.window is None else _window(args.window, "--window")
    try:
        est = fit_teff(r, tw=args.tw, warn=False)
        line = None if window is None else fit_fdt_line(r, tw=est.tw, window=window, warn=False)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    bias = _teff_paths_bias(r, args.tw)
    if args.json:
        out = {**est.to_dict(with_curve=args.curve), "file": args.file}
        if bias:
            out["paths_bias"] = {k: (v if math.isfinite(v) else None) for k, v in bias.items()}
        if line is not None:
            out["line_fit"] = {"window": list(line.window), "T": line.T_eff, "T_err": line.T_eff_err,
                               "warnings": list(line.warnings),
                               "note": "slope of a straight FDT line over the window: not T_eff"}
        print(json.dumps(out))
        return _teff_status(est, args.strict)
    print(f"{args.file} ({r.method.describe()})")
    print(est.describe())
    if any(math.isfinite(v) for v in bias.values()):
        print(f"finite-n_paths correction (value at {r.method.n_paths} paths - extrapolated): "
              + ", ".join(f"{k} {v:+.3g}" for k, v in bias.items() if math.isfinite(v)))
    if line is not None:
        print(f"window fit (not T_eff): slope of a straight FDT line over t in [{line.window[0]:g}, "
              f"{line.window[1]:g}] at tw = {line.tw:g}: T = {line.T_eff:.5g} +/- {line.T_eff_err:.2g}")
        for w in line.warnings:
            print(f"  window fit: {w}")
    if args.curve:
        c = est.curve
        print("lag s, x = C(tw,tw) - C(tw+s,tw), chi, T(s) = x/chi, local slope dx/dchi (+/- errors):")
        for i in np.unique(np.geomspace(1, len(c.lags), 30).astype(int) - 1):
            print(f"  {c.lags[i]:8.3g}  {c.x[i]:.5g} +/- {c.x_err[i]:.2g}  {c.chi[i]:.5g} +/- {c.chi_err[i]:.2g}  "
                  f"{c.ratio[i]:.5g} +/- {c.ratio_err[i]:.2g}  {c.slope[i]:.5g} +/- {c.slope_err[i]:.2g}")
    for w in est.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return _teff_status(est, args.strict)


def _teff_paths_bias(r, tw) -> dict:
    """The finite-n_paths corrections of T_static, T_short, T_slow of an extrapolated DMFT result
    (``DMFTMethod.companion``), else empty."""
    def numbers(res):
        est = fit_teff(res, tw=tw, warn=False)
        return {"T_static": est.T_static, "T_short": est.T_short, "T_slow": est.T_slow}

    return paths_corrections(r, numbers)


def _teff_status(est, strict: bool) -> int:
    """0, or with ``strict`` :data:`EXIT_NO_VALUE` when T_eff is not available."""
    return EXIT_NO_VALUE if strict and not math.isfinite(est.T_eff) else 0


def cmd_compare(args) -> int:
    _check_output(args.output, FIGURE_FORMATS)
    theory = _load(args.theory)
    sim = _load(args.simulation)
    try:
        differences = check_comparable(theory, sim, allow_different=args.allow_different)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for line in differences:
        log.warning("warning: theory and simulation differ in %s", line)
    path = compare_figure(theory, sim, args.output, allow_different=args.allow_different)
    print(f"figure written to {path}")
    return 0


def cmd_scan(args) -> int:
    try:
        config = load_config(args.config)
    except ScanConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.workers is not None and args.workers < 1:
        raise UsageError("invalid value for --workers: must be >= 1")
    if args.dask:
        try:
            import dask.distributed  # noqa: F401  (the optional extra)
        except ImportError:
            raise UsageError("--dask needs the optional extra: pip install 'sgd-dmft[dask]'") from None
    try:
        summary = run_scan(config, args.output, workers=args.workers, dask_address=args.dask,
                           progress=args.progress, force=args.force, allow_large=args.allow_large)
    except (ScanConfigError, ConnectionError, FolderBusy, ForeignFiles) as exc:
        raise UsageError(str(exc)) from None
    except RunAborted as exc:   # the scheduler lost, no worker left: a runtime failure
        print(f"dmft scan: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print("scan -> " + summary.describe())
    return 0 if summary.failed == 0 else 1


def cmd_phase_diagram(args) -> int:
    if not os.path.isdir(args.dir):
        raise UsageError(f"scan folder '{args.dir}' does not exist")
    _check_output(args.output, FIGURE_FORMATS)
    _check_output(table_path(args.output))
    try:
        fig_path, table_path_ = phase_diagram(args.dir, args.output, quantity=args.quantity,
                                              slices=parse_slices(args.slice))
    except (ManifestError, FileFormatError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(f"phase diagram written to {fig_path} (table: {table_path_})")
    return 0


def cmd_demo(args) -> int:
    if args.output == "" or (os.path.lexists(args.output) and not os.path.isdir(args.output)):
        raise UsageError(f"output '{args.output}' is not a folder")
    out = run_demo(args.output, progress=args.progress)
    print("\n".join(demo_report(out, args.output)))
    return 0


# --------------------------------------------------------------------------- parser
def _verbosity_flags(parser, suppress: bool) -> None:
    """-v/-q; on the subcommands with suppressed defaults, so ``dmft -q solve`` and
    ``dmft solve -q`` both work."""
    default = argparse.SUPPRESS if suppress else 0
    group = parser.add_argument_group("messages")
    group.add_argument("-v", "--verbose", dest="verbose", action="count", default=default,
                       help="more messages on stderr (-v: debug details). Default: progress and notes")
    group.add_argument("-q", "--quiet", dest="quiet", action="count", default=default,
                       help="only warnings and errors on stderr. Default: progress and notes too")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dmft", description="DMFT and particle simulations of SGD on the spherical perceptron. "
                     f"Conventions (model, dynamics, observables, files): {CONVENTIONS}.",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"sgd-dmft {package_version()}",
                        help="print the package version and exit")
    _verbosity_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND",
                                title="commands")

    def command(name, func, help, description=None):
        p = sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                           epilog=f"Conventions: {CONVENTIONS}.")
        _verbosity_flags(p, suppress=True)
        p.set_defaults(func=func)
        return p

    def with_progress(p):
        p.add_argument("--progress", dest="progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (--no-progress: none). Default: a bar when stderr is a "
                            "terminal, otherwise a status line at least every 10 s (see -q)")

    def with_allow_large(p):
        p.add_argument("--allow-large", action="store_true",
                       help="run even when the estimated memory exceeds the available memory or the "
                            "estimated time exceeds a week (dmft/core/resources.py). Default: refused")

    # the two computing commands: the physics flags and their own method's flags only
    for name, text, method, label, func in (
            ("solve", "solve the DMFT equations for one parameter point", DMFTMethod, "DMFT method", cmd_solve),
            ("simulate", "direct N-dimensional simulation, averaged over n_samples systems", ParticleMethod,
             "simulation method", cmd_simulate)):
        p = command(name, func, text)
        _add_fields(p.add_argument_group(f"physics parameters (dmft.Params, {CONVENTIONS} sections 1-2)"),
                    Params)
        _add_fields(p.add_argument_group(f"{label} (dmft.{method.__name__})"), method)
        p.add_argument("-o", "--output", required=True, metavar="FILE.h5",
                       help="output HDF5 file (layout: conventions section 5). Required")
        with_allow_large(p)
        with_progress(p)

    p = command("measure", cmd_measure, "measure T_eff or the replica distance to a requested precision",
                description="Measure T_eff (= T_static, with T_short and T_slow) or the long-time replica "
                "distance d_inf to a requested relative error: the command chooses the horizon (extending the "
                "run until the stationarity and plateau tests pass), the waiting times (fractions of the "
                "horizon) and the statistics (DMFT replicates or simulated systems), within a budget; it ends "
                "with status ok or a status naming why there is no number (not_reached, aging, frozen, "
                "diverged). --t-max is the first horizon (default 20). Writes the final result with the record "
                "of every try (dmft info shows it).")
    p.add_argument("quantity", choices=MEASURE_QUANTITIES, help="what to measure: teff (UNSAT stationary state) or "
                   f"distance (d_inf, two replicas; the SAT noise measure). Choices: {', '.join(MEASURE_QUANTITIES)}.")
    _add_fields(p.add_argument_group(f"physics parameters (dmft.Params, {CONVENTIONS} sections 1-2; --t-max is the "
                                     "first horizon, --tw fixes the waiting times)"), Params)
    p.add_argument("--method", default="dmft", choices=("dmft", "simulation"),
                   help="how to compute: the DMFT (replicates added) or direct simulations (systems added). "
                        "Choices: dmft, simulation. Default: dmft")
    g = p.add_argument_group("DMFT method (dmft.DMFTMethod; --method dmft)")
    _add_fields(g, DMFTMethod, skip=MEASURE_CHOSEN)
    g = p.add_argument_group("simulation method (dmft.ParticleMethod; --method simulation)")
    _add_fields(g, ParticleMethod, skip=MEASURE_CHOSEN)
    g = p.add_argument_group("measurement (dmft.app.measure.MeasureSettings)")
    g.add_argument("--rel-error", type=float, default=0.02, metavar="E",
                   help="target relative standard error of the value (in (0, 1)). Default: 0.02")
    g.add_argument("--budget", default="20m", metavar="DURATION",
                   help="wall time the measurement may spend: seconds, or 90s, 20m, 1.5h. Default: 20m")
    g.add_argument("--max-t", type=float, default=None, metavar="T",
                   help="longest horizon to try (time units). Default: no limit but the budget")
    g.add_argument("--n-tw", type=int, default=None, metavar="K",
                   help="number of waiting times, spread over [0.35, 0.55] t_max (>= 4). Default: 16 (DMFT), "
                        "4 (simulation)")
    g.add_argument("--min-repetitions", type=int, default=None, metavar="K",
                   help="fewest replicates (DMFT) or systems (simulation) behind a value that ends the "
                        "measurement ok (>= 2): an error bar from K of them is itself uncertain by about "
                        "1/sqrt(2 (K - 1)). Default: 8")
    p.add_argument("-o", "--output", required=True, metavar="FILE.h5",
                   help="output HDF5 file: the final result with the measurement record. Required")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: status, quantity, value, error, t_max, tries, criteria (and "
                        "for teff the keys of dmft teff --json). Default: text")
    p.add_argument("--strict", action="store_true",
                   help=f"exit with status {EXIT_NO_VALUE} when the status is not ok. Default: 0 whenever the "
                        "measurement ran")
    with_allow_large(p)

    p = command("teff", cmd_teff, "effective temperature of a file: T_eff, its companions and the FDT curve",
                description="The effective temperature T_eff = T_static, the FDT ratio "
                "(C(tw,tw) - C_plateau)/chi_plateau, with T_short (lag -> 0) and T_slow (slope of "
                "the slow branch), measured only where the run is stationary "
                f"(docs/effective-temperature.md, {CONVENTIONS}). The file needs two waiting times "
                "(solve/simulate give them by default). Exit status: 0 when the file was measured, "
                "whether or not T_eff is available (a missing T_eff is a result: the reason and the "
                f"remedy are printed); {EXIT_NO_VALUE} for a missing T_eff with --strict; 2 for a file that "
                "cannot be read or measured.")
    p.add_argument("file", metavar="FILE.h5", help="a result file written by solve or simulate (with --tw)")
    p.add_argument("--tw", type=float, default=None, metavar="TW",
                   help="waiting time, one of the file's (time units). Default: the latest one with 10 "
                        "later grid points; the one before it is used to test stationarity")
    p.add_argument("--window", default=None, metavar="T0,T1",
                   help="also fit a straight FDT line over t in [T0, T1] (absolute times; a window fit, "
                        "printed apart: not T_eff). Default: none")
    p.add_argument("--curve", action="store_true",
                   help="also print (or put in the JSON) the FDT curve against the lag. Default: off")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (T_eff, T_eff_err, tw, window, definition, stationary, "
                        "T_short, T_static, T_slow with errors, ...). Default: text")
    p.add_argument("--strict", action="store_true",
                   help=f"exit with status {EXIT_NO_VALUE} when T_eff is not available (not stationary, no "
                        "plateau; the reason is printed). Default: status 0, since a missing T_eff is a "
                        "result; 2 for a file that cannot be read or measured")

    p = command("compare", cmd_compare, "theory-vs-simulation figure")
    p.add_argument("theory", metavar="THEORY.h5", help="a DMFT result file (dmft solve)")
    p.add_argument("simulation", metavar="SIM.h5", help="a simulation result file of the same point (dmft simulate)")
    p.add_argument("-o", "--output", required=True, metavar="FIG.png",
                   help="output figure; the suffix picks the format (.png, .pdf, .svg). Required")
    p.add_argument("--allow-different", action="store_true",
                   help="draw even when the physics parameters of the two files differ (a warning heads "
                        "the figure). Default: refused")

    p = command("scan", cmd_scan, "resumable parameter scan from a TOML file")
    p.add_argument("config", metavar="CONFIG.toml", help=f"scan configuration ([base], [axes], mode; {CONVENTIONS} "
                   "section 6)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output folder, one file DIR/<hash>.h5 per point and DIR/scan.json. Required")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="local worker processes (>= 1). Default: the number of cores")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="send the points to a running Dask scheduler, e.g. tcp://host:8786 (needs the dask "
                        "extra; workers must share DIR). Default: local processes")
    p.add_argument("--force", action="store_true",
                   help="write into a folder whose scan.json describes another configuration (or is not a "
                        "manifest), replacing that scan.json; its result files stay. Default: refused")
    with_allow_large(p)
    with_progress(p)

    quantities = QUANTITIES
    p = command("phase-diagram", cmd_phase_diagram,
                "a quantity over the scanned axes: a map over two, a curve with error bars over one")
    p.add_argument("dir", metavar="DIR", help="a scan output folder (dmft scan -o DIR)")
    p.add_argument("-o", "--output", required=True, metavar="FIG.png",
                   help="output figure; a CSV table of the values is written beside it. Required")
    p.add_argument("--quantity", default="teff", choices=quantities,
                   help="what to map: T_eff (= T_static), the long-time replica distance d_inf, the final "
                        "energy, fraction of violated constraints, generalisation error or teacher overlap "
                        f"(the last two: teacher data). Choices: {', '.join(quantities)}. "
                        "Default: teff")
    p.add_argument("--slice", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a scanned axis at one of its values (repeatable); needed when the scan "
                        "varies more than two axes. Default: none")

    p = command("info", cmd_info, "parameters, provenance and status of a file")
    p.add_argument("file", metavar="FILE.h5", help="a result file")

    p = command("demo", cmd_demo, "the default job: SGD theory against simulation at the two canonical points")
    p.add_argument("-o", "--output", default="dmft-demo", metavar="DIR",
                   help="output folder. Default: ./dmft-demo")
    with_progress(p)
    return parser


def _setup_logging(args) -> logging.Handler:
    """The package's messages on stderr: notes and progress (default), fewer with -q, more with -v."""
    verbosity = getattr(args, "verbose", 0) - getattr(args, "quiet", 0)
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if level > logging.DEBUG else
                                           "%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("dmft")
    handler.previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if getattr(args, "progress", False) is None:
        args.progress = _progress_default()
    handler = _setup_logging(args)
    try:
        with cli_command("dmft " + shlex.join(argv)):
            return args.func(args)
    except (ParameterError, UsageError, OutputPathError, resources.ResourceError) as exc:
        print(f"dmft {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except WriteError as exc:  # disk full, file-size limit: nothing is left behind
        print(f"dmft {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # output piped into e.g. `head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # the environment failed (stdout on a full disk, a folder gone, ...)
        where = f" ('{exc.filename}')" if getattr(exc, "filename", None) else ""
        print(f"dmft {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_FAILURE
    except MemoryError:
        print(f"dmft {args.command}: error: out of memory{resources.memory_limit_note()}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        logger = logging.getLogger("dmft")
        logger.removeHandler(handler)
        logger.setLevel(handler.previous_level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
