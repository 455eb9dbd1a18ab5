"""Error codes are one enum, documented in the SDL: every code the code answers with is in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.errors import ERROR_CODE_DESCRIPTIONS, DomainError, ErrorCode
from schema.build import SDL_PATH
from schema.generator.errors import EngineCode, EngineError

ROOT = Path(__file__).resolve().parent.parent


def codes_in_source() -> dict[str, list[str]]:
    """Code literals as the code passes them: the first argument of DomainError(...) and
    EngineError(...), `_error(message, code)`, `refusal(path, status, code, message)` and
    {"code": "..."} (upper-case words) in a literal dict; where each is."""
    found: dict[str, list[str]] = {}
    for folder in ("api", "schema", "seeds", "admin_ui"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                literal = None
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    position = {"DomainError": 0, "EngineError": 0, "_error": 1, "refusal": 2}.get(name)
                    if position is not None and len(node.args) > position:
                        literal = node.args[position]
                elif isinstance(node, ast.Dict):
                    literal = next(
                        (v for k, v in zip(node.keys, node.values, strict=True)
                         if isinstance(k, ast.Constant) and k.value == "code"),
                        None,
                    )  # fmt: skip
                if isinstance(literal, ast.Constant) and re.fullmatch(r"[A-Z][A-Z_]+", str(literal.value)):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(literal.value, []).append(where)
    return found


def test_every_code_the_api_answers_with_is_in_the_enum():
    found = codes_in_source()
    assert len(found) >= 20, found  # the scan sees the code's refusals
    unknown = {code: where for code, where in found.items() if code not in ErrorCode.__members__}
    assert not unknown, f"codes missing from api.errors.ErrorCode: {unknown}"


def test_each_code_is_described_in_the_sdl():
    sdl = SDL_PATH.read_text(encoding="utf-8")
    assert "enum ErrorCode {" in sdl
    for code in ErrorCode:
        assert ERROR_CODE_DESCRIPTIONS[code] in sdl, code
        assert f"  {code.value}\n" in sdl, code


def test_an_undocumented_code_is_refused_where_it_is_raised():
    with pytest.raises(ValueError):
        DomainError("SOMETHING_NEW", "not documented")


def test_the_engines_codes_are_sanjis_and_the_engine_refuses_others():
    assert {code.value for code in EngineCode} <= {code.value for code in ErrorCode}
    assert EngineError("FORBIDDEN", "no").extensions() == {"code": "FORBIDDEN"}
    with pytest.raises(ValueError):
        EngineError("INVALID_TRANSITION", "a code of Sanji's domain, not the engine's")
    assert DomainError("INVALID_TRANSITION", "Sanji's own").code is ErrorCode.INVALID_TRANSITION
