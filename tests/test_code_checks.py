"""Every code answer of the real bank runs and passes its hidden check, and the checks are
strong enough to reject deliberately broken snippets (tests/mutants/*.yaml)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from conftest import ROOT, TESTS
from deckbuilder.codecheck import CheckResult, run_check, run_checks, runnable_questions
from deckbuilder.model import Question
from deckbuilder.validate import load_valid_bank

BANK, _ = load_valid_bank(ROOT / "questions")
BY_ID = {q.id: q for q in BANK.questions}


@dataclass(frozen=True)
class Mutant:
    question_id: str
    name: str
    replacements: tuple[tuple[str, str], ...]
    file: Path

    def apply(self, source: str) -> str:
        for old, new in self.replacements:
            assert source.count(old) >= 1, f"{self.file.name}: {self.name!r}: {old!r} not in source"
            source = source.replace(old, new)
        return source


def load_mutants() -> list[Mutant]:
    mutants = []
    for path in sorted((TESTS / "mutants").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text("utf-8")):
            replacements = tuple((r["old"], r["new"]) for r in entry["replace"])
            assert all(old != new for old, new in replacements), f"{path.name}: {entry['name']}"
            mutants.append(Mutant(entry["id"], entry["name"], replacements, path))
    return mutants


MUTANTS = load_mutants()


def test_every_runnable_code_answer_passes_its_check() -> None:
    questions = runnable_questions(BANK.questions)
    assert questions, "the bank has no runnable code answers"
    results = run_checks(questions, jobs=2)
    failures = [f"{r.question_id}: {r.output[-2000:]}" for r in results if not r.passed]
    assert not failures, "\n\n".join(failures)


def test_code_answers_are_runnable_except_a_few_with_reasons() -> None:
    coded = [q for q in BANK.questions if q.code is not None and q.code.language == "python"]
    not_runnable = [q for q in coded if not q.code or not q.code.runnable]
    assert len(not_runnable) <= 0.05 * len(coded)
    assert all(q.code and q.code.reason for q in not_runnable)


def test_mutants_name_real_questions_and_cover_at_least_five_snippets() -> None:
    assert {m.question_id for m in MUTANTS} <= set(BY_ID)
    assert len({m.question_id for m in MUTANTS}) >= 5


def _run_mutant(mutant: Mutant) -> tuple[Mutant, CheckResult]:
    question: Question = BY_ID[mutant.question_id]
    assert question.code is not None
    return mutant, run_check(question, source=mutant.apply(question.code.source), timeout=120)


def test_every_mutant_is_rejected_by_its_check() -> None:
    """A check that passes a plausible bug proves nothing: each broken variant must fail."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(_run_mutant, MUTANTS))
    survivors = [
        f"{m.file.name}: {m.question_id}: {m.name}" for m, result in outcomes if result.passed
    ]
    assert not survivors, "checks accepted broken code:\n" + "\n".join(survivors)
