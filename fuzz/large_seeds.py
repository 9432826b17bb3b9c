#!/usr/bin/env python3
"""Writes the large input shapes of issue 10 (section 4) for one fuzz target into a directory.

Usage: fuzz/large_seeds.py <target> <out_dir>

Too big to keep in fuzz/corpus (megabytes) and too big to mutate usefully, so scripts/fuzz runs
each once through its target before the timed run: 40,000-segment dotted keys, 100,000 nested
arrays and objects, files and lines just over their limits, huge strings just under and over
them. The limits are those of docs/security.md ("Parsers: nesting and size limits").
"""
import pathlib
import sys

MiB = 1 << 20
KiB = 1 << 10
JSON_MAX_BYTES = 64 * MiB
TOML_MAX_BYTES = 4 * MiB
TOML_MAX_LINE = 64 * KiB

EVENT_HEAD = ('{"id": "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8", "event_type": "INSERT", "entity_type": "Order", '
              '"entity_id": "0b6e2f3c-8d4a-4f7e-b1a2-9c3d5e7f1a2b", "timestamp": "2026-11-29T11:59:58.000000Z", '
              '"data": ')
OBSERVER = ('[[observers]]\nentity = "Order"\nevent_type = "INSERT"\n\n[[observers.actions]]\ntype = "log"\n'
            'message_template = "order {{ data.id }}"\n\n')


def event_with_string(length):
    return EVENT_HEAD + '{"note": "' + 'x' * length + '"}}'


def fuzz_event():
    over = event_with_string(JSON_MAX_BYTES)
    return {
        "arrays-100000.json": "[" * 100_000 + "]" * 100_000,
        "objects-100000.json": '{"a":' * 100_000 + "1" + "}" * 100_000,
        "event-data-100000.json": EVENT_HEAD + '{"a":' * 100_000 + "1" + "}" * 100_001,
        "event-string-16MiB.json": event_with_string(16 * MiB),
        "event-string-over-64MiB.json": over,
    }


def fuzz_config():
    segments = "a" + ".a" * 39_999
    long_line_value = "x" * (TOML_MAX_LINE - len('b = ""'))
    filler_line = "# " + "-" * 1021 + "\n"
    filler = filler_line * ((TOML_MAX_BYTES - len(OBSERVER)) // len(filler_line) + 2)
    return {
        "dotted-key-40000.toml": OBSERVER + segments + " = true\n",
        "header-40000.toml": "[" + segments + "]\nx = 1\n",
        "array-header-40000.toml": "[[" + segments + "]]\nx = 1\n",
        "inline-arrays-100000.toml": OBSERVER + "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "inline-tables-100000.toml": "x = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n",
        "line-at-limit.toml": OBSERVER + 'b = "' + long_line_value + '"\n',
        "line-over-limit.toml": OBSERVER + 'b = "' + long_line_value + 'x"\n',
        "file-over-limit.toml": OBSERVER + filler,
        "template-3MiB.toml": OBSERVER.replace('message_template = "order {{ data.id }}"',
                                               'message_template = """\n' + ("{{ data.id }} " * 64 + "\n") * 3000
                                               + '"""'),
    }


def fuzz_condition():
    return {
        "parens-100000": "(" * 100_000 + "data.x" + ")" * 100_000,
        "not-100000": "NOT " * 100_000 + "data.paid",
        "string-1MiB": "data.status == '" + "x" * MiB + "'",
        "path-40000": "data" + ".a" * 40_000 + " == 1",
        "chain-20000": " OR ".join("data.x == %d" % i for i in range(20_000)),
    }


def fuzz_template():
    return {
        "braces-100000": "{" * 100_000,
        "placeholders-10000": "{{ data.text }}" * 10_000,
        "path-40000": "{{ data" + ".a" * 40_000 + " }}",
        "json-body-100000": "[" * 100_000 + '"{{ data.id }}"' + "]" * 100_000,
        "literal-1MiB": "x" * MiB + "{{ data.customer }}",
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    target, out_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    makers = {"fuzz_event": fuzz_event, "fuzz_config": fuzz_config, "fuzz_condition": fuzz_condition,
              "fuzz_template": fuzz_template}
    if target not in makers:
        sys.exit("unknown target " + target)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in makers[target]().items():
        (out_dir / name).write_text(text)


if __name__ == "__main__":
    main()
