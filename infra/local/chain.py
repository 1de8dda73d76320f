#!/usr/bin/env python3
"""The sample story (events/chain.json) through the Lambda functions: `cargo lambda invoke`
of each step's sample event, with the substitution of events/README.md, against a running
`cargo lambda watch`. tests/tests/samples.rs runs the same file through the handlers
in-process; keep the two substitutions alike.

  chain.py run --key KEY             every step in order, each answer checked (exit 1 on
                                     the first unexpected answer), the story printed
  chain.py invoke FN --key KEY       one sample (as the first step that invokes FN), ids
                                     from and into --state, the answer printed, not checked
  chain.py event FN --key KEY        the substituted event of FN on stdout

Options: --invoke-address/--invoke-port (where cargo lambda watch listens; default
cargo-lambda's own), --state FILE (variables kept between `invoke` calls), --cargo-lambda
PATH. Only the standard library.
"""
import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zoneinfo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVENTS = os.path.join(ROOT, "events")
CUTOFF = "cutoff-release"

# A date standing alone: not inside a longer run of letters or digits (a time may follow).
DATE = re.compile(r"(?<![0-9A-Za-z])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


def shift_dates(text, days):
    def move(m):
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return m[0]
        return (d + dt.timedelta(days=days)).isoformat()

    return DATE.sub(move, text)


def fill(say, body):
    """`{/pointer}` in a step's `say`: the answer's value there."""

    def value(m):
        v = pointer(body, m[1])
        if v is MISSING:
            return "?"
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    return re.sub(r"\{(/[^}]*)\}", value, say)


MISSING = object()


def pointer(doc, ptr):
    """RFC 6901, as serde_json's `Value::pointer`."""
    if ptr == "":
        return doc
    cur = doc
    for part in ptr.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


class Chain:
    def __init__(self, key, strict=True):
        self.strict = strict
        with open(os.path.join(EVENTS, "chain.json"), encoding="utf-8") as f:
            self.doc = json.load(f)
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        zone = zoneinfo.ZoneInfo(self.doc["timeZone"])
        today = self.now.astimezone(zone).date()
        self.shift = (today - dt.date.fromisoformat(self.doc["sampleToday"])).days
        self.key = key
        self.vars = {}

    def substitute(self, text, uses):
        text = shift_dates(text, self.shift)
        for sample, var in self.doc["ids"].items():
            var = uses.get(var, var)
            if var in self.vars:
                text = text.replace(sample, self.vars[var])
        text = text.replace("REPLACE_WITH_API_KEY", self.key)
        for var, value in self.vars.items():
            text = text.replace("${%s}" % var, value)
        return text

    def substitute_value(self, v, uses):
        return json.loads(self.substitute(json.dumps(v, ensure_ascii=False), uses))

    def event(self, step):
        uses = step.get("use", {})
        name = step.get("event", step["invoke"])
        with open(os.path.join(EVENTS, name + ".json"), encoding="utf-8") as f:
            event = json.loads(self.substitute(f.read(), uses))
        for header, value in step.get("headers", {}).items():
            value = self.substitute_value(value, uses)
            if "${" in json.dumps(value):
                if self.strict:
                    raise RuntimeError(f"{step['invoke']}: {header} names a variable no step set: {value}")
                continue  # `invoke` without that variable yet: the sample's own header stands
            event["headers"][header.lower()] = value
        if step["invoke"] == CUTOFF:
            # A night made due by a write is released at the earliest a minute after that
            # write (the release index's eligibility rule): the next scheduled run, a minute on.
            if self.strict:
                print("   (waiting a minute for the next scheduled cutoff run)", flush=True)
                time.sleep(61)
            # The scheduler's "now": the deployed function refuses a time ahead of its clock.
            self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            event["time"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return event

    def step_for(self, function):
        for step in self.doc["steps"]:
            if step["invoke"] == function:
                return step
        return {"invoke": function}

    def remember(self, step, body):
        for var, ptr in step.get("remember", {}).items():
            v = pointer(body, ptr)
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                self.vars[var] = str(v)


class Invoker:
    def __init__(self, args):
        exe = args.cargo_lambda or shutil.which("cargo-lambda")
        venv = os.path.join(ROOT, ".local", "lambda-venv", "bin", "cargo-lambda")
        if not exe and os.path.exists(venv):
            exe = venv
        if not exe:
            sys.exit("cargo-lambda not found: `infra/local/chain.sh install` puts it in .local/lambda-venv")
        self.cmd = [exe, "lambda", "invoke", "--output-format", "json"]
        if args.invoke_address:
            self.cmd += ["--invoke-address", args.invoke_address]
        if args.invoke_port:
            self.cmd += ["--invoke-port", str(args.invoke_port)]

    def __call__(self, function, event):
        """`(status, headers, body)` of one `cargo lambda invoke`."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(event, f, ensure_ascii=False)
        try:
            p = subprocess.run(
                self.cmd + [function, "--data-file", f.name],
                capture_output=True, text=True, timeout=600,
            )
        finally:
            os.unlink(f.name)
        if p.returncode != 0:
            raise RuntimeError(f"cargo lambda invoke {function} failed:\n{p.stderr.strip()}\n{p.stdout.strip()}")
        out = json.loads(p.stdout)
        if function == CUTOFF or "statusCode" not in out:
            # An event function's answer (the cutoff's report, a batch response).
            return 200, {}, out
        headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        raw = out.get("body") or ""
        body = json.loads(raw) if raw else None
        return out["statusCode"], headers, body


def run(args):
    chain = Chain(args.key)
    invoke = Invoker(args)
    started = time.monotonic()
    print(f"The sample chain at {chain.now.strftime('%Y-%m-%dT%H:%M:%SZ')} "
          f"(sample dates moved by {chain.shift} days), through cargo lambda")
    steps = chain.doc["steps"]
    for n, step in enumerate(steps, 1):
        uses = step.get("use", {})
        function = step["invoke"]
        status, headers, body = invoke(function, chain.event(step))
        what = f"step {n} ({function})"
        say = fill(chain.substitute(step.get("say", ""), uses), body)
        print(f"{n:>2}. {function} -> {status}  {say}", flush=True)
        problems = []
        if status != step.get("status", 200):
            problems.append(f"status {status}, expected {step.get('status', 200)}")
        for ptr, expected in step.get("expect", {}).items():
            expected = chain.substitute_value(expected, uses)
            actual = pointer(body, ptr)
            actual = None if actual is MISSING else actual
            if actual != expected:
                problems.append(f"{ptr} = {json.dumps(actual, ensure_ascii=False)}, "
                                f"expected {json.dumps(expected, ensure_ascii=False)}")
        for name, expected in step.get("expectHeaders", {}).items():
            expected = chain.substitute_value(expected, uses)
            if headers.get(name) != expected:
                problems.append(f"header {name} = {headers.get(name)!r}, expected {expected!r}")
        if problems:
            print(f"FAILED at {what}:", *problems, "answer: " + json.dumps(body, ensure_ascii=False),
                  sep="\n  ", file=sys.stderr)
            return 1
        chain.remember(step, body)
    print(f"{len(steps)} steps, every answer as expected, in {time.monotonic() - started:.1f} s")
    return 0


def load_state(path):
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


def single(args, do_invoke):
    chain = Chain(args.key, strict=False)
    chain.vars = load_state(args.state)
    # The step's own checks and remapped ids belong to the story; one sample alone uses
    # the ids last remembered (the allotment, pickup, group its earlier invokes created).
    step = {k: v for k, v in chain.step_for(args.function).items() if k != "use"}
    if not os.path.exists(os.path.join(EVENTS, step.get("event", args.function) + ".json")):
        sys.exit(f"no sample event events/{args.function}.json")
    event = chain.event(step)
    if not do_invoke:
        print(json.dumps(event, indent=2, ensure_ascii=False))
        return 0
    status, _, body = Invoker(args)(args.function, event)
    print(f"{args.function} -> {status}")
    print(json.dumps(body, indent=2, ensure_ascii=False))
    chain.remember(step, body)
    if args.state:
        with open(args.state, "w", encoding="utf-8") as f:
            json.dump(chain.vars, f, indent=2)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "invoke", "event"])
    p.add_argument("function", nargs="?")
    p.add_argument("--key", default="", help="the API key put in place of REPLACE_WITH_API_KEY")
    p.add_argument("--invoke-address")
    p.add_argument("--invoke-port", type=int)
    p.add_argument("--state", help="JSON file of the ids remembered between `invoke` calls")
    p.add_argument("--cargo-lambda", help="path of the cargo-lambda binary")
    args = p.parse_args()
    if args.mode == "run":
        return run(args)
    if not args.function:
        p.error(f"{args.mode} needs a function name")
    return single(args, args.mode == "invoke")


if __name__ == "__main__":
    sys.exit(main())
