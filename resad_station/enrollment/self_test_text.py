"""The enrollment self-test in words, for the CLI and the enroll wizard (one wording for both)."""

from __future__ import annotations

from typing import Any


def self_test_lines(self_test: dict[str, Any]) -> list[str]:
    """Lines: the summary, the method (and why, under auto), each warning prefixed "warning: "."""
    if not self_test:
        return []
    lines = [f"self-test: {self_test.get('summary', '')}"]
    methods = self_test.get("methods", {})
    method = self_test.get("method", "?")
    if self_test.get("chosen") and len(methods) > 1:
        caught = ", ".join(f"{m} {r['synthetic_fail_pct'] + r['synthetic_uncertain_pct']:.0f} %"
                           for m, r in methods.items())
        lines.append(f"method: {method} (auto: the best separation; synthetic defects caught: {caught})")
    else:
        lines.append(f"method: {method}")
    if self_test.get("align_chosen"):  # engine.align "auto": what the shots decided
        lines.append("alignment: part (auto: every shot shows one loose part, at different angles; shots and frames "
                     "are turned to one pose)" if self_test.get("align") == "part" else
                     "alignment: none (auto: the shots are not one loose part at different angles)")
    excess = self_test.get("search_excess")
    if excess is not None:  # engine.search "auto": what the shots decided
        lines.append(f"search: wide (auto: the shots' own patches lie {100 * excess:.0f} % farther from their nearest "
                     "neighbours under the guided search; they recur at other places, as on boards)"
                     if self_test.get("search") == "wide" else
                     f"search: guided (auto: the guided search leaves the shots' own patches {100 * excess:.0f} % "
                     "farther from their nearest neighbours than the wide one; their places match)")
    lines += [f"warning: {w}" for w in self_test.get("warnings", [])]
    return lines
