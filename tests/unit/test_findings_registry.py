"""The findings registry is documented and every code it holds is reachable by name."""
import pathlib

from wsdissect.findings import KINDS, Severity

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "expert.md"


def test_every_code_is_documented_with_its_severity():
    text = DOC.read_text()
    for k in KINDS.values():
        assert f"| `{k.code}` | {k.severity.label} |" in text, k.code


def test_codes_are_dotted_and_severities_valid():
    for code, k in KINDS.items():
        assert code == k.code and "." in code or code == "internal"
        assert isinstance(k.severity, Severity)
