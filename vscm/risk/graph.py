"""Cycles in a small directed, weighted trade graph (pure functions, no state)."""

from __future__ import annotations

from collections.abc import Mapping


def cycles_through(
    weights: Mapping[tuple[str, str], int], first: str, second: str, max_length: int
) -> list[list[str]]:
    """Every simple cycle of at most ``max_length`` nodes that uses the edge ``first -> second``.

    Each cycle is the list of its nodes starting with ``first`` (the edge back to ``first`` from the
    last node is implied). A 2-cycle is ``[first, second]`` with edges both ways.
    """
    if (first, second) not in weights or first == second:
        return []
    out: dict[str, list[str]] = {}
    for (u, v) in weights:
        out.setdefault(u, []).append(v)
    for targets in out.values():
        targets.sort()
    found: list[list[str]] = []

    def walk(path: list[str]) -> None:
        node = path[-1]
        for nxt in out.get(node, []):
            if nxt == first:
                found.append(list(path))
            elif nxt not in path and len(path) < max_length:
                path.append(nxt)
                walk(path)
                path.pop()

    walk([first, second])
    return found


def canonical(cycle: list[str]) -> tuple[str, ...]:
    """The cycle rotated to start at its smallest node (direction kept): one name per cycle."""
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


def cycle_edges(cycle: list[str]) -> list[tuple[str, str]]:
    return [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
