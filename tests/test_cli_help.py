"""The command line explains itself: every flag has a help line with its meaning, default and
choices; the main help ends with worked examples and names the conventions page."""

import argparse
import importlib.metadata
import os
import re

import pytest

from dmft.app.cli import CONVENTIONS, build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action


def help_of(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_every_option_of_every_command_has_help_default_and_choices(capsys):
    parser, sub = subcommands()
    assert {c.dest for c in sub._choices_actions} == set(sub.choices)
    for choice in sub._choices_actions:
        assert choice.help and len(choice.help) > 10, choice.dest
    for name, p in [("dmft", parser)] + list(sub.choices.items()):
        text = "".join(help_of([] if name == "dmft" else [name], capsys).split())  # argparse rewraps
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            label = f"{name} {action.option_strings or action.dest}"
            assert action.help and action.help != argparse.SUPPRESS, label
            assert len(action.help.split()) >= 3, label
            if action.option_strings and not isinstance(action, argparse._VersionAction):
                assert "Default" in action.help or "Required" in action.help, label
            if action.choices:
                # the choices are listed in the help line itself, not only in the usage line
                listed = re.search(r"Choices: ([^.]*)\.", action.help)
                assert listed, label
                assert [c.strip() for c in listed.group(1).split(",")] == list(action.choices), label
            assert "".join(action.help.replace("%%", "%").split()) in text, label


@pytest.mark.parametrize("command, own, other", [
    ("solve", ["--n-paths", "--replicates", "--n-probes"], ["--n-samples", "--n ", "--field-eps"]),
    ("simulate", ["--n ", "--n-samples", "--field-eps"], ["--n-paths", "--replicates", "--n-probes"]),
])
def test_solve_and_simulate_offer_only_their_own_method_flags(capsys, command, own, other):
    text = help_of([command], capsys)
    for flag in own:
        assert flag in text
    for flag in other:
        assert flag not in text
    for word in ("--dynamics {gd,sgd,psgd,langevin,injected}", "Choices: gd, sgd, psgd, langevin, injected",
                 "Default: sgd", "Choices: bernoulli, gaussian, rademacher, gamma", "Choices: sum, mean", "Choices: sphere, ridge", "(in (0, 1])"):
        assert word in " ".join(text.split()), word


def test_main_help_ends_with_two_worked_examples_and_the_conventions(capsys):
    text = help_of([], capsys)
    tail = text[text.index("examples:"):]
    commands = [line.strip() for line in tail.splitlines() if line.strip().startswith("dmft ")]
    assert [c.split()[1] for c in commands] == ["solve", "teff", "simulate", "compare"]
    assert CONVENTIONS in tail and os.path.exists(os.path.join(ROOT, CONVENTIONS))
    # the examples are valid command lines of this parser
    parser = build_parser()
    solve = commands[0].split()[1:]
    args = parser.parse_args(solve)
    assert args.alpha == 4 and args.tw == "50,75" and args.output == "unsat.h5"
    assert CONVENTIONS in help_of(["solve"], capsys)


def test_readme_links_the_conventions_page():
    with open(os.path.join(ROOT, "README.md")) as fh:
        readme = fh.read()
    assert f"]({CONVENTIONS})" in readme
    assert "SPEC.md" not in readme


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["-V"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sgd-dmft {importlib.metadata.version('sgd-dmft')}"


SMALL = ["--t-max", "2", "--n-paths", "16", "--replicates", "2"]
#: the same without waiting times (by default tw is 0.4 and 0.6 of t_max)
NO_TW = [*SMALL, "--tw", ""]


def test_quiet_and_verbose(tmp_path, capsys):
    out = str(tmp_path / "x.h5")
    assert main(["solve", *NO_TW, "-o", out]) == 0
    err = capsys.readouterr().err
    assert "no waiting times (--tw '')" in err  # a note: what teff will need
    assert main(["solve", *SMALL, "-q", "-o", out]) == 0
    assert capsys.readouterr().err == ""
    assert main(["-q", "solve", *SMALL, "-o", out]) == 0
    assert capsys.readouterr().err == ""


def test_teff_without_waiting_times_says_what_to_rerun(tmp_path, capsys):
    out = str(tmp_path / "x.h5")
    assert main(["solve", *NO_TW, "-o", out]) == 0
    capsys.readouterr()
    assert main(["teff", out]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    # the recorded command with waiting times added
    assert f"re-run it with waiting times, e.g.: dmft solve {' '.join(SMALL)} --tw '' -o {out} --tw 0.8,1.2" in err


def test_teff_success_prints_no_error_line(capsys):
    path = os.path.join(ROOT, "data", "canonical", "unsat-sim.h5")
    assert main(["teff", path]) == 0
    out = capsys.readouterr()
    lines = (out.out + out.err).splitlines()
    assert not [line for line in lines if re.match(r"\s*errors?\s*:", line, re.I)]
    assert any(line.strip().startswith("error bars: jackknife") for line in lines)
