"""The study ledger (dmft.app.ledger): records survive a round trip, NaN included; an equal record
is not rewritten; a file the ledger did not write is never replaced."""

import json
import math
import os

import pytest

from dmft.app.ledger import MARK, Ledger, LedgerError


def test_a_record_round_trips_with_nan_as_null(tmp_path):
    ledger = Ledger(str(tmp_path / "ledger"))
    assert ledger.read("abc") is None and ledger.keys() == []
    record = {"measured": {"values": {"d_inf": (1.5e-4, math.nan)}, "t_max": math.inf, "n": 3}, "source": "x"}
    assert ledger.write("abc", record)
    with open(ledger.path("abc")) as fh:
        raw = json.load(fh)           # plain JSON: no NaN or Infinity tokens
    assert raw[MARK] == 1 and raw["measured"]["values"]["d_inf"] == [1.5e-4, None]
    back = ledger.read("abc")
    assert back == {"measured": {"values": {"d_inf": [1.5e-4, None]}, "t_max": None, "n": 3}, "source": "x"}
    assert ledger.keys() == ["abc"]


def test_an_equal_record_is_not_rewritten_and_a_changed_one_is(tmp_path):
    ledger = Ledger(str(tmp_path))
    assert ledger.write("k", {"v": 1.0})
    os.utime(ledger.path("k"), ns=(1, 1))
    assert not ledger.write("k", {"v": 1.0})
    assert os.stat(ledger.path("k")).st_mtime_ns == 1
    assert ledger.write("k", {"v": 2.0}) and ledger.read("k") == {"v": 2.0}
    assert not [n for n in os.listdir(tmp_path) if n != "k.json"]     # no temporary file left


@pytest.mark.parametrize("text", ['{"v": 1}', "not json", "[1, 2]"])
def test_a_file_the_ledger_did_not_write_is_refused_and_left_alone(tmp_path, text):
    ledger = Ledger(str(tmp_path))
    path = tmp_path / "k.json"
    path.write_text(text)
    with pytest.raises(LedgerError, match="k.json"):
        ledger.read("k")
    with pytest.raises(LedgerError):
        ledger.write("k", {"v": 1.0})
    assert path.read_text() == text


@pytest.mark.parametrize("key", ["", "../k", ".hidden", "a/b"])
def test_a_key_that_is_not_a_file_name_is_refused(tmp_path, key):
    with pytest.raises(LedgerError):
        Ledger(str(tmp_path)).path(key)


def test_check_reads_every_record_and_names_a_foreign_one(tmp_path):
    ledger = Ledger(str(tmp_path))
    assert ledger.check() == 0              # no folder yet: an empty ledger
    ledger.write("a", {"v": 1.0})
    ledger.write("b", {"v": 2.0})
    assert ledger.check() == 2
    (tmp_path / "c.json").write_text('{"v": 3}')
    with pytest.raises(LedgerError, match="c.json"):
        ledger.check()


def test_a_study_with_a_foreign_ledger_file_stops_in_one_line_before_any_work(tmp_path, capsys):
    """Bad input to a study: one line, exit status 2, nothing computed or written, the foreign file
    left as it is."""
    from dmft.app.studies import noise_curves

    out = tmp_path / "study"
    (out / "ledger").mkdir(parents=True)
    foreign = out / "ledger" / "notes.json"
    foreign.write_text('{"mine": true}')
    with pytest.raises(SystemExit) as exc:
        noise_curves.main(["-o", str(out), "--quick", "--workers", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.json" in err and "not a ledger record" in err
    assert sorted(p.name for p in out.rglob("*")) == ["ledger", "notes.json"]
    assert foreign.read_text() == '{"mine": true}'
