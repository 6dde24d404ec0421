#!/usr/bin/env python3
"""Writes fuzz/corpus/pgoutput/ from the captured pgoutput fixtures.

Each seed is one transaction of a fixture (its Begin to its Commit) preceded by every Relation
and Type message seen before it, so the row messages find their relation; plus one seed holding
a whole fixture. Framing: Int16 big-endian length, then the message (fuzz/pgoutput_fuzzer.cpp).
Run it again after regenerating the fixtures (connectors/pgsource/test/fixtures/capture.sh).
"""
import pathlib
import struct

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root / "connectors/pgsource/test/fixtures"
out = root / "fuzz/corpus/pgoutput"
out.mkdir(parents=True, exist_ok=True)


def frame(messages):
    return b"".join(struct.pack(">H", len(m)) + m for m in messages)


for fixture in sorted(fixtures.glob("*.hex")):
    lines = [l.strip() for l in fixture.read_text().splitlines()]
    messages = [bytes.fromhex(l) for l in lines if l and not l.startswith("#")]
    (out / f"{fixture.stem}_all").write_bytes(frame(messages))
    schema, txn, n = [], [], 0
    for m in messages:
        if m[:1] in (b"R", b"Y"):
            schema.append(m)
        else:
            txn.append(m)
        # A Commit ends a transaction; a logical message outside one stands alone.
        if m[:1] == b"C" or (m[:1] == b"M" and not any(x[:1] == b"B" for x in txn)):
            (out / f"{fixture.stem}_{n:02d}").write_bytes(frame(schema + txn))
            txn, n = [], n + 1
    if txn:
        (out / f"{fixture.stem}_{n:02d}").write_bytes(frame(schema + txn))
